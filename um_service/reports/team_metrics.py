"""Operational figures for the UM team (work in hand, clocks, automation, speed, throughput), read from the case
store at the moment they are asked for; also rendered as Prometheus metrics."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import AuditEvent, Case, CaseItem, is_open

DECISIONS = ("approved", "denied", "p2p overturned", "appeal approved", "appeal upheld", "info requested", "escalated")
WINDOW = dt.timedelta(days=30)


def snapshot(session: Session, *, now: dt.datetime) -> dict[str, Any]:
    """The figures, as plain data."""
    per_queue = dict(session.execute(select(Case.queue, func.count()).where(is_open()).group_by(Case.queue)).all())
    per_type = dict(
        session.execute(select(Case.review_type, func.count()).where(is_open()).group_by(Case.review_type)).all()
    )
    overdue = session.scalar(select(func.count()).select_from(Case).where(is_open(), Case.due_at < now)) or 0
    near_due = (
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(is_open(), Case.due_at >= now, Case.due_at < now + dt.timedelta(hours=24))
        )
        or 0
    )
    decided = session.execute(
        select(CaseItem.review_action, CaseItem.decided_by, CaseItem.decision_kind).where(
            CaseItem.review_action.in_(["A1", "A2", "A3", "A6"]), CaseItem.updated_at >= now - WINDOW
        )
    ).all()
    automatic = sum(1 for action, by, _ in decided if action == "A1" and by == "automation")
    denials = Counter(kind or "clinical" for action, _, kind in decided if action == "A3")
    times: dict[str, list[float]] = defaultdict(list)
    for queue, received, decided_at in session.execute(
        select(Case.queue, Case.received_at, Case.decided_at).where(
            Case.decided_at.is_not(None), Case.decided_at >= now - WINDOW
        )
    ):
        if decided_at is not None:
            times[queue or "automation"].append((decided_at - received).total_seconds() / 3600)
    throughput = Counter(
        actor
        for (actor,) in session.execute(
            select(AuditEvent.actor).where(AuditEvent.action.in_(DECISIONS), AuditEvent.at >= now - WINDOW)
        )
    )
    return {
        "at": now.isoformat(),
        "window_days": WINDOW.days,
        "open_cases_by_review_type": {
            kind: int(per_type.get(kind, 0)) for kind in ("prospective", "concurrent", "retrospective")
        },
        "open_cases_by_queue": {
            queue or "unrouted": count for queue, count in sorted(per_queue.items(), key=lambda p: str(p[0]))
        },
        "overdue_cases": overdue,
        "near_due_cases": near_due,
        "auto_approval_rate": round(automatic / len(decided), 4) if decided else None,
        "decided_items": len(decided),
        # Items not certified in the window: by intake for coverage or plan exclusions, or by a medical director.
        "denied_items_by_kind": {kind: denials.get(kind, 0) for kind in ("administrative", "clinical")},
        "median_decision_hours_by_queue": {q: round(statistics.median(v), 2) for q, v in sorted(times.items())},
        "decisions_by_reviewer": dict(sorted(throughput.items())),
        "concurrent_review": _stays(session, now=now),
    }


def _stays(session: Session, *, now: dt.datetime) -> dict[str, Any]:
    """Inpatient stays (case/stays.py): how many members are in hospital under an authorization, and over the
    admissions received in the window, the average length of stay requested, authorized and used (days)."""
    in_hospital = session.scalar(select(func.count()).select_from(Case).where(Case.next_review_on.is_not(None)))
    rows = session.execute(
        select(Case.days_requested, Case.days_authorized, Case.days_used).where(
            Case.admitted_on.is_not(None), Case.received_at >= now - WINDOW, Case.status != "cancelled"
        )
    ).all()

    def average(values: list[int | None]) -> float | None:
        known = [v for v in values if v is not None]
        return round(statistics.fmean(known), 2) if known else None

    return {
        "stays_under_review": int(in_hospital or 0),
        "admissions": len(rows),
        "average_days_requested": average([r[0] for r in rows]),
        "average_days_authorized": average([r[1] for r in rows]),
        "average_days_used": average([r[2] for r in rows]),
    }


def prometheus(figures: dict[str, Any]) -> str:
    """The figures in the Prometheus text exposition format."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    open_cases = Gauge("um_open_cases", "Cases awaiting a decision", ["queue"], registry=registry)
    for queue, count in figures["open_cases_by_queue"].items():
        open_cases.labels(queue=queue).set(count)
    Gauge("um_overdue_cases", "Open cases past their regulatory due time", registry=registry).set(
        figures["overdue_cases"]
    )
    Gauge("um_near_due_cases", "Open cases due within 24 hours", registry=registry).set(figures["near_due_cases"])
    rate = Gauge(
        "um_auto_approval_ratio", "Share of items decided in the window that automation approved", registry=registry
    )
    rate.set(figures["auto_approval_rate"] if figures["auto_approval_rate"] is not None else float("nan"))
    hours = Gauge(
        "um_median_decision_hours", "Median hours from receipt to decision, by queue", ["queue"], registry=registry
    )
    for queue, value in figures["median_decision_hours_by_queue"].items():
        hours.labels(queue=queue).set(value)
    denied = Gauge("um_denied_items", "Items not certified in the window, by kind", ["kind"], registry=registry)
    for kind, count in figures["denied_items_by_kind"].items():
        denied.labels(kind=kind).set(count)
    stays = figures["concurrent_review"]
    Gauge("um_stays_under_review", "Inpatient stays authorized and not yet discharged", registry=registry).set(
        stays["stays_under_review"]
    )
    length = Gauge(
        "um_average_stay_days", "Average length of stay over recent admissions", ["measure"], registry=registry
    )
    for measure in ("requested", "authorized", "used"):
        value = stays[f"average_days_{measure}"]
        length.labels(measure=measure).set(value if value is not None else float("nan"))
    decisions = Gauge("um_reviewer_decisions", "Decisions in the window, by reviewer", ["reviewer"], registry=registry)
    for reviewer, count in figures["decisions_by_reviewer"].items():
        decisions.labels(reviewer=reviewer).set(count)
    return generate_latest(registry).decode()
