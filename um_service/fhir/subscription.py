"""PAS subscriptions as FHIR (R4 Subscriptions Backport, digest 5): reading a Subscription a provider sends, the
Subscription we answer with, and the notification Bundles (handshake and event) led by a SubscriptionStatus.

One subscription per sending system: topic = the PAS topic, filter `org-identifier=<sender id>` (also the topic's
`orgIdentifier=` spelling; a comma-separated list allowed), rest-hook channel, full-resource payload.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ..errors import InvalidRequest, Problem
from . import schema
from .elements import as_dict, as_list
from .outcome import dedupe
from .parsing import parse_json

TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER = BACKPORT + "backport-filter-criteria"
PAYLOAD_CONTENT = BACKPORT + "backport-payload-content"
STATUS_PROFILE = BACKPORT + "backport-subscription-status-r4"
_FILTER_NAMES = ("org-identifier", "orgIdentifier")


def read_subscription(raw: bytes, *, max_depth: int) -> tuple[dict[str, Any], list[str], list[str]]:
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


def subscription_resource(
    stored: dict[str, Any], *, subscription_id: str, status: str, error: str | None
) -> dict[str, Any]:
    """The Subscription as we hold it: the one sent, with our id and its current status."""
    resource = dict(stored)
    resource["id"] = subscription_id
    resource["status"] = status
    if error:
        resource["error"] = error
    return resource


def status_parameters(
    subscription_id: str,
    status: str,
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
        {"name": "subscription", "valueReference": {"reference": f"{base_url}/Subscription/{subscription_id}"}},
        {"name": "topic", "valueCanonical": TOPIC},
        {"name": "status", "valueCode": "active" if kind != "handshake" else status},
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


def handshake_bundle(subscription_id: str, status: str, *, base_url: str, now: dt.datetime) -> dict[str, Any]:
    """The handshake a new subscription's endpoint receives."""
    parameters = status_parameters(
        subscription_id, status, kind="handshake", base_url=base_url, events=0, focus=None, now=now
    )
    return _history(base_url, subscription_id, parameters, [], now)


def notification_bundle(
    subscription_id: str, *, event_number: int, response_bundle: dict[str, Any], base_url: str, now: dt.datetime
) -> dict[str, Any]:
    """An event-notification: SubscriptionStatus first, then the full PAS Response Bundle as the focus."""
    focus_url = f"urn:uuid:{response_bundle['id']}"
    status = status_parameters(
        subscription_id,
        "active",
        kind="event-notification",
        base_url=base_url,
        events=event_number,
        focus=focus_url,
        now=now,
        event_number=event_number,
    )
    return _history(base_url, subscription_id, status, [(focus_url, response_bundle)], now)


def _history(
    base_url: str,
    subscription_id: str,
    status: dict[str, Any],
    focus: list[tuple[str, dict[str, Any]]],
    now: dt.datetime,
) -> dict[str, Any]:
    entries = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"{base_url}/Subscription/{subscription_id}/$status"},
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
