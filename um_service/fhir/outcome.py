"""The OperationOutcome of a list of problems (the FHIR face's rendering of um_service.errors)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import Problem


def operation_outcome(problems: Iterable[Problem]) -> dict[str, Any]:
    """An OperationOutcome resource for these problems."""
    issues = [p.as_issue() for p in problems]
    if not issues:
        issues = [{"severity": "information", "code": "informational", "diagnostics": "ok"}]
    return {"resourceType": "OperationOutcome", "issue": issues}


def dedupe(problems: Iterable[Problem]) -> list[Problem]:
    """Keep the first problem reported for each location, so one mistake is reported once."""
    seen: set[str] = set()
    kept: list[Problem] = []
    for problem in problems:
        key = problem.expression or problem.diagnostics
        if key in seen:
            continue
        seen.add(key)
        kept.append(problem)
    return kept
