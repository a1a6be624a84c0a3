"""Regulatory clocks: due times per line of business, and escalation of cases near breach.

CMS-0057-F: expedited requests within 72 hours, standard within 7 calendar days of receipt. A case within the
warning window of its due time is flagged near breach and re-prioritised as urgent, once, with an audit row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Case, is_open
from . import lifecycle, review_types
from .lifecycle import SYSTEM, Action, Actor
from .status import Priority, due_at

# How long before the due time a case counts as near breach.
WARNING = {Priority.EXPEDITED: dt.timedelta(hours=12), Priority.STANDARD: dt.timedelta(hours=48)}


def due_for(
    received: dt.datetime,
    priority: Priority,
    line_of_business: str | None,
    overrides: Mapping[str, Mapping[str, int]],
    *,
    review_type: str = review_types.PROSPECTIVE,
) -> dt.datetime:
    """The due time, with the line of business's own clock where one is configured; a retrospective review has its
    own (30 calendar days unless `retrospective_days` says otherwise)."""
    clock = overrides.get(line_of_business or "", {})
    if review_type == review_types.RETROSPECTIVE:
        return received + dt.timedelta(days=clock.get("retrospective_days", review_types.RETROSPECTIVE_DAYS))
    return due_at(
        received,
        priority,
        expedited_hours=clock.get("expedited_hours", 72),
        standard_days=clock.get("standard_days", 7),
    )


CLOCK = Actor("clock", SYSTEM)


def sweep(session: Session, *, context: lifecycle.Moment) -> int:
    """Flag open cases near their due time (or past it) and make them urgent; how many were flagged."""
    now = context.now
    horizon = now + max(WARNING.values())
    candidates = session.scalars(
        select(Case)
        .where(is_open(), Case.near_breach.is_(False), Case.due_at <= horizon)
        .with_for_update(skip_locked=True)
    )
    flagged = 0
    for case in candidates:
        if case.due_at - now > WARNING[Priority(case.priority)]:
            continue
        change = lifecycle.begin(session, case=case, action=Action.FLAG_NEAR_BREACH, actor=CLOCK)
        case.near_breach = True
        case.review_priority = "urgent"
        overdue = case.due_at <= now
        change.detail["due_at"] = case.due_at.isoformat()
        reason = ("Overdue" if overdue else "Due within the warning window") + f": due {case.due_at.isoformat()}; "
        lifecycle.finish(session, change, reason=reason + "re-prioritised as urgent.", context=context)
        flagged += 1
    return flagged
