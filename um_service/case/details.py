"""What staff see of a case: its request keys, each item's outcome with the rule, rule-set version and trace, the
criteria checklist read from that trace, and codes with their descriptions (terminology)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from .. import terminology
from ..db import repository
from ..db.models import Case, CaseItem
from ..decision import RuleSet
from ..decision.criteria import checklist
from ..fhir.care_team import item_practitioners
from ..fhir.elements import as_dict, as_list, codings, person_name
from ..fhir.pas_request import PasRequest
from ..fhir.questionnaire import questionnaire_responses


def details(session: Session, case_id: str, *, rule_set: RuleSet | None = None) -> dict[str, Any] | None:
    """A case as plain data, or None when there is no such case. `rule_set` (the one in force) gives the pack's
    words for codes and criteria; without it only the shipped code tables and the trace speak."""
    from . import response_versions

    case = repository.get_case(session, case_id)
    if case is None:
        return None
    request = response_versions.latest_request(session, case) if case.latest_submission_id is not None else None
    items = [_item(item, request, rule_set) for item in repository.items_of(session, case_id)]
    return {
        "id": case.id,
        "preauth_ref": case.preauth_ref,
        "status": case.status,
        "priority": case.priority,
        "received_at": case.received_at,
        "due_at": case.due_at,
        "updated_at": case.updated_at,
        "claim_response_version": case.response_version,
        "queue": case.queue,
        "required_skills": case.required_skills,
        "review_priority": case.review_priority,
        "assignee": case.assignee,
        "near_breach": case.near_breach,
        "line_of_business": case.line_of_business,
        "review_type": case.review_type,
        "member_state": case.member_state,
        "escalation_note": case.escalation_note,
        "extension_reason": case.extension_reason,
        "p2p_at": case.p2p_at,
        "p2p_contact": case.p2p_contact,
        "decided_at": case.decided_at,
        "stay": _stay(case) if case.admitted_on is not None else None,
        "identifiers": [{"system": s, "value": v} for s, v in sorted(repository.identifiers_of(session, case_id))],
        "items": items,
    }


def _item(item: CaseItem, request: PasRequest | None, rule_set: RuleSet | None) -> dict[str, Any]:
    """One item: what was asked (service, quantity, dates, practitioners), its result and the criteria behind it."""
    element = item.element or {}
    period = as_dict(element.get("servicedPeriod"))
    asked = next((i for i in request.items if i.sequence == item.sequence), None) if request is not None else None
    return {
        "sequence": item.sequence,
        "service": terminology.coded(item.product_system, item.product_code, rule_set=rule_set),
        "quantity": as_dict(element.get("quantity")).get("value"),
        "serviced_date": element.get("servicedDate"),
        "serviced_period": {"start": period.get("start"), "end": period.get("end")} if period else None,
        "practitioners": item_practitioners(request, asked) if request is not None and asked is not None else [],
        "review_action": item.review_action,
        "queue": item.queue,
        "skills": item.skills,
        "review_priority": item.review_priority,
        "reason": item.reason,
        "reason_code": item.reason_code,
        "decision_kind": item.decision_kind,
        "authorized_quantity": item.authorized_quantity,
        "decided_by": item.decided_by,
        "rule_id": item.rule_id,
        "ruleset_version": item.ruleset_version,
        "documents_requested": [
            {**d, "display": terminology.describe(terminology.LOINC, d["loinc"], rule_set=rule_set)}
            for d in item.documents
        ],
        "authorized_period": (
            {"start": item.authorized_start, "end": item.authorized_end} if item.authorized_start else None
        ),
        "criteria": [asdict(c) for c in checklist(item.trace, rule_set)],
        "trace": item.trace,
        "updated_at": item.updated_at,
    }


def _stay(case: Case) -> dict[str, Any]:
    """An inpatient stay's dates and days (case/stays.py)."""
    return {
        "admitted_on": case.admitted_on,
        "discharged_on": case.discharged_on,
        "days_requested": case.days_requested,
        "days_authorized": case.days_authorized,
        "days_used": case.days_used,
        "next_review_on": case.next_review_on,
    }


def request_summary(session: Session, case_id: str, *, rule_set: RuleSet | None = None) -> dict[str, Any] | None:
    """What was asked, for a reviewer's screen: patient, coverage, items, diagnoses and attachments, codes with their
    descriptions (`rule_set`, the one in force, gives the pack's words for codes)."""
    from . import response_versions

    case = repository.get_case(session, case_id)
    if case is None or case.latest_submission_id is None:
        return None
    request = response_versions.latest_request(session, case)
    patient = request.parties.patient.resource
    name = person_name(patient)
    coverage = request.parties.coverage.resource if request.parties.coverage else {}
    diagnoses = [
        (s, c)
        for d in as_list(request.claim.get("diagnosis"))
        for s, c in codings(as_dict(d).get("diagnosisCodeableConcept"))
    ]
    return {
        "patient": {
            "name": name,
            "birth_date": patient.get("birthDate"),
            "gender": patient.get("gender"),
            "member_ids": sorted(request.parties.member_ids),
        },
        "coverage": {
            "status": coverage.get("status"),
            "line_of_business": request.parties.line_of_business,
            "payer": request.parties.insurer.resource.get("name"),
        },
        "provider": request.parties.provider.resource.get("name"),
        "items": [
            {
                "sequence": i.sequence,
                "service": [f"{s}|{c}" for s, c in i.product_codes],
                "service_codes": [terminology.coded(s, c, rule_set=rule_set) for s, c in i.product_codes],
                "quantity": as_dict(i.element.get("quantity")).get("value"),
                "serviced": i.element.get("servicedDate") or i.element.get("servicedPeriod"),
                "practitioners": item_practitioners(request, i),
            }
            for i in request.items
        ],
        "diagnoses": [f"{s}|{c}" for s, c in diagnoses],
        "diagnosis_codes": [terminology.coded(s, c, rule_set=rule_set) for s, c in diagnoses],
        "attachments": _attachments(request, rule_set),
        "answers": [_answers(r) for r in questionnaire_responses(e.resource for e in request.index.entries)],
    }


def _attachments(request: PasRequest, rule_set: RuleSet | None) -> list[dict[str, Any]]:
    """The documents and notes Claim.supportingInfo cites, with their types described."""
    attachments = []
    for info in as_list(request.claim.get("supportingInfo")):
        info = as_dict(info)
        target = request.index.resolve_in(info.get("valueReference"), from_entry=request.claim_entry)
        entry = {"sequence": info.get("sequence"), "category": [c for _, c in codings(info.get("category"))]}
        if target is not None:
            types = codings(target.resource.get("type") or target.resource.get("code"))
            entry["resource"] = target.resource_type
            entry["type"] = [f"{s}|{c}" for s, c in types]
            entry["type_codes"] = [terminology.coded(s, c, rule_set=rule_set) for s, c in types]
            entry["title"] = target.resource.get("description")
        elif isinstance(info.get("valueString"), str):
            entry["text"] = info["valueString"]
        attachments.append(entry)
    return attachments


def _answers(response: dict[str, Any]) -> dict[str, Any]:
    """A form's answers as a reviewer reads them: each question's text (from the response or the form it contains)
    and the answer given."""
    from ..fhir.elements import as_dict, as_list

    texts: dict[str, str] = {}
    options: dict[tuple[str, Any], Any] = {}
    for contained in as_list(response.get("contained")):
        stack = list(as_list(as_dict(contained).get("item")))
        while stack:
            item = as_dict(stack.pop())
            stack += as_list(item.get("item"))
            if isinstance(item.get("linkId"), str) and isinstance(item.get("text"), str):
                texts[item["linkId"]] = item["text"]
            for option in as_list(item.get("answerOption")):
                coding = as_dict(as_dict(option).get("valueCoding"))
                options[(str(item.get("linkId")), coding.get("code"))] = coding.get("display")
    given = []
    stack = list(reversed(as_list(response.get("item"))))
    while stack:
        item = as_dict(stack.pop())
        link = str(item.get("linkId"))
        for answer in as_list(item.get("answer")):
            for key, value in as_dict(answer).items():
                if key.startswith("value"):
                    shown = (
                        as_dict(value).get("display") or as_dict(value).get("code") if key == "valueCoding" else value
                    )
                    given.append(
                        {"link_id": link, "question": item.get("text") or texts.get(link, link), "answer": shown}
                    )
        stack += reversed(as_list(item.get("item")))
    return {
        "questionnaire": response.get("questionnaire"),
        "status": response.get("status"),
        "authored": response.get("authored"),
        "items": given,
    }
