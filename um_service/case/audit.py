"""The audit trail: one row per state change of a case, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..db.models import AuditEvent


def outcome(status: str, items: Iterable[Any]) -> dict[str, Any]:
    """The case status and every item's review action after a change: the facts reports are computed from
    (with the items not certified administratively, when there are any)."""
    items = list(items)
    found: dict[str, Any] = {"status": status, "item_actions": {str(i.sequence): i.review_action for i in items}}
    administrative = [str(i.sequence) for i in items if getattr(i, "decision_kind", None) == "administrative"]
    if administrative:
        found["administrative_items"] = administrative
    return found


def record(
    session: Session,
    *,
    case_id: str | None,
    actor: str,
    role: str,
    action: str,
    reason: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write who did what, when and why."""
    session.add(
        AuditEvent(
            case_id=case_id,
            at=at,
            actor=actor,
            role=role,
            action=action,
            reason=reason,
            detail=detail or {},
        )
    )
