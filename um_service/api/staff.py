"""The staff face (JSON under /um): case details for UM nurses and medical directors, rule administration."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ..case import clocks, details, replay
from ..db import rule_sets
from ..db.models import OutboxMessage, Reviewer, WorkQueue
from ..decision.active import ActiveRules
from ..errors import NotFound, Unprocessable
from ..review import routing, staff
from ..review.staff import QueueSpec, ReviewerSpec
from .deps import CaseDep, ContextDep, SessionDep

router = APIRouter(prefix="/um", tags=["UM staff"])


class Service(BaseModel):
    """A requested service code, with its description (the rule pack's words for CPT; None when unknown)."""

    system: str
    code: str
    display: str | None = None


class Period(BaseModel):
    """An authorized period."""

    start: str
    end: str | None


class ServicePeriod(BaseModel):
    """The period of service requested (Claim.item.servicedPeriod), as sent."""

    start: str | None
    end: str | None


class Practitioner(BaseModel):
    """A practitioner of the item's care team (ordering, rendering ...), or the requesting provider."""

    name: str
    role: str | None = Field(description="the care-team role as sent (display or code), or 'requesting provider'")


class DocumentView(BaseModel):
    """A document asked of the provider: LOINC type and its name, what it must show, X12 755 report type."""

    loinc: str
    description: str
    report_type: str
    display: str | None = None


class CriterionView(BaseModel):
    """One line of an item's criteria checklist, read from its rule trace."""

    kind: Literal["condition", "document", "quantity", "benefit_limit", "coverage"]
    id: str = Field(description="condition id, LOINC code, max_quantity, benefit limit id or coverage reason kind")
    description: str = Field(description="the rule's plain-language words; the expression when the rule changed")
    status: Literal["met", "not met", "missing", "present"] = Field(
        description="missing: the data was absent (the condition's if_missing applied) or the document not sent"
    )
    holds: bool = Field(description="whether the line counted as satisfied")
    rule: str | None = Field(description="the rule of the line; None for plan checks")
    deciding: bool = Field(description="whether that rule decided the item (others were tried before it)")
    value: Any = Field(None, description="what the engine saw: the expression's result, the quantity requested")
    expression: str | None = None


class ItemView(BaseModel):
    """One requested item: what was asked, its current result, and the rule, criteria and trace that explain it."""

    sequence: int
    service: Service
    quantity: float | None = None
    serviced_date: str | None = None
    serviced_period: ServicePeriod | None = None
    practitioners: list[Practitioner] = []
    review_action: str
    queue: str | None
    skills: list[str]
    review_priority: str
    reason: str | None
    reason_code: str | None
    # "administrative" (intake: coverage, plan exclusion) or "clinical" (a medical director) for a denied item.
    decision_kind: str | None = None
    authorized_quantity: float | None
    decided_by: str | None
    rule_id: str | None
    ruleset_version: str | None
    documents_requested: list[DocumentView]
    authorized_period: Period | None
    criteria: list[CriterionView] = []
    trace: list[dict[str, Any]]
    updated_at: datetime


class Identifier(BaseModel):
    """A Claim identifier."""

    system: str
    value: str


class Stay(BaseModel):
    """An inpatient stay under concurrent review: dates as YYYY-MM-DD, days counted as nights."""

    admitted_on: str
    discharged_on: str | None
    days_requested: int | None = Field(description="admission to the requested end or discharge; None: open")
    days_authorized: int | None
    days_used: int | None = Field(description="admission to discharge, once discharged")
    next_review_on: str | None = Field(description="the last authorized day, while the member is in hospital")


class CaseView(BaseModel):
    """A UM case."""

    id: str
    preauth_ref: str
    status: str
    priority: str
    received_at: datetime
    due_at: datetime
    updated_at: datetime
    claim_response_version: int
    queue: str | None
    required_skills: list[str]
    review_priority: str
    assignee: str | None
    near_breach: bool
    line_of_business: str | None
    review_type: str = Field(description="prospective, concurrent or retrospective")
    member_state: str | None
    escalation_note: str | None
    extension_reason: str | None
    p2p_at: datetime | None
    p2p_contact: str | None
    decided_at: datetime | None
    stay: Stay | None = Field(None, description="an inpatient admission's days (concurrent review)")
    identifiers: list[Identifier]
    items: list[ItemView]


class RuleProblemView(BaseModel):
    """A problem of a rule set."""

    file: str
    rule: str | None
    field: str | None
    reason: str
    severity: str


class RuleSetView(BaseModel):
    """The rule set in force."""

    version: str
    rules: int
    valuesets: int
    files: list[str]
    warnings: list[RuleProblemView]
    lines_of_business: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    administrative_reasons: dict[str, dict[str, str]] = {}


class ReloadResult(BaseModel):
    """What a reload did."""

    previous_version: str
    version: str
    changed: bool
    warnings: list[RuleProblemView]


class ReplayView(BaseModel):
    """A case evaluated under the rule set it was received under and under the current one."""

    case_id: str
    then_version: str | None
    now_version: str
    items: list[dict[str, Any]]


def _rules(request: Request) -> ActiveRules:
    active: ActiveRules = request.app.state.rules
    return active


def _problems(problems: Any) -> list[RuleProblemView]:
    return [
        RuleProblemView(file=p.file, rule=p.rule, field=p.field, reason=p.reason, severity=p.severity) for p in problems
    ]


@router.get("/cases/{case_id}", responses={404: {"description": "No such case"}})
def get_case(case: CaseDep, session: SessionDep, context: ContextDep) -> CaseView:
    """A case with each item's outcome, the rule that decided it, the rule-set version, the criteria checklist and
    the condition trace; codes come with their descriptions."""
    return CaseView.model_validate(details.details(session, case.id, rule_set=context.rules))


@router.get("/cases/{case_id}/replay", responses={404: {"description": "No such case"}})
def replay_case(case: CaseDep, request: Request, session: SessionDep) -> ReplayView:
    """Evaluate a stored case under the rule set in force when it was received and under the current one."""
    result = replay.replay(session, case.id, current=_rules(request).current)
    assert result is not None  # the case exists
    return ReplayView(
        case_id=result.case_id, then_version=result.then_version, now_version=result.now_version, items=result.items
    )


@router.get("/admin/rules")
def current_rules(request: Request) -> RuleSetView:
    """The rule set in force: version, size and warnings."""
    rule_set = _rules(request).current
    return RuleSetView(
        version=rule_set.version,
        rules=len(rule_set.rules),
        valuesets=len(rule_set.valuesets),
        files=sorted(rule_set.files),
        warnings=_problems(rule_set.warnings),
        lines_of_business=[line.model_dump() for line in rule_set.plans.lines_of_business.values()],
        plans=[plan.plan.model_dump(by_alias=True, exclude_defaults=True) for plan in rule_set.plans.plans.values()],
        administrative_reasons={kind: r.model_dump() for kind, r in rule_set.plans.reasons.items()},
    )


@router.post("/admin/rules/reload", responses={422: {"description": "The new rule set is invalid; the old one stays"}})
def reload_rules(request: Request, session: SessionDep, context: ContextDep) -> ReloadResult:
    """Load the rule files again and swap the whole set in; an invalid set is refused and the old one stays."""
    old, new = _rules(request).reload()  # RuleSetError (422, every problem) leaves the old set in force
    # Every other worker switches to this version within a few seconds (RulesFollower).
    rule_sets.activate(session, new, now=context.now)
    return ReloadResult(
        previous_version=old.version,
        version=new.version,
        changed=old.version != new.version,
        warnings=_problems(new.warnings),
    )


@router.get("/reviewers")
def list_reviewers(session: SessionDep) -> list[dict[str, Any]]:
    """Every reviewer with skills, licensed states, capacity, availability and open cases."""
    return [staff.reviewer_view(r, routing.open_count(session, r.id)) for r in staff.reviewers(session)]


@router.put("/reviewers/{reviewer_id}", responses={422: {"description": "Invalid reviewer"}})
def save_reviewer(reviewer_id: str, body: ReviewerSpec, session: SessionDep) -> dict[str, Any]:
    """Create or replace a reviewer (the id in the path and body must agree)."""
    if body.id != reviewer_id:
        raise Unprocessable("the reviewer id in the path and the body differ", "id")
    reviewer = staff.save_reviewer(session, body)
    return staff.reviewer_view(reviewer, routing.open_count(session, reviewer.id))


class Availability(BaseModel):
    """A change of availability or capacity."""

    available: bool | None = None
    capacity: int | None = None


@router.patch("/reviewers/{reviewer_id}", responses={404: {"description": "No such reviewer"}})
def update_reviewer(reviewer_id: str, body: Availability, session: SessionDep) -> dict[str, Any]:
    """Mark a reviewer (un)available or change their capacity."""
    reviewer = session.get(Reviewer, reviewer_id)
    if reviewer is None:
        raise NotFound(f"reviewer {reviewer_id} not found")
    if body.available is not None:
        reviewer.available = body.available
    if body.capacity is not None:
        reviewer.capacity = body.capacity
    return staff.reviewer_view(reviewer, routing.open_count(session, reviewer.id))


@router.get("/queues")
def list_queues(session: SessionDep) -> list[dict[str, Any]]:
    """Every work queue and the skills it needs."""
    return [staff.queue_view(q) for q in staff.queues(session)]


@router.put("/queues/{name}", responses={422: {"description": "Invalid queue"}})
def save_queue(name: str, body: QueueSpec, session: SessionDep) -> dict[str, Any]:
    """Create or replace a work queue."""
    if body.name != name:
        raise Unprocessable("the queue name in the path and the body differ", "name")
    queue: WorkQueue = staff.save_queue(session, body)
    return staff.queue_view(queue)


@router.post("/admin/clocks/sweep")
def sweep_clocks(session: SessionDep, context: ContextDep) -> dict[str, int]:
    """Flag open cases near breach and make them urgent (the dispatcher also does this periodically)."""
    return {"flagged": clocks.sweep(session, context=context)}


@router.get("/admin/outbox")
def outbox(session: SessionDep, status: str | None = None) -> list[dict[str, Any]]:
    """Notifications waiting, sent or failed: attempts, next attempt, last error (for operators)."""
    from sqlalchemy import select

    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    if status:
        statement = statement.where(OutboxMessage.status == status)
    return [
        {
            "id": m.id,
            "subscription_id": m.subscription_id,
            "kind": m.kind,
            "case_id": m.case_id,
            "status": m.status,
            "attempts": m.attempts,
            "next_attempt_at": m.next_attempt_at,
            "last_error": m.last_error,
            "sent_at": m.sent_at,
        }
        for m in session.scalars(statement)
    ]
