"""Notifications through a transactional outbox: written with the change they announce, delivered by a dispatcher.

Any worker may drain the outbox. A delivery claims its messages with row locks that skip locked rows and a lease
(`locked_until`), so two workers never send the same message; a failed send (down, slow, non-2xx) is retried with
exponential back-off and marked failed after a bounded number of attempts. A handshake that succeeds activates its
subscription; one that finally fails puts it in error.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..db.models import OutboxMessage, Subscription
from ..db.session import Database
from ..fhir.subscription import notification_bundle
from . import subscriptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard the dispatcher tries."""

    max_attempts: int = 8
    first_delay: float = 2.0
    max_delay: float = 300.0
    timeout: float = 10.0
    lease: float = 60.0
    batch: int = 20

    def delay(self, attempts: int) -> dt.timedelta:
        """Back-off before attempt `attempts + 1`."""
        return dt.timedelta(seconds=min(self.first_delay * 2 ** (attempts - 1), self.max_delay))


def announce(
    session: Session,
    *,
    case_id: str,
    organisation_ids: set[str],
    response_bundle: dict[str, Any],
    base_url: str,
    now: dt.datetime,
) -> int:
    """Queue an event notification of this ClaimResponse for every matching subscription; how many were queued."""
    queued = 0
    for row in subscriptions.matching(session, organisation_ids, now=now):
        row.events += 1
        row.updated_at = now
        body = notification_bundle(
            row.id, event_number=row.events, response_bundle=response_bundle, base_url=base_url, now=now
        )
        subscriptions.enqueue(
            session,
            OutboxMessage(
                subscription_id=row.id,
                kind="event-notification",
                case_id=case_id,
                body=orjson.dumps(body).decode(),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            ),
        )
        queued += 1
    return queued


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    subscription_id: str | None
    endpoint: str
    headers: dict[str, str]
    body: bytes
    lease: dt.datetime
    content_type: str = "application/fhir+json"


def deliver_due(database: Database, client: httpx.Client, *, now: dt.datetime, policy: DeliveryPolicy) -> int:
    """Send every message due now (one batch); returns how many were attempted."""
    claimed = _claim(database, now=now, policy=policy)
    for message in claimed:
        error = _send(client, message, policy)
        _record(database, message, error, now=now, policy=policy)
    return len(claimed)


def _claim(database: Database, *, now: dt.datetime, policy: DeliveryPolicy) -> list[_Claimed]:
    lease = now + dt.timedelta(seconds=policy.lease)
    with database.transaction() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(policy.batch)
            .with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for row in rows:
            if row.subscription_id is None and row.endpoint:
                # A message to a configured endpoint (a care-management referral), not to a subscriber.
                row.locked_until = lease
                headers = _headers(row.headers or [])
                claimed.append(
                    _Claimed(
                        row.id, row.kind, None, row.endpoint, headers, row.body.encode(), lease, "application/json"
                    )
                )
                continue
            subscription = session.get(Subscription, row.subscription_id) if row.subscription_id else None
            if subscription is None or subscription.status == "off":
                row.status = "failed"
                row.last_error = "subscription removed"
                continue
            row.locked_until = lease
            headers = _headers(subscription.headers)
            claimed.append(
                _Claimed(row.id, row.kind, subscription.id, subscription.endpoint, headers, row.body.encode(), lease)
            )
        return claimed


def _headers(lines: list[str]) -> dict[str, str]:
    headers = {}
    for header in lines:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    return headers


def _send(client: httpx.Client, message: _Claimed, policy: DeliveryPolicy) -> str | None:
    headers = {**message.headers, "Content-Type": message.content_type}
    try:
        response = client.post(message.endpoint, content=message.body, headers=headers, timeout=policy.timeout)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def _record(
    database: Database, message: _Claimed, error: str | None, *, now: dt.datetime, policy: DeliveryPolicy
) -> None:
    with database.transaction() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.id == message.id).with_for_update()).one()
        if row.locked_until != message.lease or row.status != "pending":
            return  # our lease ran out and another worker took the message over
        row.attempts += 1
        row.locked_until = None
        subscription = session.get(Subscription, message.subscription_id) if message.subscription_id else None
        if error is None:
            row.status = "sent"
            row.sent_at = now
            row.last_error = None
            if message.kind == "handshake" and subscription is not None and subscription.status == "requested":
                subscription.status = "active"
                subscription.updated_at = now
            return
        row.last_error = error
        log.warning(
            "notification delivery failed", extra={"outbox_id": row.id, "attempt": row.attempts, "error": error}
        )
        if row.attempts >= policy.max_attempts or (message.kind == "handshake" and row.attempts >= 3):
            row.status = "failed"
            if message.kind == "handshake" and subscription is not None:
                subscription.status = "error"
                subscription.error = f"handshake failed: {error}"
                subscription.updated_at = now
        else:
            row.next_attempt_at = now + policy.delay(row.attempts)


class Dispatcher:
    """A background thread that drains the outbox and runs periodic jobs; wake() makes it look at once."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], dt.datetime],
        policy: DeliveryPolicy,
        poll_seconds: float = 1.0,
        periodic: Callable[[dt.datetime], None] | None = None,
        periodic_seconds: float = 60.0,
    ):
        self._database = database
        self._clock = clock
        self._policy = policy
        self._poll = poll_seconds
        self._periodic = periodic
        self._periodic_seconds = periodic_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="um-dispatcher", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (after a commit that queued messages)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        last_periodic = 0.0
        with httpx.Client() as client:
            while not self._stop.is_set():
                try:
                    while (
                        deliver_due(self._database, client, now=self._clock(), policy=self._policy)
                        and not self._stop.is_set()
                    ):
                        pass
                    if (
                        self._periodic is not None
                        and self._clock().timestamp() - last_periodic >= self._periodic_seconds
                    ):
                        last_periodic = self._clock().timestamp()
                        self._periodic(self._clock())
                except Exception:  # the dispatcher must outlive a database blip or a bad row
                    log.exception("dispatcher cycle failed")
                self._wake.wait(self._poll)
                self._wake.clear()
