"""Staff routes for reviewing cases (JSON under /um): work list, next case, and every nurse / medical-director
action. The acting reviewer is the one the caller's access token is linked to."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..case import details, lifecycle
from ..case.lifecycle import Action
from ..case.status import CaseStatus
from ..context import RequestContext
from ..db import repository
from ..db.models import AuditEvent, Case, Reviewer
from ..errors import NotFound
from ..fhir.codes import ReviewAction
from ..review import actions, worklist
from ..review.actions import DocumentRequest, ItemApproval
from .deps import ActorDep, CaseDep, ContextDep, LockedCaseDep, SessionDep

router = APIRouter(prefix="/um", tags=["UM review"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The actor's role may not take this action"},
    404: {"description": "No such case or item"},
    409: {"description": "Not allowed from the case's current state, or the case is held by someone else"},
    422: {"description": "Missing or invalid input (e.g. a denial without reason)"},
}


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


class ExtendIn(BaseModel):
    """An extension of the review time."""

    reason: str = Field(min_length=1)
    days: int = Field(default=14, ge=1, le=14)


def item_approvals(items: list[ApprovalIn]) -> list[ItemApproval]:
    """The approvals a body names, as the review actions take them."""
    return [
        ItemApproval(
            i.sequence, i.quantity, i.start.isoformat() if i.start else None, i.end.isoformat() if i.end else None
        )
        for i in items
    ]


def case_details(session: Any, case: Case, context: RequestContext) -> dict[str, Any]:
    """The case as the staff routes answer it after a change (GET /um/cases/{id})."""
    found = details.details(session, case.id, rule_set=context.rules)
    assert found is not None
    return found


@router.get("/worklist")
def work_list(
    session: SessionDep,
    context: ContextDep,
    queue: str | None = None,
    status: CaseStatus | None = None,
    assignee: str | None = None,
    overdue: bool | None = None,
    review_type: Literal["prospective", "concurrent", "retrospective"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    scope: worklist.Scope = "open",
    q: Annotated[
        str | None, Query(max_length=200, description="authorization number, member id or patient name")
    ] = None,
    sort: worklist.Sort = "due",
) -> dict[str, Any]:
    """Cases by due time (filter by queue, status, assignee, overdue, review type; search by authorization number,
    member id or patient name; open cases unless `scope` says closed or all), with expedited/standard/overdue counts,
    and the inpatient stays under concurrent review by next review date."""
    filters = worklist.WorkListFilter(queue, status, assignee, overdue, limit, review_type, scope, q, sort)
    return worklist.work_list(session, filters, now=context.now, rule_set=context.rules)


@router.post(
    "/work/next",
    responses={404: {"description": "No case waiting"}, 409: {"description": "At capacity or unavailable"}},
)
def next_case(session: SessionDep, context: ContextDep, actor: ActorDep) -> Any:
    """Take the most urgent case (earliest due) the acting reviewer is qualified for."""
    reviewer = session.get(Reviewer, actor.id)
    assert reviewer is not None  # the actor dependency found it
    case = actions.take_next(session, reviewer=reviewer, context=context)
    if case is None:
        raise NotFound("no case waiting that you are qualified for")
    return case_details(session, case, context)


@router.post("/cases/{case_id}/take", responses=_ERRORS)
def take(case: LockedCaseDep, session: SessionDep, context: ContextDep, actor: ActorDep) -> dict[str, Any]:
    """Take a case: a nurse a pended one, a medical director an escalated one."""
    actions.take(session, case=case, actor=actor, context=context)
    return case_details(session, case, context)


@router.post("/cases/{case_id}/approve", responses=_ERRORS)
def approve(
    case: LockedCaseDep, body: ApproveIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Approve items in full (A1) or modified (A6, with the authorized quantity or period)."""
    actions.approve(
        session, case=case, actor=actor, approvals=item_approvals(body.items), note=body.note, context=context
    )
    return case_details(session, case, context)


@router.post("/cases/{case_id}/request-info", responses=_ERRORS)
def request_info(
    case: LockedCaseDep, body: RequestInfoIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Ask the provider for documents; the answer carries a PAS documentation request."""
    documents = [DocumentRequest(d.loinc, d.description, d.report_type) for d in body.documents]
    actions.request_info(
        session,
        case=case,
        actor=actor,
        sequences=body.items,
        documents=documents,
        note=body.note,
        context=context,
    )
    return case_details(session, case, context)


@router.post("/cases/{case_id}/escalate", responses=_ERRORS)
def escalate(
    case: LockedCaseDep, body: NoteIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Escalate to a medical director with a note (nurses)."""
    actions.escalate(session, case=case, actor=actor, note=body.note, context=context)
    return case_details(session, case, context)


@router.post("/cases/{case_id}/deny", responses=_ERRORS)
def deny(
    case: LockedCaseDep, body: DenyIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Deny items with a reason code and plain-language text (medical directors only)."""
    actions.deny(
        session,
        case=case,
        actor=actor,
        sequences=body.items,
        reason_code=body.reason_code,
        reason_text=body.reason_text,
        context=context,
    )
    return case_details(session, case, context)


@router.post("/cases/{case_id}/extend", responses=_ERRORS)
def extend(
    case: LockedCaseDep, body: ExtendIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Extend the review time once, with a reason."""
    actions.extend(session, case=case, actor=actor, reason=body.reason, days=body.days, context=context)
    return case_details(session, case, context)


# Actions that work on pended items: offered only while the case has one.
_ON_PENDED = {Action.APPROVE, Action.REQUEST_INFO, Action.DENY}


@router.get("/cases/{case_id}/actions", responses={404: {"description": "No such case"}})
def case_actions(case: CaseDep, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """What the signed-in reviewer may do with this case now (the lifecycle table for their role, the case's state
    and holder), so a page offers only those."""
    pended = any(i.review_action == ReviewAction.PENDED for i in repository.items_of(session, case.id))
    offered = [a for a in lifecycle.available(case, actor) if pended or a not in _ON_PENDED]
    return {
        "reviewer": actor.id,
        "role": actor.role,
        "status": case.status,
        "actions": [a.name.lower() for a in offered],
    }


@router.get("/reasons")
def denial_reasons(context: ContextDep) -> list[dict[str, str]]:
    """The X12 886 reasons a medical director picks from when denying (the plan pack's `denial_reasons`)."""
    return [{"code": r.code, "description": r.description} for r in context.rules.plans.denial_reasons]


@router.get("/cases/{case_id}/request", responses={404: {"description": "No such case"}})
def case_request(case: CaseDep, session: SessionDep, context: ContextDep) -> dict[str, Any]:
    """The request as a reviewer reads it: patient, coverage, provider, items (with their practitioners), diagnoses,
    attachments; codes come with their descriptions (`service_codes`, `diagnosis_codes`, `type_codes`)."""
    found = details.request_summary(session, case.id, rule_set=context.rules)
    assert found is not None
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
def history(case: CaseDep, session: SessionDep) -> list[HistoryEntry]:
    """The case's audit trail, oldest first."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id))
    return [
        HistoryEntry(at=r.at, actor=r.actor, role=r.role, action=r.action, reason=r.reason, detail=r.detail)
        for r in rows
    ]
