"""Static checks across rules: conflicts (an error) and unreachable rules (a warning).

Only unconditional rules can be compared statically: a rule with `when` conditions may or may not apply.
- Conflict: two unconditional rules cover a common code with the same priority and specificity, are in force
  at a common time for a common line of business / plan, and decide differently. Which wins would rest on the
  tie-breakers alone, so the author must say (give one a higher priority).
- Unreachable: an unconditional rule that always wins wherever another rule applies (higher precedence, covers
  all its codes, in force whenever it is, for every plan it is) leaves that other rule nothing to decide.
"""

from __future__ import annotations

import datetime as dt

from .index import CodeIndex, Coverage
from .model import Rule
from .ruleset import CompiledRule, RuleProblem

_FAR = dt.date(9999, 12, 31)


def analyse(rules: list[CompiledRule]) -> list[RuleProblem]:
    """Every conflict and unreachable rule in the set."""
    index = CodeIndex((rule, rule.coverage) for rule in rules)
    findings: list[RuleProblem] = []
    reported: set[tuple[str, str]] = set()
    for rule in rules:
        for point in _points(rule.coverage):
            for other, _ in index.lookup(*point):
                pair = (min(rule.id, other.id), max(rule.id, other.id))
                if other is rule or pair in reported or not _conflict(rule, other, point):
                    continue
                reported.add(pair)
                first, second = sorted((rule, other), key=lambda r: r.id)
                findings.append(
                    RuleProblem(
                        second.file,
                        second.id,
                        "priority",
                        f"conflicts with rule {first.id} ({first.file}) on {point[1]}: both apply unconditionally "
                        f"with priority {first.rule.priority} but decide {first.rule.outcome.decision!r} and "
                        f"{second.rule.outcome.decision!r}; give one a higher priority",
                    )
                )
    findings += _unreachable(rules, index)
    return findings


def _points(coverage: Coverage) -> list[tuple[str, str]]:
    """Codes at which any overlap with this coverage shows: its exact codes and the start of each range.

    Two overlapping ranges share the later one's start; a code inside a range is one of the exact codes.
    """
    return [*coverage.codes, *((system, start) for system, start, _, _ in coverage.ranges)]


def _conflict(a: CompiledRule, b: CompiledRule, point: tuple[str, str]) -> bool:
    return (
        not a.conditions
        and not b.conditions
        and a.rule.priority == b.rule.priority
        and a.coverage.covers(*point) == b.coverage.covers(*point)
        and a.rule.outcome != b.rule.outcome
        and _same_time_and_plans(a.rule, b.rule)
    )


def _period(rule: Rule) -> tuple[dt.date, dt.date]:
    return rule.effective.start, rule.effective.until or _FAR


def _same_time_and_plans(a: Rule, b: Rule) -> bool:
    (a_start, a_end), (b_start, b_end) = _period(a), _period(b)
    if a_start >= b_end or b_start >= a_end:
        return False
    for attribute in ("lines_of_business", "plans"):
        left, right = set(getattr(a, attribute)), set(getattr(b, attribute))
        if left and right and not left & right:
            return False
    return True


def _includes(outer: Rule, inner: Rule) -> bool:
    """`outer` is in force whenever, and for every plan, `inner` is."""
    (o_start, o_end), (i_start, i_end) = _period(outer), _period(inner)
    if o_start > i_start or o_end < i_end:
        return False
    for attribute in ("lines_of_business", "plans"):
        o, i = set(getattr(outer, attribute)), set(getattr(inner, attribute))
        if o and (not i or not i <= o):
            return False
    return True


def _covers_all(outer: Coverage, inner: Coverage, *, better_than: CompiledRule, by: CompiledRule) -> bool:
    """Every code `inner` covers, `outer` covers with a precedence that beats `better_than` there."""

    def beats(key: tuple[str, str], inner_specificity: int) -> bool:
        specificity = outer.covers(*key)
        return specificity > 0 and by.precedence(specificity) < better_than.precedence(inner_specificity)

    for key, specificity in inner.codes.items():
        if not beats(key, specificity):
            return False
    for system, start, end, specificity in inner.ranges:
        enclosing = [
            r for r in outer.ranges if r[0] == system and len(r[1]) == len(start) and r[1] <= start and end <= r[2]
        ]
        if not any(by.precedence(r[3]) < better_than.precedence(specificity) for r in enclosing):
            return False
    return True


def _unreachable(rules: list[CompiledRule], index: CodeIndex[CompiledRule]) -> list[RuleProblem]:
    findings = []
    for rule in rules:
        points = _points(rule.coverage)
        if not points:
            continue
        # A rule that shadows this one covers all its codes, so it covers the first one: look only there.
        for shadow, _ in index.lookup(*points[0]):
            if shadow is rule or shadow.conditions or not _includes(shadow.rule, rule.rule):
                continue
            if _covers_all(shadow.coverage, rule.coverage, better_than=rule, by=shadow):
                findings.append(
                    RuleProblem(
                        rule.file,
                        rule.id,
                        None,
                        f"unreachable: rule {shadow.id} ({shadow.file}) always applies first to every service it covers",
                        severity="warning",
                    )
                )
                break
    return findings
