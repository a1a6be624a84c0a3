"""PAS subscriptions kept by the payer: create (queuing the handshake), read, find the ones an event matches, and
the outbox they are notified through. Their FHIR shapes are built in fhir.subscription."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import OutboxMessage, Subscription
from ..errors import Forbidden, NotFound
from ..fhir.subscription import handshake_bundle, read_subscription, subscription_resource


def create(
    session: Session,
    *,
    raw: bytes,
    owner: str,
    organization: str | None,
    now: dt.datetime,
    base_url: str,
    max_depth: int,
) -> dict[str, Any]:
    """Store a new subscription as 'requested' and queue its handshake; returns the Subscription as stored.

    A provider client subscribes only for its own organisation (PAS: only the sending system may manage it).
    """
    resource, organisations, headers = read_subscription(raw, max_depth=max_depth)
    if organization is not None and set(organisations) != {organization}:
        raise Forbidden(f"This client may subscribe only for org-identifier={organization}.", "Subscription._criteria")
    subscription_id = str(uuid.uuid4())
    end = resource.get("end")
    row = Subscription(
        id=subscription_id,
        status="requested",
        owner=owner,
        endpoint=resource["channel"]["endpoint"],
        headers=headers,
        org_identifiers=organisations,
        end_at=dt.datetime.fromisoformat(end.replace("Z", "+00:00")) if isinstance(end, str) and "T" in end else None,
        resource=resource,
        events=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    enqueue(
        session,
        OutboxMessage(
            subscription_id=subscription_id,
            kind="handshake",
            body=orjson.dumps(handshake_bundle(row.id, row.status, base_url=base_url, now=now)).decode(),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        ),
    )
    return as_resource(row)


OUTBOX_QUEUED = "outbox_queued"


def enqueue(session: Session, message: OutboxMessage) -> None:
    """Put a message in the outbox and mark the unit of work, so its commit wakes this worker's dispatcher."""
    session.add(message)
    session.info[OUTBOX_QUEUED] = True


def as_resource(row: Subscription) -> dict[str, Any]:
    """The Subscription resource with our id and its current status."""
    return subscription_resource(row.resource, subscription_id=row.id, status=row.status, error=row.error)


def turn_off(row: Subscription, *, now: dt.datetime) -> None:
    """End a subscription: nothing more is sent to it."""
    row.status = "off"
    row.updated_at = now


def get(session: Session, subscription_id: str, *, owner: str | None = None) -> Subscription:
    """A subscription by id (only the owner's, when one is given), or a 404 that tells nothing more."""
    row = session.get(Subscription, subscription_id)
    if row is None or (owner is not None and row.owner != owner):
        raise NotFound(f"Subscription/{subscription_id} is not known.")
    return row


def matching(session: Session, organisation_ids: set[str], *, now: dt.datetime) -> list[Subscription]:
    """Active subscriptions whose org-identifier filter names one of these identifiers, locked for the event count."""
    rows = session.scalars(
        select(Subscription).where(Subscription.status == "active").order_by(Subscription.id).with_for_update()
    )
    return [
        row for row in rows if set(row.org_identifiers) & organisation_ids and (row.end_at is None or row.end_at > now)
    ]
