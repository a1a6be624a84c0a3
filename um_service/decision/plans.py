"""The plan book: the plan's benefit design as the rule pack states it (rules/plans/*.yaml).

Each plan maps to a line of business (the entity CMS figures are reported by), lists the services it excludes and
its benefit limits. Lines of business say which Coverage.type codes lead to them when the member's plan is not
listed. Administrative reasons give the X12 886 code and words for the two administrative non-certifications
intake makes (coverage not active on the service date, a service the plan excludes). See rules/README.md, "Plans".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from .index import Coverage
from .model import CodeSelector, Strict, system_url

COVERAGE_INACTIVE = "coverage_inactive"
NOT_COVERED = "not_covered"
_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ExcludedService(Strict):
    """Services the plan does not cover at all."""

    description: str = Field(min_length=3)
    services: tuple[CodeSelector, ...] = Field(min_length=1)


class BenefitLimit(Strict):
    """At most `quantity` units of these services per benefit period, across requests."""

    id: str = Field(pattern=_ID)
    description: str = Field(min_length=3)
    services: tuple[CodeSelector, ...] = Field(min_length=1)
    quantity: Annotated[float, Field(gt=0)]
    period: Literal["calendar_year", "coverage_period"] = "calendar_year"


class Plan(Strict):
    """One benefit plan, found by the member's Coverage.class plan value."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    line_of_business: str
    excludes: tuple[ExcludedService, ...] = ()
    limits: tuple[BenefitLimit, ...] = ()


class LineOfBusiness(Strict):
    """A line of business and the Coverage.type codes that lead to it when the plan is not listed."""

    id: str = Field(pattern=_ID)
    description: str = Field(min_length=3)
    coverage_types: tuple[str, ...] = ()


class AdministrativeReason(Strict):
    """The X12 886 review decision reason code and plain words for an administrative non-certification."""

    code: str = Field(min_length=1, max_length=20)
    description: str = Field(min_length=3)


class PlanFile(Strict):
    """The top level of a file under rules/plans/."""

    lines_of_business: tuple[LineOfBusiness, ...] = ()
    plans: tuple[Plan, ...] = ()
    administrative_reasons: dict[Literal["coverage_inactive", "not_covered"], AdministrativeReason] = {}
    # The X12 886 reasons a medical director picks from when denying (GET /um/reasons; a denial must use one).
    denial_reasons: tuple[AdministrativeReason, ...] = ()


@dataclass(frozen=True)
class CompiledExclusion:
    """An exclusion with the codes it covers."""

    exclusion: ExcludedService
    coverage: Coverage


@dataclass(frozen=True)
class CompiledLimit:
    """A benefit limit with the codes it counts."""

    limit: BenefitLimit
    coverage: Coverage

    def counts(self, codes: Iterable[tuple[str, str]]) -> bool:
        """Whether an item with these (system, code) pairs counts towards this limit."""
        return any(self.coverage.covers(system, code) for system, code in codes)


@dataclass(frozen=True)
class CompiledPlan:
    """A plan ready to check items against."""

    plan: Plan
    file: str
    exclusions: tuple[CompiledExclusion, ...]
    limits: tuple[CompiledLimit, ...]

    def excluded(self, codes: Iterable[tuple[str, str]]) -> ExcludedService | None:
        """The exclusion an item with these codes falls under, if any."""
        pairs = list(codes)
        for compiled in self.exclusions:
            if any(compiled.coverage.covers(system, code) for system, code in pairs):
                return compiled.exclusion
        return None


@dataclass(frozen=True)
class PlanBook:
    """Every plan, line of business and administrative reason of a rule pack (empty when it has none)."""

    plans: Mapping[str, CompiledPlan] = field(default_factory=dict)
    lines_of_business: Mapping[str, LineOfBusiness] = field(default_factory=dict)
    reasons: Mapping[str, AdministrativeReason] = field(default_factory=dict)
    denial_reasons: tuple[AdministrativeReason, ...] = ()

    def line_of_business(self, plan_id: str | None, coverage_types: Iterable[str]) -> str | None:
        """The plan's line of business; else the one a Coverage.type code leads to; else that code as sent."""
        plan = self.plans.get(plan_id or "")
        if plan is not None:
            return plan.plan.line_of_business
        types = list(coverage_types)
        for code in types:
            for line in self.lines_of_business.values():
                if code in line.coverage_types or code == line.id:
                    return line.id
        return types[0] if types else None

    def reason(self, kind: str) -> AdministrativeReason | None:
        """The configured X12 reason for an administrative non-certification, if the pack gives one."""
        return self.reasons.get(kind)


def coverage_of(selectors: Iterable[CodeSelector], valuesets: Mapping[str, Coverage]) -> tuple[Coverage, list[str]]:
    """The codes a list of selectors covers, and the value set ids it names that do not exist."""
    coverage = Coverage()
    unknown: list[str] = []
    for selector in selectors:
        if selector.valueset is not None:
            known = valuesets.get(selector.valueset)
            if known is None:
                unknown.append(selector.valueset)
                continue
            for key, specificity in known.codes.items():
                coverage.add_code(key[0], key[1], specificity)
            coverage.ranges.extend(known.ranges)
            continue
        url = system_url(selector.system or "")
        for code in selector.codes:
            coverage.add_code(url, code, 3)
        if selector.range is not None:
            coverage.ranges.append((url, selector.range.start, selector.range.end, 1))
    return coverage, unknown
