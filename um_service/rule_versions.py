"""Rule-set versions kept in the database, so any stored case can be replayed under the rules it was decided by."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from . import answer
from .db import repository
from .db.models import ActiveRuleSet, RuleSetVersion
from .decision import RuleSet, decide, load_files


def remember(session: Session, rule_set: RuleSet, *, now: dt.datetime) -> None:
    """Keep the files of this rule-set version, once."""
    if session.get(RuleSetVersion, rule_set.version) is None:
        session.add(
            RuleSetVersion(
                version=rule_set.version, first_loaded_at=now, files=orjson.dumps(dict(rule_set.files)).decode()
            )
        )
        session.flush()


def activate(session: Session, rule_set: RuleSet, *, now: dt.datetime) -> None:
    """Make this version the one every worker uses."""
    remember(session, rule_set, now=now)
    row = session.get(ActiveRuleSet, 1, with_for_update=True)
    if row is None:
        session.add(ActiveRuleSet(id=1, version=rule_set.version, activated_at=now))
    elif row.version != rule_set.version:
        row.version = rule_set.version
        row.activated_at = now
    session.flush()


def active_version(session: Session) -> str | None:
    """The version every worker should be using."""
    row = session.get(ActiveRuleSet, 1)
    return row.version if row is not None else None


def stored(session: Session, version: str) -> RuleSet | None:
    """A rule-set version as it was, compiled again from its stored files."""
    row = session.get(RuleSetVersion, version)
    if row is None:
        return None
    return load_files(orjson.loads(row.files))


@dataclass(frozen=True)
class Replay:
    """A case decided again under the rules it was received under, and under the current ones."""

    case_id: str
    then_version: str | None
    now_version: str
    items: list[dict[str, Any]]


def replay(session: Session, case_id: str, *, current: RuleSet) -> Replay | None:
    """Evaluate a stored case's latest request under its original rule set and the current one; show differences."""
    case = repository.get_case(session, case_id)
    if case is None or case.latest_submission_id is None:
        return None
    first = repository.first_submission(session, case_id)
    then_version = first.ruleset_version if first is not None else None
    then = stored(session, then_version) if then_version else None
    request = answer.latest_request(session, case)
    now_outcomes = decide(request, rule_set=current, received=case.received_at)
    then_outcomes = decide(request, rule_set=then, received=case.received_at) if then is not None else {}
    items = []
    for sequence in sorted(set(now_outcomes) | set(then_outcomes)):
        before, after = then_outcomes.get(sequence), now_outcomes.get(sequence)
        items.append(
            {
                "sequence": sequence,
                "then": _summary(before),
                "now": _summary(after),
                "changed": _summary(before) != _summary(after),
            }
        )
    return Replay(case_id, then_version, current.version, items)


def _summary(outcome: Any) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"action": outcome.action.value, "rule": outcome.rule_id, "queue": outcome.queue, "reason": outcome.reason}
