"""What staff see of a case: its request keys, each item's outcome with the rule, rule-set version and trace."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from .db import repository


def details(session: Session, case_id: str) -> dict[str, Any] | None:
    """A case as plain data, or None when there is no such case."""
    case = repository.get_case(session, case_id)
    if case is None:
        return None
    items = []
    for item in repository.items_of(session, case_id):
        items.append(
            {
                "sequence": item.sequence,
                "service": {"system": item.product_system, "code": item.product_code},
                "review_action": item.review_action,
                "queue": item.queue,
                "skills": orjson.loads(item.skills or "[]"),
                "review_priority": item.review_priority,
                "reason": item.reason,
                "reason_code": item.reason_code,
                "authorized_quantity": item.authorized_quantity,
                "decided_by": item.decided_by,
                "rule_id": item.rule_id,
                "ruleset_version": item.ruleset_version,
                "documents_requested": orjson.loads(item.documents or "[]"),
                "authorized_period": (
                    {"start": item.authorized_start, "end": item.authorized_end} if item.authorized_start else None
                ),
                "trace": orjson.loads(item.trace or "[]"),
                "updated_at": item.updated_at,
            }
        )
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
        "required_skills": orjson.loads(case.required_skills or "[]"),
        "review_priority": case.review_priority,
        "assignee": case.assignee,
        "near_breach": case.near_breach,
        "line_of_business": case.line_of_business,
        "member_state": case.member_state,
        "escalation_note": case.escalation_note,
        "extension_reason": case.extension_reason,
        "p2p_at": case.p2p_at,
        "p2p_contact": case.p2p_contact,
        "decided_at": case.decided_at,
        "identifiers": [{"system": s, "value": v} for s, v in sorted(repository.identifiers_of(session, case_id))],
        "items": items,
    }
