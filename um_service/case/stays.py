"""Concurrent review of an inpatient stay: the initial length of stay, continued-stay updates, the discharge.

An admission request (fhir.admission: admission dates and an AR or inpatient item) opens a concurrent case. A rule
that approves a stay says how many days (`stay_days`) it approves at first: the dates authorized run from the
admission for that many days (nights), in full when no more were asked (A1), else approved with changes (A6, with
its notices). The last authorized day is the case's next review date.

A continued stay arrives as a PAS Claim Update with later dates (or a discharge). Days past the authorized end are
approved by automation when the rule's `extend_days` covers them; otherwise the item pends to the concurrent-review
queue on its own clock (24 hours, `concurrent_hours` per line of business). A discharge within the authorized dates
closes the authorization there and records the days used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..db.models import Case, CaseItem
from ..decision import ItemOutcome
from ..fhir.admission import Admission
from ..fhir.codes import ReviewAction

CONCURRENT_QUEUE = "concurrent-review"
CONCURRENT_HOURS = 24
_SKILLS = ("inpatient",)
_AUTHORIZED = (ReviewAction.CERTIFIED, ReviewAction.MODIFIED)


def due(now: dt.datetime, line_of_business: str | None, overrides: Mapping[str, Mapping[str, int]]) -> dt.datetime:
    """When a continued-stay review is due: `concurrent_hours` of the line of business, else 24 hours."""
    hours = overrides.get(line_of_business or "", {}).get("concurrent_hours", CONCURRENT_HOURS)
    return now + dt.timedelta(hours=hours)


def record(case: Case, admission: Admission) -> bool:
    """Write the admission's dates on the case; whether the stay the request asks for changed."""
    discharged = admission.discharged.isoformat() if admission.discharged else None
    before = (case.admitted_on, case.days_requested, case.discharged_on)
    case.admitted_on = admission.start.isoformat()
    if admission.end is not None or case.days_requested is None:
        case.days_requested = admission.days_requested  # a discharge alone does not change what was asked
    case.discharged_on = discharged
    if admission.discharged is not None:
        case.days_used = (admission.discharged - admission.start).days
    return before != (case.admitted_on, case.days_requested, case.discharged_on)


def admit(admission: Admission, outcomes: dict[int, ItemOutcome]) -> dict[int, ItemOutcome]:
    """The outcomes of a new admission's items, with the initial length of stay on the stay's approvals."""
    return {seq: _initial(o, admission) if seq in admission.items else o for seq, o in outcomes.items()}


def continue_stay(
    admission: Admission, outcomes: dict[int, ItemOutcome], rows: Mapping[int, CaseItem]
) -> dict[int, ItemOutcome]:
    """The outcomes of a stay's items on a continued-stay update or discharge, against what is authorized."""
    decided = dict(outcomes)
    for seq in admission.items & outcomes.keys():
        row = rows.get(seq)
        authorized = row.authorized_end if row is not None and row.review_action in _AUTHORIZED else None
        if authorized is None:
            decided[seq] = _initial(outcomes[seq], admission)
        else:
            decided[seq] = _continued(outcomes[seq], admission, dt.date.fromisoformat(authorized))
    return decided


def _initial(outcome: ItemOutcome, admission: Admission) -> ItemOutcome:
    if outcome.action is not ReviewAction.CERTIFIED:
        return outcome
    start, last = admission.start, admission.last_day
    requested = None if last is None else (last - start).days
    if outcome.stay_days is None:
        if last is None:
            return _pend(
                outcome, f"An open admission needs a length of stay the rule does not give ({_rule(outcome)})."
            )
        return replace(outcome, authorized_period=(start.isoformat(), last.isoformat()))
    granted = outcome.stay_days if requested is None else min(requested, outcome.stay_days)
    end = start + dt.timedelta(days=granted)
    period = (start.isoformat(), end.isoformat())
    if requested is not None and granted < requested:
        reason = (
            f"Initial stay of {granted} of the {requested} days requested approved, {period[0]} to {period[1]} "
            f"({_rule(outcome)}). The rest is reviewed as the stay goes on: send a Claim Update with the new dates "
            f"by {period[1]}."
        )
        return replace(outcome, action=ReviewAction.MODIFIED, authorized_period=period, reason=reason)
    reason = f"Stay of {granted} days approved, {period[0]} to {period[1]} ({_rule(outcome)})." + _next(admission, end)
    return replace(outcome, authorized_period=period, reason=reason)


def _continued(outcome: ItemOutcome, admission: Admission, authorized: dt.date) -> ItemOutcome:
    if outcome.action not in (ReviewAction.CERTIFIED, ReviewAction.PENDED):
        return outcome  # not covered, cancelled, no authorization needed: what intake and the rules said stands
    start, last = admission.start, admission.last_day
    if last is None or last <= authorized:
        end = admission.discharged or authorized
        period = (start.isoformat(), end.isoformat())
        if admission.discharged is not None:
            used = (admission.discharged - start).days
            reason = f"Discharged {end.isoformat()}: {used} days used; the authorization closes on that day."
        else:
            reason = f"Stay authorized {period[0]} to {period[1]}." + _next(admission, end)
        return replace(outcome, action=ReviewAction.CERTIFIED, queue=None, authorized_period=period, reason=reason)
    extra = (last - authorized).days
    if outcome.action is ReviewAction.CERTIFIED and outcome.extend_days is not None and extra <= outcome.extend_days:
        period = (start.isoformat(), last.isoformat())
        reason = f"Continued stay: {extra} more days approved, to {period[1]} ({_rule(outcome)})." + _next(
            admission, last
        )
        return replace(outcome, authorized_period=period, reason=reason)
    limit = f" (automation extends by at most {outcome.extend_days} days)" if outcome.extend_days else ""
    return _pend(
        outcome,
        f"Continued stay to {last.isoformat()}: {extra} days past the {authorized.isoformat()} authorized need "
        f"concurrent review{limit}. The stay remains authorized to {authorized.isoformat()}.",
    )


def _pend(outcome: ItemOutcome, reason: str) -> ItemOutcome:
    return replace(
        outcome,
        action=ReviewAction.PENDED,
        queue=CONCURRENT_QUEUE,
        skills=_SKILLS,
        review_priority="urgent",
        authorized_period=None,
        reason=reason,
    )


def _next(admission: Admission, end: dt.date) -> str:
    if admission.discharged is not None:
        return ""
    return f" Next review {end.isoformat()}: send a Claim Update with new dates to extend the stay."


def _rule(outcome: ItemOutcome) -> str:
    return outcome.rule_id or "rules"


def refresh(case: Case, items: Iterable[CaseItem]) -> None:
    """Days authorized and the next review date, from the stay's authorized items (those authorized from the
    admission day). A pended extension leaves both as they were: the stay stays authorized to its last end."""
    if case.admitted_on is None:
        return
    ends = [
        dt.date.fromisoformat(item.authorized_end)
        for item in items
        if item.review_action in _AUTHORIZED and item.authorized_start == case.admitted_on and item.authorized_end
    ]
    if ends:
        last = max(ends)
        case.days_authorized = (last - dt.date.fromisoformat(case.admitted_on)).days
        case.next_review_on = last.isoformat()
    if case.discharged_on is not None or case.status == "cancelled":
        case.next_review_on = None


def requested_period(case: Case) -> tuple[str | None, str | None] | None:
    """The stay a concurrent case's request asks for (admission to requested end), or None for other cases."""
    if case.admitted_on is None:
        return None
    if case.days_requested is None:
        return case.admitted_on, None
    end = dt.date.fromisoformat(case.admitted_on) + dt.timedelta(days=case.days_requested)
    return case.admitted_on, end.isoformat()
