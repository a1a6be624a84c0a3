"""Loading a rule set: read every rule file, check it strictly, compile it once, index it by code.

A rule set is all-or-nothing: any problem (bad YAML, unknown field, FHIRPath that does not compile, unknown value
set, a denial, conflicting rules) raises RuleSetError listing every problem with file, rule and field, and
nothing of it is used. The version is a content hash of all rule files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from ..errors import Problem, ServiceError
from .expressions import ANSWER, MEMBER_OF, Compiled, ExpressionError, compile_expression
from .index import EXACT, RANGE, VALUESET, CodeIndex, Coverage
from .model import Condition, Rule, RuleFile, ValueSet, system_url
from .plans import (
    AdministrativeReason,
    CompiledExclusion,
    CompiledLimit,
    CompiledPlan,
    LineOfBusiness,
    Plan,
    PlanBook,
    PlanFile,
    coverage_of,
)

CAUTION = {"pend": 3, "approve": 2, "not_required": 1}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LISTS = ("rules", "valuesets", "plans", "lines_of_business", "displays")
_File = TypeVar("_File", RuleFile, PlanFile)


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule set: where (file, rule, field) and why."""

    file: str
    rule: str | None
    field: str | None
    reason: str
    severity: str = "error"

    @property
    def where(self) -> str:
        """File, rule and field, as a reader looks for them."""
        label = "plan" if self.file.startswith("plans/") else "rule"
        named = f", {label} {self.rule}" if self.rule else ""
        return self.file + named + (f", {self.field}" if self.field else "")

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.reason}"


class RuleSetError(ServiceError):
    """A rule set that cannot be used (422), with every problem found."""

    def __init__(self, problems: list[RuleProblem]):
        super().__init__(422, [Problem("invalid", p.reason, p.where) for p in problems])
        self.rule_problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.rule_problems)


@dataclass(frozen=True)
class CompiledCondition:
    """A condition with its compiled expression."""

    condition: Condition
    evaluate: Compiled


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """A rule ready to evaluate: its coverage of codes and its compiled conditions."""

    rule: Rule
    file: str
    coverage: Coverage
    conditions: tuple[CompiledCondition, ...]

    @property
    def id(self) -> str:
        """The rule id."""
        return self.rule.id

    def precedence(self, specificity: int) -> tuple[int, int, int, str]:
        """Sort key: higher priority, then more specific match, then the more cautious outcome, then id."""
        return (-self.rule.priority, -specificity, -CAUTION[self.rule.outcome.decision], self.rule.id)


@dataclass(frozen=True)
class RuleSet:
    """A complete, checked, compiled rule set."""

    version: str
    rules: tuple[CompiledRule, ...]
    valuesets: Mapping[str, ValueSet]
    files: Mapping[str, str]
    index: CodeIndex[CompiledRule] = field(repr=False)
    valueset_coverage: Mapping[str, Coverage] = field(repr=False, default_factory=dict)
    warnings: tuple[RuleProblem, ...] = ()
    plans: PlanBook = field(default_factory=PlanBook)
    # (system URL, code) -> the pack's own name for the code (`displays:`), shown to staff.
    displays: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def by_id(self, rule_id: str) -> CompiledRule | None:
        """A rule by id."""
        return next((r for r in self.rules if r.id == rule_id), None)


def rule_files(directory: Path) -> dict[str, str]:
    """The rule files of a rules directory (top-level, valuesets/ and plans/ YAML), by path relative to it."""
    paths = sorted(
        [
            *directory.glob("*.yaml"),
            *directory.glob("*.yml"),
            *directory.glob("valuesets/*.yaml"),
            *directory.glob("plans/*.yaml"),
        ]
    )
    return {str(p.relative_to(directory)): p.read_text() for p in paths}


def load_directory(directory: Path) -> RuleSet:
    """Load the rule set in `directory`, or raise RuleSetError."""
    if not directory.is_dir():
        raise RuleSetError([RuleProblem(str(directory), None, None, "rules directory not found")])
    return load_files(rule_files(directory))


def version_of(files: Mapping[str, str]) -> str:
    """The content hash that versions a rule set."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:16]


def load_files(files: Mapping[str, str]) -> RuleSet:
    """Check and compile rule files given as {name: YAML text}."""
    from .analysis import analyse  # analysis needs the compiled types defined here

    problems: list[RuleProblem] = []
    parsed: list[tuple[str, RuleFile]] = []
    plan_files: list[tuple[str, PlanFile]] = []
    for name, text in sorted(files.items()):
        if name.startswith("plans/"):
            plan_file = _parse(name, text, problems, PlanFile)
            if plan_file is not None:
                plan_files.append((name, plan_file))
            continue
        rule_file = _parse(name, text, problems, RuleFile)
        if rule_file is not None:
            parsed.append((name, rule_file))
    valuesets = _valuesets(parsed, problems)
    displays = _displays(parsed, problems)
    coverage = {name: _valueset_coverage(valueset) for name, valueset in valuesets.items()}
    compiled = _compile_rules(parsed, valuesets, problems)
    book = _plan_book(plan_files, coverage, problems)
    if problems:
        raise RuleSetError(problems)
    findings = analyse(compiled) + _unknown_plans(compiled, book) + _unread_questions(compiled)
    errors = [p for p in findings if p.severity == "error"]
    if errors:
        raise RuleSetError(errors)
    return RuleSet(
        version=version_of(files),
        rules=tuple(compiled),
        valuesets=valuesets,
        files=dict(files),
        index=CodeIndex((rule, rule.coverage) for rule in compiled),
        valueset_coverage=coverage,
        warnings=tuple(p for p in findings if p.severity != "error"),
        plans=book,
        displays=displays,
    )


def _parse(name: str, text: str, problems: list[RuleProblem], model: type[_File]) -> _File | None:
    try:
        data = yaml.load(text, Loader=_LOADER)  # a safe loader: libyaml's when PyYAML has it
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None
        problems.append(RuleProblem(name, None, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    if data is None:
        return model()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(_validation_problem(name, data, error))
        return None


def _validation_problem(name: str, data: Any, error: Any) -> RuleProblem:
    location = list(error.get("loc", ()))
    rule_id = None
    if len(location) >= 2 and location[0] in _LISTS and isinstance(location[1], int):
        items = data.get(location[0]) if isinstance(data, dict) else None
        if isinstance(items, list) and location[1] < len(items) and isinstance(items[location[1]], dict):
            item = items[location[1]]
            rule_id = str(item.get("id") or item.get("code") or f"#{location[1] + 1}")
        location = location[2:]
    reason = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        reason = "unknown field"
    return RuleProblem(name, rule_id, ".".join(str(part) for part in location) or None, reason)


def _valuesets(parsed: list[tuple[str, RuleFile]], problems: list[RuleProblem]) -> dict[str, ValueSet]:
    found: dict[str, ValueSet] = {}
    where: dict[str, str] = {}
    for name, rule_file in parsed:
        for valueset in rule_file.valuesets:
            if valueset.id in found:
                problems.append(
                    RuleProblem(name, valueset.id, "id", f"value set id also defined in {where[valueset.id]}")
                )
                continue
            found[valueset.id] = valueset
            where[valueset.id] = name
    return found


def _displays(parsed: list[tuple[str, RuleFile]], problems: list[RuleProblem]) -> dict[tuple[str, str], str]:
    """The pack's names for codes, by (system URL, code); a code named twice is an error."""
    found: dict[tuple[str, str], str] = {}
    where: dict[tuple[str, str], str] = {}
    for name, rule_file in parsed:
        for display in rule_file.displays:
            key = (system_url(display.system), display.code)
            if key in found:
                reason = f"{display.system} {display.code} already has a display in {where[key]}"
                problems.append(RuleProblem(name, display.code, "displays", reason))
                continue
            found[key] = display.display
            where[key] = name
    return found


def _compile_rules(
    parsed: list[tuple[str, RuleFile]], valuesets: Mapping[str, ValueSet], problems: list[RuleProblem]
) -> list[CompiledRule]:
    compiled: list[CompiledRule] = []
    seen: dict[str, str] = {}
    for name, rule_file in parsed:
        for rule in rule_file.rules:
            if rule.id in seen:
                problems.append(RuleProblem(name, rule.id, "id", f"rule id also used in {seen[rule.id]}"))
                continue
            seen[rule.id] = name
            coverage = _coverage(name, rule, valuesets, problems)
            conditions = []
            for position, condition in enumerate(rule.when):
                where = f"when.{position}.expression ({condition.id})"
                try:
                    conditions.append(CompiledCondition(condition, compile_expression(condition.expression)))
                except ExpressionError as exc:
                    problems.append(RuleProblem(name, rule.id, where, str(exc)))
                for unknown in sorted(set(MEMBER_OF.findall(condition.expression)) - set(valuesets)):
                    problems.append(RuleProblem(name, rule.id, where, f"memberOf names unknown value set {unknown!r}"))
                asked = {q.link_id for q in rule.questions}
                for unknown in sorted(set(ANSWER.findall(condition.expression)) - asked):
                    problems.append(
                        RuleProblem(name, rule.id, where, f"answer() reads {unknown!r}, not a question of this rule")
                    )
            compiled.append(CompiledRule(rule, name, coverage, tuple(conditions)))
    return compiled


def _coverage(name: str, rule: Rule, valuesets: Mapping[str, ValueSet], problems: list[RuleProblem]) -> Coverage:
    coverage = Coverage()
    for position, selector in enumerate(rule.services):
        if selector.valueset is not None:
            valueset = valuesets.get(selector.valueset)
            if valueset is None:
                problems.append(
                    RuleProblem(
                        name, rule.id, f"services.{position}.valueset", f"unknown value set {selector.valueset!r}"
                    )
                )
                continue
            for included in valueset.include:
                _add(coverage, included.system or "", included.codes, included.range, VALUESET)
        else:
            _add(coverage, selector.system or "", selector.codes, selector.range, EXACT)
    return coverage


def _valueset_coverage(valueset: ValueSet) -> Coverage:
    coverage = Coverage()
    for included in valueset.include:
        _add(coverage, included.system or "", included.codes, included.range, VALUESET)
    return coverage


def _add(coverage: Coverage, system: str, codes: tuple[str, ...], code_range: Any, specificity: int) -> None:
    url = system_url(system)
    for code in codes:
        coverage.add_code(url, code, specificity)
    if code_range is not None:
        coverage.ranges.append((url, code_range.start, code_range.end, RANGE if specificity == EXACT else specificity))


def _plan_book(
    plan_files: list[tuple[str, PlanFile]], valuesets: Mapping[str, Coverage], problems: list[RuleProblem]
) -> PlanBook:
    lines: dict[str, LineOfBusiness] = {}
    reasons: dict[str, AdministrativeReason] = {}
    denial_reasons: dict[str, AdministrativeReason] = {}
    for name, plan_file in plan_files:
        for denial in plan_file.denial_reasons:
            if denial.code in denial_reasons:
                problems.append(RuleProblem(name, None, f"denial_reasons ({denial.code})", "given twice"))
            denial_reasons[denial.code] = denial
        for line in plan_file.lines_of_business:
            if line.id in lines:
                problems.append(RuleProblem(name, None, f"lines_of_business ({line.id})", "declared twice"))
            lines[line.id] = line
        for kind, reason in plan_file.administrative_reasons.items():
            if kind in reasons:
                problems.append(RuleProblem(name, None, f"administrative_reasons.{kind}", "given twice"))
            reasons[kind] = reason
    plans: dict[str, CompiledPlan] = {}
    for name, plan_file in plan_files:
        for plan in plan_file.plans:
            if plan.id in plans:
                problems.append(RuleProblem(name, plan.id, "id", f"plan also defined in {plans[plan.id].file}"))
                continue
            if plan.line_of_business not in lines:
                problems.append(
                    RuleProblem(
                        name,
                        plan.id,
                        "line_of_business",
                        f"unknown line of business {plan.line_of_business!r} (declared: {sorted(lines) or 'none'})",
                    )
                )
            plans[plan.id] = _compile_plan(name, plan, valuesets, problems)
    return PlanBook(
        plans=plans, lines_of_business=lines, reasons=reasons, denial_reasons=tuple(denial_reasons.values())
    )


def _compile_plan(
    name: str, plan: Plan, valuesets: Mapping[str, Coverage], problems: list[RuleProblem]
) -> CompiledPlan:
    exclusions = []
    for position, exclusion in enumerate(plan.excludes):
        coverage, unknown = coverage_of(exclusion.services, valuesets)
        for missing in unknown:
            problems.append(RuleProblem(name, plan.id, f"excludes.{position}", f"unknown value set {missing!r}"))
        exclusions.append(CompiledExclusion(exclusion, coverage))
    limits = []
    seen = set()
    for position, limit in enumerate(plan.limits):
        if limit.id in seen:
            problems.append(RuleProblem(name, plan.id, f"limits.{position}.id", f"limit id {limit.id!r} used twice"))
        seen.add(limit.id)
        coverage, unknown = coverage_of(limit.services, valuesets)
        for missing in unknown:
            problems.append(RuleProblem(name, plan.id, f"limits.{position}", f"unknown value set {missing!r}"))
        limits.append(CompiledLimit(limit, coverage))
    return CompiledPlan(plan, name, tuple(exclusions), tuple(limits))


def _unread_questions(compiled: list[CompiledRule]) -> list[RuleProblem]:
    """Warn of questions no condition of their rule reads (asking them changes nothing)."""
    found = []
    for rule in compiled:
        read = {link for c in rule.rule.when for link in ANSWER.findall(c.expression)}
        for position, question in enumerate(rule.rule.questions):
            if question.link_id not in read:
                reason = f"question {question.link_id!r} is read by no condition (answer('{question.link_id}'))"
                found.append(RuleProblem(rule.file, rule.id, f"questions.{position}", reason, "warning"))
    return found


def _unknown_plans(compiled: list[CompiledRule], book: PlanBook) -> list[RuleProblem]:
    """Warn of rules naming a line of business or plan the plan book does not know (once it declares any)."""
    found = []
    for rule in compiled:
        if book.lines_of_business:
            for line in sorted(set(rule.rule.lines_of_business) - set(book.lines_of_business)):
                reason = f"line of business {line!r} is not declared in plans/; the rule never applies"
                found.append(RuleProblem(rule.file, rule.id, "lines_of_business", reason, "warning"))
        if book.plans:
            for plan in sorted(set(rule.rule.plans) - set(book.plans)):
                reason = f"plan {plan!r} is not listed in plans/ (it may still match a Coverage.class value)"
                found.append(RuleProblem(rule.file, rule.id, "plans", reason, "warning"))
    return found
