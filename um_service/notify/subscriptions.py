"""PAS subscriptions (R4 Subscriptions Backport, digest 5): create, read, delete, and the notification Bundles.

One subscription per sending system: topic = the PAS topic, filter `org-identifier=<sender id>` (also the topic's
`orgIdentifier=` spelling; a comma-separated list allowed), rest-hook channel, full-resource payload.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import OutboxMessage, Subscription
from ..errors import Forbidden, InvalidRequest, NotFound, Problem
from ..fhir import schema
from ..fhir.elements import as_dict, as_list
from ..fhir.outcome import dedupe
from ..fhir.parsing import parse_json

TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER = BACKPORT + "backport-filter-criteria"
PAYLOAD_CONTENT = BACKPORT + "backport-payload-content"
STATUS_PROFILE = BACKPORT + "backport-subscription-status-r4"
_FILTER_NAMES = ("org-identifier", "orgIdentifier")


def read(raw: bytes, *, max_depth: int) -> tuple[dict[str, Any], list[str], list[str]]:
    """A PAS Subscription, its org-identifier filter values and its channel headers; InvalidRequest otherwise."""
    resource = parse_json(raw, max_depth=max_depth)
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise InvalidRequest(400, [Problem("structure", "The body must be a FHIR Subscription.")])
    structural = schema.check_resource(resource, "Subscription")
    problems: list[Problem] = []
    if resource.get("criteria") != TOPIC:
        problems.append(
            Problem("value", f"Subscription.criteria must be the PAS topic {TOPIC}.", "Subscription.criteria")
        )
    organisations: list[str] = []
    for extension in as_list(as_dict(resource.get("_criteria")).get("extension")):
        extension = as_dict(extension)
        if extension.get("url") == FILTER and isinstance(extension.get("valueString"), str):
            name, _, values = extension["valueString"].partition("=")
            if name.strip() in _FILTER_NAMES:
                organisations += [v.strip() for v in values.split(",") if v.strip()]
    if not organisations:
        problems.append(
            Problem(
                "required",
                "A PAS subscription names the sender it is for: a backport-filter-criteria "
                "extension on _criteria with 'org-identifier=<id>'.",
                "Subscription._criteria",
            )
        )
    channel = as_dict(resource.get("channel"))
    if channel.get("type") != "rest-hook":
        problems.append(Problem("value", "PAS supports only the rest-hook channel.", "Subscription.channel.type"))
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        problems.append(
            Problem("required", "A rest-hook channel needs an http(s) endpoint.", "Subscription.channel.endpoint")
        )
    payload = channel.get("payload")
    if payload is not None and payload not in ("application/fhir+json", "application/json"):
        problems.append(
            Problem("value", "Notifications are sent as application/fhir+json.", "Subscription.channel.payload")
        )
    for extension in as_list(as_dict(channel.get("_payload")).get("extension")):
        extension = as_dict(extension)
        if extension.get("url") == PAYLOAD_CONTENT and extension.get("valueCode") != "full-resource":
            problems.append(
                Problem(
                    "value",
                    "PAS 2.2 notifications carry the full resource (payload content 'full-resource').",
                    "Subscription.channel._payload",
                )
            )
    headers = [h for h in as_list(channel.get("header")) if isinstance(h, str)]
    for position, header in enumerate(headers):
        name, colon, _ = header.partition(":")
        if not colon or not name.strip() or any(c in name for c in " \t\r\n"):
            problems.append(
                Problem("value", "A channel header is 'Name: value'.", f"Subscription.channel.header[{position}]")
            )
    if structural or problems:
        raise InvalidRequest(400 if structural else 422, dedupe(structural + problems))
    return resource, organisations, headers


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
    resource, organisations, headers = read(raw, max_depth=max_depth)
    if organization is not None and set(organisations) != {organization}:
        raise Forbidden(f"This client may subscribe only for org-identifier={organization}.", "Subscription._criteria")
    subscription_id = str(uuid.uuid4())
    end = resource.get("end")
    row = Subscription(
        id=subscription_id,
        status="requested",
        owner=owner,
        endpoint=resource["channel"]["endpoint"],
        headers=orjson.dumps(headers).decode(),
        org_identifiers=orjson.dumps(organisations).decode(),
        end_at=dt.datetime.fromisoformat(end.replace("Z", "+00:00")) if isinstance(end, str) and "T" in end else None,
        resource=orjson.dumps(resource).decode(),
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
            body=orjson.dumps(handshake_bundle(row, base_url=base_url, now=now)).decode(),
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
    resource: dict[str, Any] = orjson.loads(row.resource)
    resource["id"] = row.id
    resource["status"] = row.status
    if row.error:
        resource["error"] = row.error
    return resource


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
        row
        for row in rows
        if set(orjson.loads(row.org_identifiers)) & organisation_ids and (row.end_at is None or row.end_at > now)
    ]


def status_parameters(
    row: Subscription,
    *,
    kind: str,
    base_url: str,
    events: int,
    focus: str | None,
    now: dt.datetime,
    event_number: int | None = None,
) -> dict[str, Any]:
    """The backport SubscriptionStatus (an R4 Parameters) that leads every notification Bundle."""
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"{base_url}/Subscription/{row.id}"}},
        {"name": "topic", "valueCanonical": TOPIC},
        {"name": "status", "valueCode": "active" if kind != "handshake" else row.status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(events)},
    ]
    if focus is not None and event_number is not None:
        parameters.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(event_number)},
                    {"name": "timestamp", "valueInstant": now.isoformat(timespec="seconds")},
                    {"name": "focus", "valueReference": {"reference": focus}},
                ],
            }
        )
    return {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": parameters,
    }


def handshake_bundle(row: Subscription, *, base_url: str, now: dt.datetime) -> dict[str, Any]:
    """The handshake a new subscription's endpoint receives."""
    status = status_parameters(row, kind="handshake", base_url=base_url, events=0, focus=None, now=now)
    return _history(base_url, row, status, [], now)


def notification_bundle(
    row: Subscription, *, event_number: int, response_bundle: dict[str, Any], base_url: str, now: dt.datetime
) -> dict[str, Any]:
    """An event-notification: SubscriptionStatus first, then the full PAS Response Bundle as the focus."""
    focus_url = f"urn:uuid:{response_bundle['id']}"
    status = status_parameters(
        row,
        kind="event-notification",
        base_url=base_url,
        events=event_number,
        focus=focus_url,
        now=now,
        event_number=event_number,
    )
    return _history(base_url, row, status, [(focus_url, response_bundle)], now)


def _history(
    base_url: str, row: Subscription, status: dict[str, Any], focus: list[tuple[str, dict[str, Any]]], now: dt.datetime
) -> dict[str, Any]:
    entries = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"{base_url}/Subscription/{row.id}/$status"},
            "response": {"status": "200"},
        }
    ]
    for url, resource in focus:
        entries.append(
            {
                "fullUrl": url,
                "resource": resource,
                "request": {"method": "GET", "url": f"Bundle/{resource['id']}"},
                "response": {"status": "200"},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": entries,
    }
