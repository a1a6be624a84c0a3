"""The case state machine and every nurse and medical-director action (design card, "The case").

    pended -> in_review (nurse) -> [info_requested] -> escalated -> in_md_review (MD) -> [p2p_scheduled] -> decided

Each action is allowed only from certain states and to certain roles (TRANSITIONS); anything else is a
ReviewError (409 wrong state, 403 wrong role). Each one, in the caller's transaction: changes the items, derives
and stores a new ClaimResponse version, queues notifications to matching subscriptions, and writes one audit row.
A nurse cannot deny; a denial needs a reason code and text.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from ..case import audit, response_versions
from ..case.status import OPEN, CaseStatus, next_status
from ..context import RequestContext
from ..db import repository
from ..db.models import Appeal, Case, CaseItem
from ..fhir.codes import ReviewAction
from ..fhir.elements import as_dict
from ..fhir.response import response_bundle
from ..notify import outbox
from . import routing

NURSE, MD = routing.NURSE, routing.MEDICAL_DIRECTOR
S = CaseStatus
TRANSITIONS: dict[str, dict[str, frozenset[CaseStatus]]] = {
    "take": {NURSE: frozenset({S.PENDED}), MD: frozenset({S.ESCALATED})},
    "approve": {NURSE: frozenset({S.IN_REVIEW}), MD: frozenset({S.IN_MD_REVIEW})},
    "request_info": {NURSE: frozenset({S.IN_REVIEW}), MD: frozenset({S.IN_MD_REVIEW})},
    "escalate": {NURSE: frozenset({S.IN_REVIEW, S.INFO_REQUESTED})},
    "deny": {MD: frozenset({S.IN_MD_REVIEW})},
    "schedule_p2p": {MD: frozenset({S.IN_MD_REVIEW, S.DECIDED})},
    "record_p2p": {MD: frozenset({S.P2P_SCHEDULED})},
    "extend": {NURSE: frozenset(OPEN), MD: frozenset(OPEN)},
    "appeal": {NURSE: frozenset({S.DECIDED}), MD: frozenset({S.DECIDED})},
    "decide_appeal": {MD: frozenset({S.DECIDED})},
}


class ReviewError(Exception):
    """An action refused: status 403 (role), 404 (no such case or item), 409 (state), 422 (input)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Actor:
    """Who acts: a reviewer id and role."""

    id: str
    role: str
    npi: str | None = None


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


@dataclass
class _Change:
    case: Case
    items: dict[int, CaseItem]
    detail: dict[str, Any] = field(default_factory=dict)


def _open(session: Session, case_id: str, actor: Actor, action: str) -> _Change:
    allowed = TRANSITIONS[action]
    if actor.role not in allowed:
        raise ReviewError(403, f"a {actor.role.replace('_', ' ')} may not {action.replace('_', ' ')}")
    case = repository.get_case(session, case_id, lock=True)
    if case is None:
        raise ReviewError(404, f"case {case_id} not found")
    if CaseStatus(case.status) not in allowed[actor.role]:
        states = ", ".join(sorted(s.value for s in allowed[actor.role]))
        raise ReviewError(
            409, f"cannot {action.replace('_', ' ')} a case that is {case.status} (allowed from: {states})"
        )
    if action not in ("take", "extend", "appeal", "decide_appeal") and case.assignee not in (None, actor.id):
        raise ReviewError(409, f"case is held by {case.assignee}")
    return _Change(case, {item.sequence: item for item in repository.items_of(session, case.id)})


def _pended(change: _Change, sequences: list[int]) -> list[CaseItem]:
    if not sequences:
        raise ReviewError(422, "name at least one item")
    found = []
    for sequence in sequences:
        item = change.items.get(sequence)
        if item is None:
            raise ReviewError(404, f"the case has no item {sequence}")
        if item.review_action != ReviewAction.PENDED:
            raise ReviewError(409, f"item {sequence} is not pended (it is {item.review_action})")
        found.append(item)
    return found


def _finish(
    session: Session,
    change: _Change,
    *,
    actor: Actor,
    action: str,
    reason: str,
    context: RequestContext,
    status: CaseStatus | None = None,
    announce: bool = True,
) -> Case:
    """Derive the case status, store a new ClaimResponse, notify subscribers, and audit."""
    case = change.case
    items = sorted(change.items.values(), key=lambda i: i.sequence)
    case.status = (status or next_status(case.status, (ReviewAction(i.review_action) for i in items))).value
    if case.status == CaseStatus.DECIDED:
        case.decided_at = context.now
    case.updated_at = context.now
    if announce:
        request = response_versions.latest_request(session, case)
        published = response_versions.publish(
            session, case=case, request=request, items=items, now=context.now, payer_system=context.payer_system
        )
        bundle = response_bundle(request, published.resource, base_url=context.base_url, now=context.now)
        organisations = {
            value for role, _, value in repository.parties_of(session, case.id) if role in ("provider", "sender")
        }
        change.detail["notifications"] = outbox.announce(
            session,
            case_id=case.id,
            organisation_ids=organisations,
            response_bundle=bundle,
            base_url=context.base_url,
            now=context.now,
        )
    change.detail.update(audit.outcome(case.status, items))
    audit.record(
        session,
        case_id=case.id,
        actor=actor.id,
        role=actor.role,
        action=action,
        reason=reason,
        at=context.now,
        detail=change.detail,
    )
    session.flush()
    return case


def take(session: Session, *, case_id: str, actor: Actor, context: RequestContext) -> Case:
    """Take a case to work on it (a nurse a pended case, a medical director an escalated one)."""
    change = _open(session, case_id, actor, "take")
    case = change.case
    case.assignee = actor.id
    case.assigned_at = context.now
    working = S.IN_MD_REVIEW if actor.role == MD else S.IN_REVIEW
    return _finish(
        session,
        change,
        actor=actor,
        action="taken",
        reason=f"{actor.id} took the case.",
        context=context,
        status=working,
        announce=False,
    )


def approve(
    session: Session,
    *,
    case_id: str,
    actor: Actor,
    approvals: list[ItemApproval],
    note: str,
    context: RequestContext,
    action: str = "approve",
) -> Case:
    """Approve items in full (A1) or modified (A6: fewer units or another period, shown in addItem)."""
    change = _open(session, case_id, actor, action)
    items = _pended(change, [a.sequence for a in approvals])
    decided = {}
    for approval, item in zip(approvals, items, strict=True):
        decided[item.sequence] = _approve_item(item, approval, actor, note, context)
    change.detail["items"] = decided
    summary = ", ".join(f"item {seq} {code}" for seq, code in decided.items())
    return _finish(
        session, change, actor=actor, action="approved", reason=f"{summary}. {note}".strip(), context=context
    )


def _approve_item(item: CaseItem, approval: ItemApproval, actor: Actor, note: str, context: RequestContext) -> str:
    element = orjson.loads(item.element)
    requested = as_dict(element.get("quantity")).get("value")
    if approval.quantity is not None and isinstance(requested, (int, float)) and approval.quantity > requested:
        raise ReviewError(
            422, f"item {item.sequence}: {approval.quantity:g} units is more than the {requested:g} requested"
        )
    start, end = _requested_period(element)
    modified = (approval.quantity is not None and approval.quantity != requested) or (
        approval.start is not None and (approval.start, approval.end or end) != (start, end)
    )
    item.review_action = (ReviewAction.MODIFIED if modified else ReviewAction.CERTIFIED).value
    item.authorized_quantity = approval.quantity if approval.quantity is not None else requested
    item.authorized_start = approval.start or start
    item.authorized_end = approval.end or end
    item.decided_by = actor.id
    item.reason = note or None
    item.documents = "[]"
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
    case_id: str,
    actor: Actor,
    sequences: list[int],
    documents: list[DocumentRequest],
    note: str,
    context: RequestContext,
) -> Case:
    """Ask the provider for documents: the response carries a PAS documentation request; the case waits for them."""
    if not documents:
        raise ReviewError(422, "name the documents to request")
    change = _open(session, case_id, actor, "request_info")
    wanted = orjson.dumps(
        [{"loinc": d.loinc, "description": d.description, "report_type": d.report_type} for d in documents]
    ).decode()
    for item in _pended(change, sequences):
        item.documents = wanted
        item.reason = note or f"Documents requested by {actor.id}."
        item.updated_at = context.now
    change.detail.update({"items": sequences, "documents": [d.loinc for d in documents]})
    return _finish(
        session,
        change,
        actor=actor,
        action="info requested",
        context=context,
        status=S.INFO_REQUESTED,
        reason=f"Requested {', '.join(d.description for d in documents)}. {note}".strip(),
    )


def escalate(session: Session, *, case_id: str, actor: Actor, note: str, context: RequestContext) -> Case:
    """Send the case to a medical director, with the nurse's note."""
    if not note.strip():
        raise ReviewError(422, "an escalation carries a note for the medical director")
    change = _open(session, case_id, actor, "escalate")
    case = change.case
    case.escalation_note = note
    case.assignee = None
    case.assigned_at = None
    case.queue = routing.MD_QUEUE
    case.status = S.ESCALATED.value
    director = routing.offer(session, case, now=context.now)
    change.detail["offered_to"] = director.id if director else None
    return _finish(
        session,
        change,
        actor=actor,
        action="escalated",
        reason=note,
        context=context,
        status=S.ESCALATED,
        announce=False,
    )


def deny(
    session: Session,
    *,
    case_id: str,
    actor: Actor,
    sequences: list[int],
    reason_code: str,
    reason_text: str,
    context: RequestContext,
) -> Case:
    """Deny items (A3) with a reason code and plain-language text: medical directors only."""
    if not reason_code.strip() or not reason_text.strip():
        raise ReviewError(422, "a denial needs both a reason code and plain-language text")
    change = _open(session, case_id, actor, "deny")
    for item in _pended(change, sequences):
        item.review_action = ReviewAction.NOT_CERTIFIED.value
        item.reason_code = reason_code
        item.reason = reason_text
        item.decided_by = actor.id
        item.documents = "[]"
        item.updated_at = context.now
    change.detail.update({"items": sequences, "reason_code": reason_code})
    return _finish(
        session,
        change,
        actor=actor,
        action="denied",
        context=context,
        reason=f"Items {', '.join(map(str, sequences))} denied ({reason_code}): {reason_text}",
    )


def schedule_p2p(
    session: Session, *, case_id: str, actor: Actor, at: dt.datetime, contact: str, context: RequestContext
) -> Case:
    """Schedule a peer-to-peer review with the requesting provider."""
    if not contact.strip():
        raise ReviewError(422, "a peer-to-peer review needs a contact")
    change = _open(session, case_id, actor, "schedule_p2p")
    change.case.p2p_at = at
    change.case.p2p_contact = contact
    change.case.assignee = actor.id
    change.detail.update({"at": at.isoformat(), "contact": contact})
    return _finish(
        session,
        change,
        actor=actor,
        action="p2p scheduled",
        context=context,
        status=S.P2P_SCHEDULED,
        announce=False,
        reason=f"Peer-to-peer review with {contact} at {at.isoformat()}.",
    )


def record_p2p(
    session: Session,
    *,
    case_id: str,
    actor: Actor,
    overturned: bool,
    note: str,
    approvals: list[ItemApproval],
    context: RequestContext,
) -> Case:
    """Record a peer-to-peer review's result; overturning approves the denied items named (or all denied ones)."""
    change = _open(session, case_id, actor, "record_p2p")
    if not overturned:
        return _finish(
            session,
            change,
            actor=actor,
            action="p2p upheld",
            context=context,
            reason=f"Decision upheld. {note}".strip(),
            status=S.DECIDED if not _any_pended(change) else S.IN_MD_REVIEW,
            announce=False,
        )
    denied = [i for i in change.items.values() if i.review_action == ReviewAction.NOT_CERTIFIED]
    decided = _overturn(change, approvals or [ItemApproval(i.sequence) for i in denied], actor, note, context)
    return _finish(
        session,
        change,
        actor=actor,
        action="p2p overturned",
        context=context,
        reason=f"Peer-to-peer review overturned the denial: {', '.join(f'item {s} {c}' for s, c in decided.items())}. {note}".strip(),
        status=S.DECIDED if not _any_pended(change) else S.IN_MD_REVIEW,
    )


def _overturn(
    change: _Change, approvals: list[ItemApproval], actor: Actor, note: str, context: RequestContext
) -> dict[int, str]:
    """Approve denied items (a peer-to-peer review or an appeal overturned the denial)."""
    decided = {}
    for approval in approvals:
        item = change.items.get(approval.sequence)
        if item is None or item.review_action != ReviewAction.NOT_CERTIFIED:
            raise ReviewError(409, f"item {approval.sequence} was not denied")
        item.reason_code = None
        decided[item.sequence] = _approve_item(item, approval, actor, note, context)
    change.detail["items"] = decided
    return decided


def _any_pended(change: _Change) -> bool:
    return any(i.review_action == ReviewAction.PENDED for i in change.items.values())


def extend(session: Session, *, case_id: str, actor: Actor, reason: str, days: int, context: RequestContext) -> Case:
    """Extend the review time once, with a reason (CMS-0057-F allows up to 14 days for standard requests)."""
    if not reason.strip():
        raise ReviewError(422, "an extension needs a reason")
    if not 1 <= days <= 14:
        raise ReviewError(422, "an extension is 1 to 14 days")
    change = _open(session, case_id, actor, "extend")
    case = change.case
    if case.extension_reason:
        raise ReviewError(409, "the review time was already extended once")
    case.extension_reason = reason
    case.due_at = case.due_at + dt.timedelta(days=days)
    change.detail.update({"days": days, "due_at": case.due_at.isoformat()})
    return _finish(
        session,
        change,
        actor=actor,
        action="extended",
        context=context,
        status=CaseStatus(case.status),
        announce=False,
        reason=f"Review time extended by {days} days: {reason}",
    )


def file_appeal(
    session: Session, *, case_id: str, actor: Actor, sequences: list[int], reason: str, context: RequestContext
) -> Appeal:
    """Record the provider's appeal of denied items (taken by staff from the appeal the provider sent)."""
    if not reason.strip():
        raise ReviewError(422, "an appeal states its reason")
    change = _open(session, case_id, actor, "appeal")
    for sequence in sequences:
        item = change.items.get(sequence)
        if item is None or item.review_action != ReviewAction.NOT_CERTIFIED:
            raise ReviewError(409, f"item {sequence} is not denied; only denials are appealed")
    appeal = Appeal(
        id=str(uuid.uuid4()),
        case_id=case_id,
        sequences=orjson.dumps(sequences).decode(),
        reason=reason,
        filed_at=context.now,
        filed_by=actor.id,
        outcome="pending",
    )
    session.add(appeal)
    change.detail.update({"appeal_id": appeal.id, "items": sequences})
    _finish(
        session,
        change,
        actor=actor,
        action="appeal filed",
        reason=reason,
        context=context,
        status=CaseStatus(change.case.status),
        announce=False,
    )
    return appeal


def decide_appeal(
    session: Session, *, appeal_id: str, actor: Actor, approved: bool, note: str, context: RequestContext
) -> Appeal:
    """Decide an appeal (medical directors): approving it certifies the appealed items."""
    appeal = session.get(Appeal, appeal_id, with_for_update=True)
    if appeal is None:
        raise ReviewError(404, f"appeal {appeal_id} not found")
    if appeal.outcome != "pending":
        raise ReviewError(409, f"appeal {appeal_id} was already decided ({appeal.outcome})")
    change = _open(session, appeal.case_id, actor, "decide_appeal")
    appeal.outcome = "approved" if approved else "upheld"
    appeal.decided_at = context.now
    appeal.decided_by = actor.id
    appeal.note = note
    change.detail["appeal_id"] = appeal.id
    if not approved:
        _finish(
            session,
            change,
            actor=actor,
            action="appeal upheld",
            reason=f"Denial upheld on appeal. {note}".strip(),
            context=context,
            status=S.DECIDED,
            announce=False,
        )
        return appeal
    still_denied = [
        seq for seq in orjson.loads(appeal.sequences) if change.items[seq].review_action == ReviewAction.NOT_CERTIFIED
    ]
    _overturn(change, [ItemApproval(seq) for seq in still_denied], actor, note, context)
    _finish(
        session,
        change,
        actor=actor,
        action="appeal approved",
        context=context,
        status=S.DECIDED,
        reason=f"Approved on appeal. {note}".strip(),
    )
    return appeal
