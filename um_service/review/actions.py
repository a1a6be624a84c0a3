"""Every nurse and medical-director action on a case. Which role may act from which state is the case lifecycle's
table (case.lifecycle); each action here checks its own input, changes items, and hands the change to the lifecycle,
which stores the new state, a new ClaimResponse version when the answer changed, the notifications and the audit row.
A nurse cannot deny; a denial needs a reason code and text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..case import lifecycle, stays
from ..case.lifecycle import Action, Actor, Change
from ..context import RequestContext
from ..db.models import Case, CaseItem, Reviewer
from ..errors import Conflict, NotFound, Unprocessable
from ..fhir.codes import ReviewAction
from ..fhir.elements import as_dict
from . import routing

__all__ = ["Actor", "DocumentRequest", "ItemApproval"]


@dataclass(frozen=True)
class ItemApproval:
    """Approve one item, in full or modified (fewer units, or another period)."""

    sequence: int
    quantity: float | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class DocumentRequest:
    """An attachment to ask the provider for."""

    loinc: str
    description: str
    report_type: str = "OZ"


def _pended(change: Change, sequences: list[int]) -> list[CaseItem]:
    if not sequences:
        raise Unprocessable("name at least one item")
    found = []
    for sequence in sequences:
        item = change.items.get(sequence)
        if item is None:
            raise NotFound(f"the case has no item {sequence}")
        if item.review_action != ReviewAction.PENDED:
            raise Conflict(f"item {sequence} is not pended (it is {ReviewAction(item.review_action).name.lower()})")
        found.append(item)
    return found


def take(session: Session, *, case: Case, actor: Actor, context: RequestContext, reason: str = "") -> None:
    """Take a case to work on it (a nurse a pended case, a medical director an escalated one)."""
    change = lifecycle.begin(session, case=case, action=Action.TAKE, actor=actor)
    case.assignee = actor.id
    case.assigned_at = context.now
    change.detail["queue"] = case.queue
    lifecycle.finish(session, change, reason=reason or f"{actor.id} took the case.", context=context)


def take_next(session: Session, *, reviewer: Reviewer, context: RequestContext) -> Case | None:
    """Take the most urgent case the reviewer is qualified for (earliest due); None when nothing is waiting."""
    case = routing.next_case(session, reviewer)
    if case is not None:
        actor = Actor(reviewer.id, reviewer.role, reviewer.npi)
        reason = f"Next case for {reviewer.id}: due {case.due_at.isoformat()}."
        take(session, case=case, actor=actor, context=context, reason=reason)
    return case


def approve(
    session: Session, *, case: Case, actor: Actor, approvals: list[ItemApproval], note: str, context: RequestContext
) -> None:
    """Approve items in full (A1) or modified (A6: fewer units or another period, shown in addItem)."""
    change = lifecycle.begin(session, case=case, action=Action.APPROVE, actor=actor)
    items = _pended(change, [a.sequence for a in approvals])
    decided = {}
    stay = stays.requested_period(case)
    for approval, item in zip(approvals, items, strict=True):
        decided[item.sequence] = _approve_item(item, approval, actor, note, context, requested=stay)
    change.detail["items"] = decided
    summary = ", ".join(f"item {seq} {code}" for seq, code in decided.items())
    lifecycle.finish(session, change, reason=f"{summary}. {note}".strip(), context=context)


def _approve_item(
    item: CaseItem,
    approval: ItemApproval,
    actor: Actor,
    note: str,
    context: RequestContext,
    *,
    requested: tuple[str | None, str | None] | None = None,
) -> str:
    """Approve one item; `requested` is the period asked for when the item's own dates do not say it (a stay)."""
    element = item.element
    units = as_dict(element.get("quantity")).get("value")
    if approval.quantity is not None and isinstance(units, (int, float)) and approval.quantity > units:
        raise Unprocessable(f"item {item.sequence}: {approval.quantity:g} units is more than the {units:g} requested")
    start, end = requested or _requested_period(element)
    modified = (approval.quantity is not None and approval.quantity != units) or (
        approval.start is not None and (approval.start, approval.end or end) != (start, end)
    )
    item.review_action = ReviewAction.MODIFIED if modified else ReviewAction.CERTIFIED
    item.authorized_quantity = approval.quantity if approval.quantity is not None else units
    item.authorized_start = approval.start or start
    item.authorized_end = approval.end or end
    item.decided_by = actor.id
    item.reason = note or None
    item.documents = []
    item.updated_at = context.now
    return item.review_action


def _requested_period(element: dict[str, Any]) -> tuple[str | None, str | None]:
    if isinstance(element.get("servicedDate"), str):
        return element["servicedDate"][:10], element["servicedDate"][:10]
    period = as_dict(element.get("servicedPeriod"))
    start, end = period.get("start"), period.get("end")
    return (start[:10] if isinstance(start, str) else None, end[:10] if isinstance(end, str) else None)


def request_info(
    session: Session,
    *,
    case: Case,
    actor: Actor,
    sequences: list[int],
    documents: list[DocumentRequest],
    note: str,
    context: RequestContext,
) -> None:
    """Ask the provider for documents: the response carries a PAS documentation request; the case waits for them."""
    if not documents:
        raise Unprocessable("name the documents to request")
    change = lifecycle.begin(session, case=case, action=Action.REQUEST_INFO, actor=actor)
    wanted = [{"loinc": d.loinc, "description": d.description, "report_type": d.report_type} for d in documents]
    for item in _pended(change, sequences):
        item.documents = list(wanted)
        item.reason = note or f"Documents requested by {actor.id}."
        item.updated_at = context.now
    change.detail.update({"items": sequences, "documents": [d.loinc for d in documents]})
    reason = f"Requested {', '.join(d.description for d in documents)}. {note}".strip()
    lifecycle.finish(session, change, reason=reason, context=context)


def escalate(session: Session, *, case: Case, actor: Actor, note: str, context: RequestContext) -> None:
    """Send the case to a medical director, with the nurse's note; it is offered to one at once."""
    if not note.strip():
        raise Unprocessable("an escalation carries a note for the medical director")
    change = lifecycle.begin(session, case=case, action=Action.ESCALATE, actor=actor)
    case.escalation_note = note
    case.assignee = None
    case.assigned_at = None
    case.queue = routing.MD_QUEUE

    def offer(escalated: Case) -> str:
        director = routing.offer(session, escalated, now=context.now)
        change.detail["offered_to"] = director.id if director else None
        return ""

    lifecycle.finish(session, change, reason=note, context=context, then=offer)


def deny(
    session: Session,
    *,
    case: Case,
    actor: Actor,
    sequences: list[int],
    reason_code: str,
    reason_text: str,
    context: RequestContext,
) -> None:
    """Deny items (A3) with a reason code and plain-language text: medical directors only."""
    if not reason_code.strip() or not reason_text.strip():
        raise Unprocessable("a denial needs both a reason code and plain-language text")
    offered = {r.code for r in context.rules.plans.denial_reasons}
    if offered and reason_code not in offered:
        raise Unprocessable(
            f"reason code {reason_code} is not one of the plan's denial reasons ({', '.join(sorted(offered))})"
        )
    change = lifecycle.begin(session, case=case, action=Action.DENY, actor=actor)
    for item in _pended(change, sequences):
        item.review_action = ReviewAction.NOT_CERTIFIED
        item.reason_code = reason_code
        item.reason = reason_text
        item.decision_kind = "clinical"
        item.decided_by = actor.id
        item.documents = []
        item.updated_at = context.now
    change.detail.update({"items": sequences, "reason_code": reason_code})
    reason = f"Items {', '.join(map(str, sequences))} denied ({reason_code}): {reason_text}"
    lifecycle.finish(session, change, reason=reason, context=context)


def overturn(
    change: Change, approvals: list[ItemApproval], actor: Actor, note: str, context: RequestContext
) -> dict[int, str]:
    """Approve denied items (a peer-to-peer review or an appeal overturned the denial)."""
    decided = {}
    for approval in approvals:
        item = change.items.get(approval.sequence)
        if item is None or item.review_action != ReviewAction.NOT_CERTIFIED:
            raise Conflict(f"item {approval.sequence} was not denied")
        item.reason_code = None
        item.decision_kind = None
        decided[item.sequence] = _approve_item(item, approval, actor, note, context)
    change.detail["items"] = decided
    return decided


def extend(session: Session, *, case: Case, actor: Actor, reason: str, days: int, context: RequestContext) -> None:
    """Extend the review time once, with a reason (CMS-0057-F allows up to 14 days for standard requests)."""
    if not reason.strip():
        raise Unprocessable("an extension needs a reason")
    if not 1 <= days <= 14:
        raise Unprocessable("an extension is 1 to 14 days")
    change = lifecycle.begin(session, case=case, action=Action.EXTEND, actor=actor)
    if case.extension_reason:
        raise Conflict("the review time was already extended once")
    case.extension_reason = reason
    case.due_at = case.due_at + dt.timedelta(days=days)
    change.detail.update({"days": days, "due_at": case.due_at.isoformat()})
    lifecycle.finish(session, change, reason=f"Review time extended by {days} days: {reason}", context=context)
