"""The work list: cases by due time with the counts a UM team watches, found by queue, state, holder, review type or
a search (authorization number, member id, patient name); open cases by default, decided and closed ones on request;
and the inpatient stays still running by their next review date (case/stays.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ..case import review_types
from ..case.status import OPEN, CaseStatus
from ..db.models import Case, is_open
from ..decision import RuleSet
from ..terminology import coded
from .routing import skills_of

Scope = Literal["open", "closed", "all"]
Sort = Literal["due", "received", "updated"]
_ORDER = {
    "due": (Case.due_at, Case.id),
    "received": (Case.received_at.desc(), Case.id),
    "updated": (Case.updated_at.desc(), Case.id),
}


@dataclass(frozen=True)
class WorkListFilter:
    """What a work list shows."""

    queue: str | None = None
    status: CaseStatus | None = None
    assignee: str | None = None
    overdue: bool | None = None
    limit: int = 100
    review_type: str | None = None
    scope: Scope = "open"
    search: str | None = None
    sort: Sort = "due"


def _selected(filters: WorkListFilter, now: dt.datetime) -> Select[Case]:
    statement = select(Case)
    if filters.scope == "open":
        statement = statement.where(is_open())
    elif filters.scope == "closed":
        statement = statement.where(~is_open())
    for column, value in (
        (Case.queue, filters.queue),
        (Case.status, filters.status),
        (Case.assignee, filters.assignee),
    ):
        if value:
            statement = statement.where(column == value)
    if filters.review_type:
        statement = statement.where(Case.review_type == filters.review_type)
    if filters.overdue is True:
        statement = statement.where(Case.due_at < now, is_open())
    if filters.search and filters.search.strip():
        text = filters.search.strip()
        statement = statement.where(
            or_(
                Case.preauth_ref == text.upper(),
                Case.member_id == text,
                Case.patient_name.ilike(f"%{_escaped(text)}%", escape="\\"),
            )
        )
    return statement


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def work_list(
    session: Session, filters: WorkListFilter, *, now: dt.datetime, rule_set: RuleSet | None = None
) -> dict[str, Any]:
    """The cases the filters select (soonest due first unless sorted otherwise), with counts of expedited, standard,
    overdue and near-breach ones; and the stays under concurrent review."""
    statement = _selected(filters, now)
    counted = statement.subquery()
    still_open = is_open(counted.c.status)
    counts = session.execute(
        select(
            func.count(),
            func.count().filter(counted.c.priority == "expedited"),
            func.count().filter(counted.c.priority == "standard"),
            func.count().filter(counted.c.due_at < now, still_open),
            func.count().filter(counted.c.near_breach.is_(True), still_open),
        ).select_from(counted)
    ).one()
    rows = session.scalars(statement.order_by(*_ORDER[filters.sort]).limit(filters.limit))
    return {
        "counts": {
            "total": counts[0],
            "expedited": counts[1],
            "standard": counts[2],
            "overdue": counts[3],
            "near_breach": counts[4],
        },
        "cases": [_row(c, now, rule_set) for c in rows],
        "stays": _stays(session, filters) if filters.review_type in (None, review_types.CONCURRENT) else [],
    }


def _row(case: Case, now: dt.datetime, rule_set: RuleSet | None) -> dict[str, Any]:
    undecided = CaseStatus(case.status) in OPEN
    services = [coded(*text.split("|", 1), rule_set=rule_set) for text in case.service_codes or [] if "|" in text]
    return {
        "id": case.id,
        "preauth_ref": case.preauth_ref,
        "status": case.status,
        "priority": case.priority,
        "review_priority": case.review_priority,
        "queue": case.queue,
        "review_type": case.review_type,
        "required_skills": sorted(skills_of(case.required_skills)),
        "assignee": case.assignee,
        "patient_name": case.patient_name,
        "member_id": case.member_id,
        "provider_name": case.provider_name,
        "services": [{"code": s["code"], "display": s["display"]} for s in services],
        "service_from": case.service_from,
        "received_at": case.received_at,
        "due_at": case.due_at,
        "decided_at": case.decided_at,
        "overdue": undecided and case.due_at < now,
        "near_breach": case.near_breach,
        "seconds_to_due": int((case.due_at - now).total_seconds()),
        "next_review_on": case.next_review_on,
    }


def _stays(session: Session, filters: WorkListFilter) -> list[dict[str, Any]]:
    """Stays with a next review date (case/stays.py), the soonest first."""
    statement = select(Case).where(Case.next_review_on.is_not(None), Case.status != CaseStatus.CANCELLED.value)
    if filters.assignee:
        statement = statement.where(Case.assignee == filters.assignee)
    rows = session.scalars(statement.order_by(Case.next_review_on, Case.id).limit(filters.limit))
    return [
        {
            "id": c.id,
            "preauth_ref": c.preauth_ref,
            "status": c.status,
            "patient_name": c.patient_name,
            "admitted_on": c.admitted_on,
            "next_review_on": c.next_review_on,
            "days_requested": c.days_requested,
            "days_authorized": c.days_authorized,
            "assignee": c.assignee,
        }
        for c in rows
    ]
