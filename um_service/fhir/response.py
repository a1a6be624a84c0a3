"""Building the PAS ClaimResponse as a plain dict from a case's items (digest 4): review actions, notes, the
disposition, approved-with-changes addItems and contained documentation requests. The Bundles around it are in
fhir.bundles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .admission import stay_extensions
from .codes import (
    EXT_ADMINISTRATION_REFERENCE_NUMBER,
    EXT_CLAIM_RESPONSE_REVIEWER,
    EXT_CONTENT_MODIFIER,
    EXT_ITEM_PREAUTH_ISSUE_DATE,
    EXT_ITEM_PREAUTH_PERIOD,
    EXT_ITEM_TRACE_NUMBER,
    EXT_REVIEW_ACTION,
    EXT_REVIEW_ACTION_CODE,
    EXT_SERVICE_LINE_NUMBER,
    PROFILE_CLAIM_RESPONSE,
    PROFILE_COMMUNICATION_REQUEST,
    SYSTEM_ADJUDICATION,
    SYSTEM_X12_REPORT_TYPE,
    SYSTEM_X12_REVIEW_ACTION,
    SYSTEM_X12_REVIEW_DECISION_REASON,
    ReviewAction,
)
from .elements import as_list, extension
from .pas_request import PasRequest


@dataclass(frozen=True)
class ItemResult:
    """The current result of one requested item."""

    sequence: int
    action: ReviewAction
    element: dict[str, Any]
    authorized_period: tuple[str, str] | None = None
    decided_on: str | None = None
    note: str | None = None
    documents: tuple[dict[str, str], ...] = ()  # requested attachments: loinc, description, report_type
    authorized_quantity: float | None = None
    reason_code: str | None = None
    human: bool = False  # decided by a clinician rather than automation
    stay: bool = False  # an inpatient stay authorized from the admission day (its dates go in admissionDates)
    discharged: str | None = None


@dataclass(frozen=True)
class CaseView:
    """What a ClaimResponse is derived from: the latest request of a case and its items' results."""

    claim_response_id: str
    version: int
    preauth_ref: str
    created: datetime
    request: PasRequest
    items: Sequence[ItemResult]
    # When the decision on pended items is due (stated in their notes and the disposition).
    due: datetime | None = None
    # A booked peer-to-peer review in words: when, with whom, how to join (review.availability.booked_note).
    p2p_note: str | None = None


def outcome_of(items: Sequence[ItemResult]) -> str:
    """ClaimResponse.outcome: 'partial' while some items are adjudicated and others still pended, else 'complete'.

    PAS 2.2 dropped 'queued'; a wholly pended answer stays 'complete' with A4 on each item (IG pended example).
    Cancelled items are not adjudication and do not make an answer partial.
    """
    actions = {item.action for item in items}
    adjudicated = actions - {ReviewAction.PENDED, ReviewAction.CANCELLED}
    return "partial" if ReviewAction.PENDED in actions and adjudicated else "complete"


def claim_response(view: CaseView, *, payer_system: str) -> dict[str, Any]:
    """The current ClaimResponse of a case."""
    request = view.request
    claim = request.claim
    identifiers = [dict(i) for i in as_list(claim.get("identifier")) if isinstance(i, dict)]
    identifiers.append({"system": payer_system, "value": view.preauth_ref})
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": view.claim_response_id,
        "meta": {
            "versionId": str(view.version),
            "lastUpdated": instant(view.created),
            "profile": [PROFILE_CLAIM_RESPONSE],
        },
        "identifier": identifiers,
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": {"reference": request.index.full_url_of(request.parties.patient)},
        "created": instant(view.created),
        "insurer": {"reference": request.index.full_url_of(request.parties.insurer)},
        "requestor": {"reference": request.index.full_url_of(request.parties.provider)},
        "request": claim_reference(claim),
        "outcome": outcome_of(view.items),
        "disposition": disposition(view.items, preauth_ref=view.preauth_ref, due=view.due),
        "preAuthRef": view.preauth_ref,
        "item": [_item(result, view.preauth_ref) for result in sorted(view.items, key=lambda r: r.sequence)],
    }
    period = _pre_auth_period(view.items)
    if period is not None:
        resource["preAuthPeriod"] = period
    added = [_added_item(r, preauth_ref=view.preauth_ref) for r in view.items if r.action is ReviewAction.MODIFIED]
    if added:
        # Approved with changes (PAS 4): the requested item says A6, what was approved goes in addItem.
        resource["addItem"] = added
    if any(r.human for r in view.items):
        resource["extension"] = [
            {"url": EXT_CLAIM_RESPONSE_REVIEWER, "extension": [{"url": "wasHumanReviewedFlag", "valueBoolean": True}]}
        ]
    notes = [
        {"number": r.sequence, "type": "display", "text": text} for r in view.items if (text := _note(r, view.due))
    ]
    notes += _p2p_note(view)
    if notes:
        resource["processNote"] = notes
    tracking = {"system": payer_system, "value": view.preauth_ref}
    requests = [_documentation_request(r, resource["patient"], tracking) for r in view.items if r.documents]
    if requests:
        # Contained, so a read or $inquire of the ClaimResponse carries its documentation requests with it.
        resource["contained"] = requests
        resource["communicationRequest"] = [{"reference": f"#{r['id']}"} for r in requests]
    return resource


_PHRASES = {
    ReviewAction.CERTIFIED: "approved",
    ReviewAction.MODIFIED: "approved with changes",
    ReviewAction.PARTIAL: "partly approved",
    ReviewAction.NOT_CERTIFIED: "denied",
    ReviewAction.PENDED: "pended for review",
    ReviewAction.NO_ACTION_REQUIRED: "needs no authorization",
    ReviewAction.CANCELLED: "cancelled",
    ReviewAction.CONTACT_PAYER: "needs a call to the payer",
}


def _due(due: datetime) -> str:
    return due.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _p2p_note(view: CaseView) -> list[dict[str, Any]]:
    """The booked peer-to-peer review as a note on the whole answer (no item cites it by number)."""
    return [{"type": "display", "text": view.p2p_note}] if view.p2p_note else []


def _note(result: ItemResult, due: datetime | None) -> str | None:
    """An item's note; a pended item always says why it pends and when its decision is due."""
    if result.action is not ReviewAction.PENDED:
        return result.note
    why = result.note or "A clinician reviews this service."
    return f"{why} A decision is due by {_due(due)}." if due is not None else why


def disposition(items: Sequence[ItemResult], *, preauth_ref: str, due: datetime | None) -> str:
    """What the answer says, in a sentence a provider's staff can read out: each item's result, and for pended
    items when the decision is due and that the reference number is not an authorization."""
    groups: dict[str, list[int]] = {}
    for result in sorted(items, key=lambda r: r.sequence):
        groups.setdefault(_PHRASES.get(result.action, result.action.display.lower()), []).append(result.sequence)
    parts = [
        ("item " if len(sequences) == 1 else "items ") + ", ".join(map(str, sequences)) + f" {phrase}"
        for phrase, sequences in groups.items()
    ]
    joined = "; ".join(parts)
    text = joined[:1].upper() + joined[1:] + "."
    if any(r.action is ReviewAction.PENDED for r in items):
        if due is not None:
            text += f" A decision is due by {_due(due)}."
        text += f" {preauth_ref} is this request's reference number, not an authorization."
    return text


def _documentation_request(result: ItemResult, patient: dict[str, Any], tracking: dict[str, str]) -> dict[str, Any]:
    """A PAS CommunicationRequest asking for the attachments an item needs (digest 4: info requests); its identifier
    is the tracking id a CDex $submit-attachment echoes (the request's reference number)."""
    wanted = ", ".join(d["description"] for d in result.documents)
    return {
        "resourceType": "CommunicationRequest",
        "id": f"documents-item-{result.sequence}",
        "meta": {"profile": [PROFILE_COMMUNICATION_REQUEST]},
        "identifier": [tracking],
        "extension": [{"url": EXT_SERVICE_LINE_NUMBER, "valuePositiveInt": result.sequence}],
        "status": "active",
        "category": [
            {"coding": [{"system": SYSTEM_X12_REPORT_TYPE, "code": code}]}
            for code in sorted({d["report_type"] for d in result.documents})
        ],
        "subject": patient,
        "reasonCode": [{"text": f"To decide item {result.sequence}, please send: {wanted}."}],
        "payload": [
            {
                "contentString": d["loinc"],
                "extension": [
                    {
                        "url": EXT_CONTENT_MODIFIER,
                        "valueCodeableConcept": {
                            "coding": [{"system": "http://loinc.org", "code": d["loinc"]}],
                            "text": d["description"],
                        },
                    }
                ],
            }
            for d in result.documents
        ],
    }


def _item(result: ItemResult, preauth_ref: str) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = []
    trace = extension(result.element, EXT_ITEM_TRACE_NUMBER)
    if trace is not None:
        extensions.append(trace)
    if result.action is ReviewAction.PENDED:
        extensions.append({"url": EXT_ADMINISTRATION_REFERENCE_NUMBER, "valueString": preauth_ref})
    if result.decided_on and result.action in (
        ReviewAction.CERTIFIED,
        ReviewAction.PARTIAL,
        ReviewAction.MODIFIED,
    ):
        extensions.append({"url": EXT_ITEM_PREAUTH_ISSUE_DATE, "valueDate": result.decided_on})
    if result.authorized_period is not None:
        start, end = result.authorized_period
        extensions.append({"url": EXT_ITEM_PREAUTH_PERIOD, "valuePeriod": {"start": start, "end": end}})
    if result.stay:
        extensions += stay_extensions(result.authorized_period, result.discharged)
    review_action: list[dict[str, Any]] = [
        {
            "url": EXT_REVIEW_ACTION_CODE,
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": SYSTEM_X12_REVIEW_ACTION,
                        "code": result.action.value,
                        "display": result.action.display,
                    }
                ]
            },
        }
    ]
    if result.action in (ReviewAction.CERTIFIED, ReviewAction.PARTIAL, ReviewAction.MODIFIED):
        review_action.insert(0, {"url": "number", "valueString": preauth_ref})
    if result.reason_code:
        review_action.append(
            {
                "url": "reasonCode",
                "valueCodeableConcept": {
                    "coding": [{"system": SYSTEM_X12_REVIEW_DECISION_REASON, "code": result.reason_code}],
                    "text": result.note,
                },
            }
        )
    item: dict[str, Any] = {}
    if extensions:
        item["extension"] = extensions
    item["itemSequence"] = result.sequence
    if result.note:
        item["noteNumber"] = [result.sequence]
    item["adjudication"] = [
        {
            "extension": [{"url": EXT_REVIEW_ACTION, "extension": review_action}],
            "category": {"coding": [{"system": SYSTEM_ADJUDICATION, "code": "submitted"}]},
        }
    ]
    return item


def _added_item(result: ItemResult, *, preauth_ref: str) -> dict[str, Any]:
    added: dict[str, Any] = {
        "itemSequence": [result.sequence],
        "productOrService": result.element.get("productOrService"),
    }
    if result.authorized_quantity is not None:
        added["quantity"] = {"value": result.authorized_quantity}
    if result.authorized_period is not None:
        added["servicedPeriod"] = {"start": result.authorized_period[0], "end": result.authorized_period[1]}
    added["adjudication"] = [
        {
            "extension": [
                {
                    "url": EXT_REVIEW_ACTION,
                    "extension": [
                        {"url": "number", "valueString": preauth_ref},
                        {
                            "url": EXT_REVIEW_ACTION_CODE,
                            "valueCodeableConcept": {
                                "coding": [
                                    {
                                        "system": SYSTEM_X12_REVIEW_ACTION,
                                        "code": ReviewAction.CERTIFIED.value,
                                        "display": ReviewAction.CERTIFIED.display,
                                    }
                                ]
                            },
                        },
                    ],
                }
            ],
            "category": {"coding": [{"system": SYSTEM_ADJUDICATION, "code": "submitted"}]},
        }
    ]
    return added


def _pre_auth_period(items: Sequence[ItemResult]) -> dict[str, str] | None:
    periods = [item.authorized_period for item in items if item.authorized_period is not None]
    if not periods:
        return None
    return {"start": min(p[0] for p in periods), "end": max(p[1] for p in periods)}


def claim_reference(claim: dict[str, Any]) -> dict[str, Any]:
    """ClaimResponse.request: the Claim by its identifier (the Claim itself is not echoed back)."""
    reference: dict[str, Any] = {"type": "Claim"}
    first_identifier = next((i for i in as_list(claim.get("identifier")) if isinstance(i, dict)), None)
    if first_identifier is not None:
        reference["identifier"] = first_identifier
    return reference


def instant(moment: datetime) -> str:
    """A FHIR instant to the second."""
    return moment.isoformat(timespec="seconds")
