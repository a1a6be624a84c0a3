"""Eligibility and benefits at intake: who the member is, which plan and line of business, what is administrative.

`look_up` finds the member in the registry (one query). `decide` runs the rules with the member's line of
business and plan, then overrides what is administrative: an item whose service dates no active coverage spans,
or whose service the plan excludes, is not certified (A3, kind administrative, the plan pack's X12 886 reason)
and never reaches a nurse. Benefit limits (limits.py) turn approvals past a limit into pends with a note.

Coverage dates and exclusions are checked only when the registry is in use (it holds members, or
UM_ELIGIBILITY=required); limits whenever the member's plan is known (registry, else the request's Coverage.class).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import decision
from ..context import RequestContext
from ..db.models import MemberCoverage
from ..decision import ItemOutcome
from ..decision.plans import COVERAGE_INACTIVE, NOT_COVERED, CompiledPlan, PlanBook
from ..fhir.codes import ReviewAction
from ..fhir.elements import as_dict
from ..fhir.pas_request import PasRequest, RequestedItem
from . import limits, registry

ADMINISTRATIVE = "administrative"
_ACTIVE = {"active"}


@dataclass(frozen=True)
class Membership:
    """What the registry says of a request's member (in_use False: the registry is not consulted)."""

    in_use: bool
    member_id: str | None
    coverages: tuple[MemberCoverage, ...]
    line_of_business: str | None
    plan: str | None

    @property
    def unknown(self) -> bool:
        """The registry is in use and knows none of the request's member ids."""
        return self.in_use and self.member_id is None

    @property
    def member_ids(self) -> frozenset[str]:
        """The ids earlier authorizations are counted under for limits."""
        return frozenset({self.member_id}) if self.member_id else frozenset()


def look_up(session: Session, request: PasRequest, context: RequestContext, *, on: dt.date) -> Membership:
    """The member, their coverages, plan and line of business, as known on `on` (the request's first date)."""
    parties = request.parties
    in_use = context.eligibility == "required" or (context.eligibility == "auto" and registry.has_members(session))
    member_id, coverages = registry.coverages_of(session, parties.member_ids) if in_use else (None, [])
    book = context.rules.plans
    current = _coverage_on(coverages, [on]) or (coverages[-1] if coverages else None)
    if current is not None:
        plan, types = current.plan, [current.type_code] if current.type_code else []
    else:
        plan, types = parties.plan, parties.coverage_types
    return Membership(in_use, member_id, tuple(coverages), book.line_of_business(plan, types), plan)


def decide_again(
    session: Session, request: PasRequest, context: RequestContext, *, received: dt.datetime, case_id: str
) -> dict[int, ItemOutcome]:
    """The outcomes of a stored case's items decided again (a Claim Update, documents arriving): the member as known
    on the request's first date, the rules as of the case's receipt."""
    membership = look_up(session, request, context, on=first_day(request, received.date()))
    return decide(session, request, membership, context, received=received, case_id=case_id)


def decide(
    session: Session,
    request: PasRequest,
    membership: Membership,
    context: RequestContext,
    *,
    received: dt.datetime,
    case_id: str | None = None,
) -> dict[int, ItemOutcome]:
    """The rules' outcome of every item, with coverage, exclusions and benefit limits applied."""
    plans = frozenset({membership.plan}) if membership.plan else frozenset()
    outcomes = decision.decide(
        request,
        rule_set=context.rules,
        received=received,
        line_of_business=membership.line_of_business,
        plans=plans,
    )
    book = context.rules.plans
    if membership.in_use and membership.member_id is not None:
        for item in request.items:
            if item.sequence in outcomes:
                refused = _administrative(item, membership, book, received.date())
                if refused is not None:
                    outcomes[item.sequence] = refused
    plan = book.plans.get(membership.plan or "")
    if plan is not None and plan.limits:
        member_ids = membership.member_ids or request.parties.member_ids
        outcomes = limits.apply(
            session,
            plan=plan,
            items=request.items,
            outcomes=outcomes,
            member_ids=member_ids,
            coverages=membership.coverages,
            received=received.date(),
            case_id=case_id,
        )
    return outcomes


def first_day(request: PasRequest, default: dt.date) -> dt.date:
    """The earliest service date of the request's items (`default` when none gives one)."""
    return min((min(item_dates(i, default)) for i in request.items), default=default)


def item_dates(item: RequestedItem, default: dt.date) -> list[dt.date]:
    """The dates an item's service falls on that coverage must span: its date, or its period's two ends."""
    element = item.element
    found = []
    if isinstance(element.get("servicedDate"), str):
        found.append(element["servicedDate"])
    period = as_dict(element.get("servicedPeriod"))
    found += [period[key] for key in ("start", "end") if isinstance(period.get(key), str)]
    dates = []
    for text in found:
        try:
            dates.append(dt.date.fromisoformat(text[:10]))
        except ValueError:
            continue
    return dates or [default]


def _administrative(
    item: RequestedItem, membership: Membership, book: PlanBook, received: dt.date
) -> ItemOutcome | None:
    dates = item_dates(item, received)
    coverage = _coverage_on(membership.coverages, dates)
    if coverage is None:
        return _not_certified(item, book, COVERAGE_INACTIVE, _why_inactive(membership.coverages, dates))
    plan = book.plans.get(coverage.plan or "")
    exclusion = plan.excluded(item.product_codes) if plan is not None else None
    if plan is None or exclusion is None:
        return None
    return _not_certified(
        item,
        book,
        NOT_COVERED,
        f"Not a covered benefit of plan {_plan_name(plan)}: {exclusion.description}.",
    )


def _not_certified(item: RequestedItem, book: PlanBook, kind: str, text: str) -> ItemOutcome:
    reason = book.reason(kind)
    return ItemOutcome(
        item.sequence,
        ReviewAction.NOT_CERTIFIED,
        None,
        text,
        kind=ADMINISTRATIVE,
        reason_code=reason.code if reason else None,
        trace=({"administrative": kind, "reason": text},),
    )


def _coverage_on(
    coverages: tuple[MemberCoverage, ...] | list[MemberCoverage], dates: list[dt.date]
) -> MemberCoverage | None:
    """The active coverage spanning every one of the dates, if any."""
    for coverage in coverages:
        if coverage.status not in _ACTIVE:
            continue
        start = dt.date.fromisoformat(coverage.start)
        end = dt.date.fromisoformat(coverage.end) if coverage.end else dt.date.max
        if all(start <= day <= end for day in dates):
            return coverage
    return None


def _why_inactive(coverages: tuple[MemberCoverage, ...], dates: list[dt.date]) -> str:
    """Plain words for a provider: which coverage ended or begins when, and the date requested."""
    asked = " to ".join(sorted({d.isoformat() for d in dates}))
    active = [c for c in coverages if c.status in _ACTIVE]
    first = min(dates)
    ended = [c for c in active if c.end and c.end < max(dates).isoformat() and c.start <= first.isoformat()]
    later = [c for c in active if c.start > first.isoformat()]
    if ended:
        last = max(ended, key=lambda c: c.end or "")
        return f"Coverage ended {last.end}; service requested for {asked}."
    if later:
        upcoming = min(later, key=lambda c: c.start)
        return f"Coverage begins {upcoming.start}; service requested for {asked}."
    if coverages:
        states = ", ".join(sorted({c.status for c in coverages}))
        return f"No active coverage on {asked} (coverage status: {states})."
    return f"No coverage on record for {asked}."


def _plan_name(plan: CompiledPlan) -> str:
    return f"{plan.plan.name} ({plan.plan.id})" if plan.plan.name != plan.plan.id else plan.plan.id
