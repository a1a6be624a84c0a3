"""The UM lead's dashboard: figures for a period of whole UTC days up to now, read from the case store with SQL
aggregates bounded by the period (reports/dashboard_charts.py draws them).

- **Received**: requests (cases) received per day, and per queue they sit in now (escalations sit in the medical
  directors' queue; requests no person reviews have none).
- **Automation**: per day, the items decided (A1, A2, A3, A6, NA) that day, and how many of them the rules decided
  (A1 or NA by automation); an item's day is its last change.
- **Results**: the items of the requests received in the period, by where they stand now: approved, approved with
  changes, not certified (clinical, by a medical director, or administrative, at intake), no authorization needed,
  still pended, cancelled.
- **Time to decision**: requests decided in the period, per priority: the share decided by their due time (72 hours
  expedited, 7 days standard, or the line of business's own clock, moved by an extension), median and 90th percentile
  (nearest rank) hours from receipt, and a histogram. Requests that needed no authorization and retrospective
  reviews (their own 30-day clock) are left out, as in the CMS figures.
- **Open now**: open cases, those past due, and those not yet due but near breach (flagged by the clock, or due
  within 24 hours).
- **Reviewers**: decisions per reviewer in the period, from the audit trail (the actions team_metrics counts).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, literal_column, or_, select
from sqlalchemy.orm import Session

from ..case.records import AUTOMATION
from ..case.review_types import RETROSPECTIVE
from ..case.status import CaseStatus
from ..db.models import AuditEvent, Case, CaseItem, is_open
from . import team_metrics

NO_QUEUE = "no review"
DECIDED = ("A1", "A2", "A3", "A6", "NA")
RESULTS = {
    "approved": "Approved (A1)",
    "approved_with_changes": "Approved with changes (A6, A2)",
    "denied_clinical": "Denied, clinical (A3)",
    "denied_administrative": "Denied, administrative (A3)",
    "not_required": "No authorization needed (NA)",
    "pended": "Pended, still open (A4)",
    "cancelled": "Cancelled (C)",
}
_RESULT_OF_ACTION = {
    "A1": "approved",
    "A2": "approved_with_changes",
    "A6": "approved_with_changes",
    "NA": "not_required",
}
_RESULT_OF_ACTION |= {"A4": "pended", "C": "cancelled"}
CLOCK_HOURS = {"expedited": 72, "standard": 168}
# Upper bounds (hours) of the time-to-decision histogram's bins; the last bin is open.
BINS = (1, 24, 48, 72, 120, 168)
NEAR = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Period:
    """Whole UTC days: from midnight of the first to `end` (now)."""

    start: dt.datetime
    end: dt.datetime
    dates: tuple[dt.date, ...]

    @classmethod
    def ending(cls, now: dt.datetime, days: int) -> Period:
        """The `days` calendar days (UTC) up to and including `now`'s."""
        today = now.astimezone(dt.UTC).date()
        dates = tuple(today - dt.timedelta(days=n) for n in range(days - 1, -1, -1))
        return cls(dt.datetime.combine(dates[0], dt.time(), dt.UTC), now, dates)

    def holds(self, column: Any) -> ColumnElement[bool]:
        """The WHERE condition keeping a timestamp column inside the period."""
        return and_(column >= self.start, column <= self.end)

    def index(self, day: Any) -> int:
        """The position of a day the database returned (a date, or ISO text on SQLite)."""
        return self.dates.index(dt.date.fromisoformat(str(day)[:10]))


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    """A timestamp column's UTC calendar day in the session's SQL, for GROUP BY."""
    if session.get_bind().dialect.name == "postgresql":
        # timestamptz at UTC, whatever the connection's TimeZone; a literal, so SELECT and GROUP BY match.
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    return func.date(column)  # SQLite keeps UTC wall time as text: 'YYYY-MM-DD HH:MM:SS.ffffff'


def figures(session: Session, *, now: dt.datetime, days: int = 30) -> dict[str, Any]:
    """The dashboard's figures for the `days` calendar days (UTC) up to `now`, as plain data."""
    period = Period.ending(now, days)
    return {
        "at": now.isoformat(),
        "period": {
            "days": days,
            "start": period.start.isoformat(),
            "end": now.isoformat(),
            "dates": [d.isoformat() for d in period.dates],
        },
        "open": _open_now(session, now=now),
        "received": _received(session, period),
        "automation": _automation(session, period),
        "results": _results(session, period),
        "time_to_decision": _time_to_decision(session, period),
        "reviewers": _reviewers(session, period),
    }


def _open_now(session: Session, *, now: dt.datetime) -> dict[str, int]:
    near = and_(Case.due_at >= now, or_(Case.near_breach.is_(True), Case.due_at < now + NEAR))
    total, overdue, near_breach = session.execute(
        select(
            func.count(),
            func.sum(case((Case.due_at < now, 1), else_=0)),
            func.sum(case((near, 1), else_=0)),
        ).where(is_open())
    ).one()
    return {"open": int(total), "overdue": int(overdue or 0), "near_breach": int(near_breach or 0)}


def _received(session: Session, period: Period) -> dict[str, Any]:
    day = _day(session, Case.received_at)
    by_day = [0] * len(period.dates)
    by_queue: dict[str, int] = {}
    rows = session.execute(
        select(day, Case.queue, func.count()).where(period.holds(Case.received_at)).group_by(day, Case.queue)
    )
    for when, queue, count in rows:
        by_day[period.index(when)] += count
        by_queue[queue or NO_QUEUE] = by_queue.get(queue or NO_QUEUE, 0) + count
    ordered = sorted(by_queue.items(), key=lambda pair: (-pair[1], pair[0]))
    return {"total": sum(by_day), "by_day": by_day, "by_queue": dict(ordered)}


def _automation(session: Session, period: Period) -> dict[str, Any]:
    day = _day(session, CaseItem.updated_at)
    automated = and_(CaseItem.decided_by == AUTOMATION, CaseItem.review_action.in_(["A1", "NA"]))
    decided, by_rules = [0] * len(period.dates), [0] * len(period.dates)
    rows = session.execute(
        select(day, func.count(), func.sum(case((automated, 1), else_=0)))
        .where(CaseItem.review_action.in_(DECIDED), period.holds(CaseItem.updated_at))
        .group_by(day)
    )
    for when, count, automatic in rows:
        decided[period.index(when)], by_rules[period.index(when)] = count, int(automatic or 0)
    return {
        "decided": sum(decided),
        "automated": sum(by_rules),
        "rate": _share(sum(by_rules), sum(decided)),
        "decided_by_day": decided,
        "automated_by_day": by_rules,
        "rate_by_day": [_share(a, d) for a, d in zip(by_rules, decided, strict=True)],
    }


def _results(session: Session, period: Period) -> dict[str, int]:
    found = dict.fromkeys(RESULTS, 0)
    rows = session.execute(
        select(CaseItem.review_action, CaseItem.decision_kind, func.count())
        .join(Case, Case.id == CaseItem.case_id)
        .where(period.holds(Case.received_at))
        .group_by(CaseItem.review_action, CaseItem.decision_kind)
    )
    for action, kind, count in rows:
        if action == "A3":
            result = "denied_administrative" if kind == "administrative" else "denied_clinical"
        else:
            result = _RESULT_OF_ACTION.get(action, "pended")  # CT (contact the payer): still to settle
        found[result] += count
    return found


def _time_to_decision(session: Session, period: Period) -> dict[str, Any]:
    rows = session.execute(
        select(Case.priority, Case.received_at, Case.decided_at, Case.due_at).where(
            Case.decided_at.is_not(None),
            period.holds(Case.decided_at),
            Case.review_type != RETROSPECTIVE,
            Case.status != CaseStatus.NOT_REQUIRED,
        )
    ).all()
    found = {}
    for priority, clock in CLOCK_HOURS.items():
        decided = [(d - r, d <= due) for p, r, d, due in rows if p == priority and d is not None]
        hours = sorted(round(delay.total_seconds() / 3600, 2) for delay, _ in decided)
        within = sum(on_time for _, on_time in decided)
        histogram = [0] * (len(BINS) + 1)
        for value in hours:
            histogram[next((i for i, bound in enumerate(BINS) if value < bound), len(BINS))] += 1
        found[priority] = {
            "clock_hours": clock,
            "decided": len(hours),
            "within_clock": within,
            "share_within_clock": _share(within, len(hours)),
            "median_hours": round(statistics.median(hours), 2) if hours else None,
            "p90_hours": hours[math.ceil(0.9 * len(hours)) - 1] if hours else None,
            "histogram": histogram,
        }
    return {"bins": bin_labels(), **found}


def bin_labels() -> list[str]:
    """The histogram's bins, as labels (hours)."""
    edges = (0, *BINS)
    return [f"{low}-{high}" for low, high in itertools.pairwise(edges)] + [f"{BINS[-1]}+"]


def _reviewers(session: Session, period: Period) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditEvent.actor, AuditEvent.role, AuditEvent.action, func.count())
        .where(AuditEvent.action.in_(team_metrics.DECISIONS), period.holds(AuditEvent.at))
        .group_by(AuditEvent.actor, AuditEvent.role, AuditEvent.action)
    )
    found: dict[str, dict[str, Any]] = {}
    for actor, role, action, count in rows:
        entry = found.setdefault(actor, {"reviewer": actor, "role": role, "decisions": 0, "by_action": {}})
        entry["decisions"] += count
        entry["by_action"][action] = entry["by_action"].get(action, 0) + count
    return sorted(found.values(), key=lambda e: (-e["decisions"], e["reviewer"]))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
