"""An item's rule trace read back as a nurse's criteria checklist: each condition met, not met or missing, each
required document present or missing, and the quantity and benefit limits checked.

Pure: it reads the trace the engine stored (engine.py) and, for the plain-language words, the rule set given. A
trace may come from an older rule-set version: a condition's description is taken from the given rule set only
when that rule still has the condition with the same expression; otherwise the checklist shows the expression the
trace holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .ruleset import RuleSet

Status = Literal["met", "not met", "missing", "present"]
Kind = Literal["condition", "document", "quantity", "benefit_limit", "coverage"]


@dataclass(frozen=True)
class Criterion:
    """One line of the checklist."""

    kind: Kind
    id: str
    description: str
    # met / not met; missing: the data was absent (a condition counted as its if_missing; a document not sent);
    # present: a required document was sent.
    status: Status
    # Whether the line counted as satisfied (a missing condition may count as met by its if_missing).
    holds: bool
    # The rule the line belongs to; None for plan checks (benefit limits, coverage).
    rule: str | None = None
    # Whether that rule decided the item (the others were tried first and their conditions did not all hold).
    deciding: bool = False
    # The value the engine saw: an expression's result, the quantity requested.
    value: Any = None
    expression: str | None = None


def checklist(trace: Iterable[dict[str, Any]], rule_set: RuleSet | None) -> list[Criterion]:
    """The checklist of an item: the deciding rule's lines first, then plan checks, then the rules tried before it
    whose conditions did not all hold (each in trace order)."""
    steps = list(trace)
    deciding = next((str(s["rule"]) for s in steps if s.get("applies") is True and "rule" in s), None)
    decided: list[Criterion] = []
    plan: list[Criterion] = []
    tried: list[Criterion] = []
    for step in steps:
        for line in _lines(step, rule_set, deciding):
            if line.rule is None:
                plan.append(line)
            elif line.deciding:
                decided.append(line)
            else:
                tried.append(line)
    return decided + plan + tried


def _lines(step: dict[str, Any], rule_set: RuleSet | None, deciding: str | None) -> list[Criterion]:
    """The checklist lines of one trace step (none for a skipped rule, the "applies" mark or the default)."""
    rule = str(step.get("rule"))
    if "condition" in step:
        return [_condition(step, rule_set, deciding)]
    if "documents_required" in step or "documents_missing" in step:
        return _documents(step, rule_set, deciding)
    if "max_quantity" in step:
        limit, requested, holds = step["max_quantity"], step.get("requested"), bool(step.get("holds"))
        text = f"Automation approves at most {_number(limit)} units; {_number(requested)} requested."
        return [Criterion("quantity", "max_quantity", text, _met(holds), holds, rule, rule == deciding, requested)]
    if "limit" in step:
        return [_benefit_limit(step, rule_set)]
    if "administrative" in step:
        return [Criterion("coverage", str(step["administrative"]), str(step.get("reason", "")), "not met", False)]
    return []


def _documents(step: dict[str, Any], rule_set: RuleSet | None, deciding: str | None) -> list[Criterion]:
    """Each document the rule requires, present or missing."""
    rule = str(step.get("rule"))
    missing = [str(code) for code in step.get("documents_missing", [])]
    required = [str(code) for code in step.get("documents_required", [])]
    known = rule_set.by_id(rule) if rule_set is not None else None
    words = {d.loinc: d.description for d in known.rule.documents} if known is not None else {}
    if not required:  # a trace written before documents_required was recorded names only what was missing
        required = missing
    lines = []
    for loinc in required:
        sent = loinc not in missing
        text = words.get(loinc) or f"Document of LOINC type {loinc}"
        status: Status = "present" if sent else "missing"
        lines.append(Criterion("document", loinc, text, status, sent, rule, rule == deciding))
    return lines


def _condition(step: dict[str, Any], rule_set: RuleSet | None, deciding: str | None) -> Criterion:
    rule, condition, expression = str(step.get("rule")), str(step["condition"]), str(step.get("expression", ""))
    holds = bool(step.get("holds"))
    status: Status = "missing" if step.get("missing") else _met(holds)
    value = step.get("value")
    if isinstance(value, list):
        value = None if not value else value[0] if len(value) == 1 else value
    return Criterion(
        "condition",
        condition,
        _condition_text(rule_set, rule, condition, expression),
        status,
        holds,
        rule,
        rule == deciding,
        value=value,
        expression=expression,
    )


def _condition_text(rule_set: RuleSet | None, rule_id: str, condition_id: str, expression: str) -> str:
    known = rule_set.by_id(rule_id) if rule_set is not None else None
    if known is not None:
        for condition in known.rule.when:
            if condition.id == condition_id and condition.expression == expression:
                return condition.description
    return expression  # the rule changed since the item was decided: what was evaluated, as the trace holds it


def _benefit_limit(step: dict[str, Any], rule_set: RuleSet | None) -> Criterion:
    limit_id, plan_id = str(step["limit"]), str(step.get("plan", ""))
    period = step.get("period") or ["", ""]
    words = f"benefit limit {limit_id} of plan {plan_id}"
    plan = rule_set.plans.plans.get(plan_id) if rule_set is not None else None
    for limit in plan.limits if plan is not None else ():
        if limit.limit.id == limit_id:
            words = limit.limit.description
    text = (
        f"{words}: at most {_number(step.get('quantity'))} from {period[0]} to {period[-1]}; "
        f"{_number(step.get('approved_before'))} approved before, {_number(step.get('requested'))} requested."
    )
    holds = bool(step.get("holds"))
    return Criterion("benefit_limit", limit_id, text, _met(holds), holds, value=step.get("requested"))


def _met(holds: bool) -> Status:
    return "met" if holds else "not met"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)
