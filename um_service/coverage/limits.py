"""Benefit limits: units of a service family per benefit period, counted across lines and earlier approvals.

A limit counts the request's lines of the limit's services (in sequence order) on top of what the member's earlier
authorizations already approved in the same benefit period (other cases; authorized quantity, else the quantity
requested, else 1). An approval that would take the total past the limit pends to the approving rule's fallback
queue with a note saying so; a limit never denies. Items pended for other reasons still count (they may be approved),
items not certified and items that need no authorization do not.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import CaseItem, CaseParty, MemberCoverage
from ..decision import DEFAULT_QUEUE, ItemOutcome, service_date
from ..decision.plans import CompiledLimit, CompiledPlan
from ..fhir.codes import ReviewAction
from ..fhir.elements import as_dict
from ..fhir.pas_request import RequestedItem

APPROVED = (ReviewAction.CERTIFIED, ReviewAction.PARTIAL, ReviewAction.MODIFIED)
_COUNTED = {ReviewAction.CERTIFIED, ReviewAction.PENDED}
Period = tuple[dt.date, dt.date]


def apply(
    session: Session,
    *,
    plan: CompiledPlan,
    items: Sequence[RequestedItem],
    outcomes: Mapping[int, ItemOutcome],
    member_ids: Iterable[str],
    coverages: Sequence[MemberCoverage],
    received: dt.date,
    case_id: str | None,
) -> dict[int, ItemOutcome]:
    """The outcomes with every approval past one of the plan's limits turned into a pend with a note."""
    result = dict(outcomes)
    members = sorted(set(member_ids))
    for limit in plan.limits:
        periods: dict[Period, list[RequestedItem]] = defaultdict(list)
        for item in sorted(items, key=lambda i: i.sequence):
            outcome = result.get(item.sequence)
            if outcome is not None and outcome.action in _COUNTED and limit.counts(item.product_codes):
                periods[_period(limit, _first_date(item.element) or received, coverages)].append(item)
        for period, counted in sorted(periods.items()):
            earlier = _approved_before(session, limit, members, period, case_id) if members else 0.0
            total = earlier
            for item in counted:
                total += quantity(item.element)
                outcome = result[item.sequence]
                if total > limit.limit.quantity and outcome.action == ReviewAction.CERTIFIED:
                    result[item.sequence] = _pend(outcome, plan, limit, period, earlier, counted, item)
    return result


def quantity(element: Mapping[str, object]) -> float:
    """The units an item asks for (Claim.item.quantity.value, 1 when absent)."""
    value = as_dict(element.get("quantity")).get("value")
    return float(value) if isinstance(value, (int, float)) and value > 0 else 1.0


def _pend(
    outcome: ItemOutcome,
    plan: CompiledPlan,
    limit: CompiledLimit,
    period: Period,
    earlier: float,
    counted: list[RequestedItem],
    item: RequestedItem,
) -> ItemOutcome:
    upto = [i for i in counted if i.sequence <= item.sequence]
    requested = sum(quantity(i.element) for i in upto)
    lines = ", ".join(str(i.sequence) for i in upto)
    note = (
        f"Benefit limit reached: {limit.limit.description} (plan {plan.plan.id}, {period[0]} to {period[1]}). "
        f"{earlier:g} approved before in this period and {requested:g} requested on line(s) {lines} come to "
        f"{earlier + requested:g}, over {limit.limit.quantity:g}. A nurse reviews what remains of the benefit."
    )
    step = {
        "limit": limit.limit.id,
        "plan": plan.plan.id,
        "period": [period[0].isoformat(), period[1].isoformat()],
        "approved_before": earlier,
        "requested": requested,
        "quantity": limit.limit.quantity,
        "holds": False,
    }
    return replace(
        outcome,
        action=ReviewAction.PENDED,
        queue=outcome.fallback_queue or DEFAULT_QUEUE,
        reason=note,
        authorized_period=None,
        trace=(*outcome.trace, step),
    )


def _period(limit: CompiledLimit, day: dt.date, coverages: Sequence[MemberCoverage]) -> Period:
    if limit.limit.period == "coverage_period":
        for coverage in coverages:
            start = dt.date.fromisoformat(coverage.start)
            end = dt.date.fromisoformat(coverage.end) if coverage.end else dt.date(day.year, 12, 31)
            if start <= day <= end:
                return start, end
    return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)


def _first_date(element: dict[str, Any]) -> dt.date | None:
    """The item's service date (decision.service_date), as a date; None when absent or unreadable."""
    text = service_date(element)
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _approved_before(
    session: Session, limit: CompiledLimit, member_ids: list[str], period: Period, case_id: str | None
) -> float:
    """Units of this limit's services the member's other cases have approved with a date in the period."""
    cases = select(CaseParty.case_id).where(CaseParty.role == "member", CaseParty.value.in_(member_ids))
    statement = select(
        CaseItem.product_system,
        CaseItem.product_code,
        CaseItem.authorized_quantity,
        CaseItem.authorized_start,
        CaseItem.element,
    ).where(CaseItem.case_id.in_(cases), CaseItem.review_action.in_(APPROVED))
    if case_id is not None:
        statement = statement.where(CaseItem.case_id != case_id)
    total = 0.0
    for system, code, authorized, start, element in session.execute(statement):
        if not limit.coverage.covers(system, code):
            continue
        day = dt.date.fromisoformat(start) if start else _first_date(element)
        if day is None or not period[0] <= day <= period[1]:
            continue
        total += authorized if authorized else quantity(element)
    return total
