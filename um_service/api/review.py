"""Staff routes for reviewing cases (JSON under /um): work list, next case, and every nurse / medical-director
action. The acting reviewer is the one the caller's access token is linked to."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..case import details
from ..db.models import AuditEvent, Reviewer
from ..review import actions, routing
from ..review.actions import Actor, DocumentRequest, ItemApproval
from .deps import CallerDep, ContextDep, DatabaseDep, wake_dispatcher

router = APIRouter(prefix="/um", tags=["UM review"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The actor's role may not take this action"},
    404: {"description": "No such case or item"},
    409: {"description": "Not allowed from the case's current state, or the case is held by someone else"},
    422: {"description": "Missing or invalid input (e.g. a denial without reason)"},
}


def _actor(database: DatabaseDep, caller: CallerDep) -> Actor:
    """The reviewer the caller's token speaks for."""
    with database.transaction() as session:
        reviewer = session.get(Reviewer, caller.reviewer_id) if caller.reviewer_id else None
        if reviewer is None or reviewer.role != caller.role:
            raise HTTPException(
                403, f"client {caller.client_id} is not linked to a {caller.role.replace('_', ' ')} reviewer"
            )
        return Actor(reviewer.id, reviewer.role, reviewer.npi)


ActorDep = Annotated[Actor, Depends(_actor)]


class ApprovalIn(BaseModel):
    """Approve one item; give quantity or period to approve less than requested (modified, A6)."""

    sequence: int = Field(ge=1)
    quantity: float | None = Field(default=None, gt=0)
    start: dt.date | None = None
    end: dt.date | None = None


class ApproveIn(BaseModel):
    """Items to approve."""

    items: list[ApprovalIn] = Field(min_length=1)
    note: str = ""


class DocumentIn(BaseModel):
    """A document to ask for (LOINC type, X12 755 report type)."""

    loinc: str = Field(min_length=1)
    description: str = Field(min_length=1)
    report_type: str = "OZ"


class RequestInfoIn(BaseModel):
    """What to ask the provider for, for which items."""

    items: list[int] = Field(min_length=1)
    documents: list[DocumentIn] = Field(min_length=1)
    note: str = ""


class NoteIn(BaseModel):
    """A note (escalations need one)."""

    note: str = Field(min_length=1)


class DenyIn(BaseModel):
    """A denial: items, an X12 reason code and plain-language text, both required."""

    items: list[int] = Field(min_length=1)
    reason_code: str = Field(min_length=1)
    reason_text: str = Field(min_length=1)


class P2PIn(BaseModel):
    """A peer-to-peer review appointment."""

    scheduled_at: dt.datetime
    contact: str = Field(min_length=1)


class P2PResultIn(BaseModel):
    """A peer-to-peer result; overturned approves the denied items named (all denied items when none are)."""

    outcome: Literal["overturned", "upheld"]
    note: str = ""
    items: list[ApprovalIn] = []


class ExtendIn(BaseModel):
    """An extension of the review time."""

    reason: str = Field(min_length=1)
    days: int = Field(default=14, ge=1, le=14)


def _approvals(items: list[ApprovalIn]) -> list[ItemApproval]:
    return [
        ItemApproval(
            i.sequence, i.quantity, i.start.isoformat() if i.start else None, i.end.isoformat() if i.end else None
        )
        for i in items
    ]


def _case(session: Any, case_id: str) -> dict[str, Any]:
    found = details.details(session, case_id)
    assert found is not None
    return found


@router.get("/worklist")
def work_list(
    database: DatabaseDep,
    context: ContextDep,
    queue: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Open cases by due time (filter by queue, status, assignee, overdue), with expedited/standard/overdue counts."""
    with database.transaction() as session:
        return routing.work_list(
            session, routing.WorkListFilter(queue, status, assignee, overdue, limit), now=context.now
        )


@router.post(
    "/work/next",
    responses={404: {"description": "No case waiting"}, 409: {"description": "At capacity or unavailable"}},
)
def next_case(database: DatabaseDep, context: ContextDep, actor: ActorDep) -> Any:
    """Claim the most urgent case (earliest due) the acting reviewer is qualified for."""
    with database.transaction() as session:
        reviewer = session.get(Reviewer, actor.id)
        assert reviewer is not None
        case = routing.next_case(session, reviewer, now=context.now)
        if case is None:
            raise HTTPException(404, "no case waiting that you are qualified for")
        return _case(session, case.id)


@router.post("/cases/{case_id}/take", responses=_ERRORS)
def take(case_id: str, database: DatabaseDep, context: ContextDep, actor: ActorDep) -> dict[str, Any]:
    """Take a case: a nurse a pended one, a medical director an escalated one."""
    with database.transaction() as session:
        actions.take(session, case_id=case_id, actor=actor, context=context)
        return _case(session, case_id)


@router.post("/cases/{case_id}/approve", responses=_ERRORS)
def approve(
    case_id: str, body: ApproveIn, request: Request, database: DatabaseDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Approve items in full (A1) or modified (A6, with the authorized quantity or period)."""
    with database.transaction() as session:
        actions.approve(
            session, case_id=case_id, actor=actor, approvals=_approvals(body.items), note=body.note, context=context
        )
        result = _case(session, case_id)
    wake_dispatcher(request)
    return result


@router.post("/cases/{case_id}/request-info", responses=_ERRORS)
def request_info(
    case_id: str, body: RequestInfoIn, request: Request, database: DatabaseDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Ask the provider for documents; the answer carries a PAS documentation request."""
    documents = [DocumentRequest(d.loinc, d.description, d.report_type) for d in body.documents]
    with database.transaction() as session:
        actions.request_info(
            session,
            case_id=case_id,
            actor=actor,
            sequences=body.items,
            documents=documents,
            note=body.note,
            context=context,
        )
        result = _case(session, case_id)
    wake_dispatcher(request)
    return result


@router.post("/cases/{case_id}/escalate", responses=_ERRORS)
def escalate(case_id: str, body: NoteIn, database: DatabaseDep, context: ContextDep, actor: ActorDep) -> dict[str, Any]:
    """Escalate to a medical director with a note (nurses)."""
    with database.transaction() as session:
        actions.escalate(session, case_id=case_id, actor=actor, note=body.note, context=context)
        return _case(session, case_id)


@router.post("/cases/{case_id}/deny", responses=_ERRORS)
def deny(
    case_id: str, body: DenyIn, request: Request, database: DatabaseDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Deny items with a reason code and plain-language text (medical directors only)."""
    with database.transaction() as session:
        actions.deny(
            session,
            case_id=case_id,
            actor=actor,
            sequences=body.items,
            reason_code=body.reason_code,
            reason_text=body.reason_text,
            context=context,
        )
        result = _case(session, case_id)
    wake_dispatcher(request)
    return result


@router.post("/cases/{case_id}/p2p", responses=_ERRORS)
def schedule_p2p(
    case_id: str, body: P2PIn, database: DatabaseDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Schedule a peer-to-peer review with the requesting provider (medical directors)."""
    with database.transaction() as session:
        actions.schedule_p2p(
            session, case_id=case_id, actor=actor, at=body.scheduled_at, contact=body.contact, context=context
        )
        return _case(session, case_id)


@router.post("/cases/{case_id}/p2p/result", responses=_ERRORS)
def record_p2p(
    case_id: str, body: P2PResultIn, request: Request, database: DatabaseDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Record the peer-to-peer result; an overturn approves the denied items."""
    with database.transaction() as session:
        actions.record_p2p(
            session,
            case_id=case_id,
            actor=actor,
            overturned=body.outcome == "overturned",
            note=body.note,
            approvals=_approvals(body.items),
            context=context,
        )
        result = _case(session, case_id)
    wake_dispatcher(request)
    return result


@router.post("/cases/{case_id}/extend", responses=_ERRORS)
def extend(case_id: str, body: ExtendIn, database: DatabaseDep, context: ContextDep, actor: ActorDep) -> dict[str, Any]:
    """Extend the review time once, with a reason."""
    with database.transaction() as session:
        actions.extend(session, case_id=case_id, actor=actor, reason=body.reason, days=body.days, context=context)
        return _case(session, case_id)


@router.get("/cases/{case_id}/request", responses={404: {"description": "No such case"}})
def case_request(case_id: str, database: DatabaseDep) -> dict[str, Any]:
    """The request as a reviewer reads it: patient, coverage, provider, items, diagnoses, attachments."""
    with database.transaction() as session:
        found = details.request_summary(session, case_id)
    if found is None:
        raise HTTPException(404, f"case {case_id} not found")
    return found


class HistoryEntry(BaseModel):
    """One audit row: who, role, what, when, why."""

    at: dt.datetime
    actor: str
    role: str
    action: str
    reason: str
    detail: dict[str, Any]


@router.get("/cases/{case_id}/history", responses={404: {"description": "No such case"}})
def history(case_id: str, database: DatabaseDep) -> list[HistoryEntry]:
    """The case's audit trail, oldest first."""
    import orjson

    with database.transaction() as session:
        if details.details(session, case_id) is None:
            raise HTTPException(404, f"case {case_id} not found")
        rows = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id))
        return [
            HistoryEntry(
                at=r.at, actor=r.actor, role=r.role, action=r.action, reason=r.reason, detail=orjson.loads(r.detail)
            )
            for r in rows
        ]
