"""Replay: decide a stored case again under the rules it was received under and under the current ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..db import repository
from ..db.rule_sets import stored
from ..decision import RuleSet, decide
from . import response_versions


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
    request = response_versions.latest_request(session, case)
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
