"""The PAS Bundles around a ClaimResponse (digest 4, 6): the Response Bundle, the Inquiry Response Bundle and the
$inquire Parameters, and the error Bundle of a business refusal.

References from the ClaimResponse use the fullUrl of the echoed entry, so they resolve inside the Bundle whatever
style (absolute URL, urn:uuid) the provider used; echoed resources keep the request's fullUrls and ids.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .codes import (
    EXT_ERROR_FOLLOWUP_ACTION,
    EXT_ERROR_PATH,
    EXT_SERVICE_LINE_NUMBER,
    PROFILE_CLAIM_INQUIRY_RESPONSE,
    PROFILE_CLAIM_RESPONSE,
    PROFILE_INQUIRY_RESPONSE_BUNDLE,
    PROFILE_RESPONSE_BUNDLE,
    PROFILE_TASK,
    SYSTEM_X12_FOLLOWUP_ACTION,
    SYSTEM_X12_REJECT_REASON,
    FollowupAction,
    RejectReason,
)
from .elements import as_list
from .pas_request import PasRequest
from .references import BundleIndex, Entry
from .response import claim_reference, instant


@dataclass(frozen=True)
class BusinessRefusal:
    """Why a readable request is refused (PAS: HTTP 200, outcome 'error'): the X12 reject reason, a plain-language
    message, the element at fault and the X12 follow-up action (correct and resubmit, unless said otherwise)."""

    reason: RejectReason
    message: str
    path: str
    followup: FollowupAction = FollowupAction.CORRECT_AND_RESUBMIT


def response_bundle(request: PasRequest, resource: dict[str, Any], *, base_url: str, now: datetime) -> dict[str, Any]:
    """The PAS Response Bundle: the ClaimResponse first, then every resource it references (transitively)."""
    parties = request.parties
    echoed = _closure(request.index, [parties.patient, parties.insurer, parties.provider])
    entries = [(f"{base_url}/ClaimResponse/{resource['id']}", resource), *echoed]
    task = attachment_task(request, resource, base_url=base_url)
    if task is not None:
        entries.append((f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, resource['id'] + '/task')}", task))
    return _bundle(PROFILE_RESPONSE_BUNDLE, request.bundle_identifier, now, entries)


def attachment_task(request: PasRequest, resource: dict[str, Any], *, base_url: str) -> dict[str, Any] | None:
    """The PAS Task carrying a pended answer's documentation requests to the provider's EHR (pas-additional-info
    digest 2): the attachments needed per line, where to send them ($submit-attachment) and the tracking id to echo.
    None when the answer asks for nothing."""
    wanted = [r for r in as_list(resource.get("contained")) if r.get("resourceType") == "CommunicationRequest"]
    if not wanted:
        return None
    parties = request.parties
    inputs: list[dict[str, Any]] = [{"type": _pas_code("payer-url"), "valueUrl": f"{base_url}/$submit-attachment"}]
    for asked in wanted:
        for payload in as_list(asked.get("payload")):
            inputs.append(
                {
                    "extension": [e for e in asked.get("extension", []) if e.get("url") == EXT_SERVICE_LINE_NUMBER],
                    "type": _pas_code("attachments-needed"),
                    "valueCodeableConcept": {
                        "coding": [{"system": "http://loinc.org", "code": payload["contentString"]}]
                    },
                }
            )
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": f"{resource['id']}-attachments",
        "meta": {"profile": [PROFILE_TASK]},
        "identifier": wanted[0]["identifier"],
        "status": "requested",
        "intent": "order",
        "code": _pas_code("attachment-request-code"),
        "for": resource["patient"],
        "reasonCode": _pas_code("priorAuthorization"),
        "reasonReference": resource["request"],
        "input": inputs,
    }
    insurer = next(iter(as_list(parties.insurer.resource.get("identifier"))), None)
    provider = next(iter(as_list(parties.provider.resource.get("identifier"))), None)
    if insurer:
        task["requester"] = {"identifier": insurer}
    if provider:
        task["owner"] = {"identifier": provider}
    return task


def _pas_code(code: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes", "code": code}]}


def inquiry_response_bundle(
    request: PasRequest,
    current: dict[str, Any],
    *,
    inquiry_identifier: dict[str, Any] | None,
    base_url: str,
    now: datetime,
) -> dict[str, Any]:
    """A PAS Inquiry Response Bundle: the current ClaimResponse as a ClaimInquiryResponse, the Claim it answers,
    and every resource they reference."""
    resource = copy.deepcopy(current)
    resource["meta"]["profile"] = [PROFILE_CLAIM_INQUIRY_RESPONSE]
    resource["request"] = {
        "reference": request.index.full_url_of(request.claim_entry),
        **claim_reference(request.claim),
    }
    parties = request.parties
    echoed = _closure(request.index, [request.claim_entry, parties.patient, parties.insurer, parties.provider])
    return _bundle(
        PROFILE_INQUIRY_RESPONSE_BUNDLE,
        inquiry_identifier,
        now,
        [(f"{base_url}/ClaimResponse/{resource['id']}", resource), *echoed],
    )


def error_response_bundle(
    request: PasRequest, *, refusal_id: str, refusal: BusinessRefusal, base_url: str, now: datetime
) -> dict[str, Any]:
    """The answer to a readable request we refuse: HTTP 200, outcome 'error', X12 AAA codes (digest 4)."""
    claim = request.claim
    parties = request.parties
    error: dict[str, Any] = {
        "extension": [
            {
                "url": EXT_ERROR_FOLLOWUP_ACTION,
                "valueCodeableConcept": {
                    "coding": [{"system": SYSTEM_X12_FOLLOWUP_ACTION, "code": refusal.followup.value}]
                },
            }
        ],
        "code": {
            "coding": [{"system": SYSTEM_X12_REJECT_REASON, "code": refusal.reason.value}],
            "text": refusal.message,
        },
    }
    if refusal.path:
        error["extension"].insert(0, {"url": EXT_ERROR_PATH, "valueString": refusal.path})
    resource = {
        "resourceType": "ClaimResponse",
        "id": refusal_id,
        "meta": {"profile": [PROFILE_CLAIM_RESPONSE]},
        "identifier": [dict(i) for i in as_list(claim.get("identifier")) if isinstance(i, dict)],
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": {"reference": request.index.full_url_of(parties.patient)},
        "created": instant(now),
        "insurer": {"reference": request.index.full_url_of(parties.insurer)},
        "requestor": {"reference": request.index.full_url_of(parties.provider)},
        "request": claim_reference(claim),
        "outcome": "error",
        "disposition": refusal.message,
        "error": [error],
    }
    return response_bundle(request, resource, base_url=base_url, now=now)


def _bundle(
    profile: str, identifier: dict[str, Any] | None, now: datetime, entries: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [profile]},
        "identifier": identifier or {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "collection",
        "timestamp": instant(now),
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }
    return bundle


def _closure(index: BundleIndex, roots: list[Entry]) -> list[tuple[str, dict[str, Any]]]:
    """`roots` and every resource they reference inside the Bundle, in Bundle order, each once."""
    seen: dict[int, Entry] = {}
    stack = list(roots)
    while stack:
        entry = stack.pop()
        if entry.index in seen:
            continue
        seen[entry.index] = entry
        for found in index.scan(entry).references:
            target = index.resolve(found.value, from_entry=entry)
            # Another Claim (a prior version) is not part of the answer; its presence would drag in its history.
            if target is not None and target.index not in seen and (target.resource_type != "Claim" or target in roots):
                stack.append(target)
    return [(index.full_url_of(e), e.resource) for _, e in sorted(seen.items())]


def inquiry_parameters(bundles: list[dict[str, Any]]) -> dict[str, Any]:
    """The $inquire answer: Parameters with one `return` PAS Inquiry Response Bundle per matching request."""
    parameters: dict[str, Any] = {"resourceType": "Parameters"}
    if bundles:
        parameters["parameter"] = [{"name": "return", "resource": bundle} for bundle in bundles]
    return parameters
