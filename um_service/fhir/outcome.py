"""Problems found in what a caller sent, the one error type that carries them, and their OperationOutcome.

Exception hierarchy:

    FhirError                  status + problems, rendered as one OperationOutcome by the HTTP layer
    +-- InvalidRequest         4xx: the body cannot be read or breaks the PAS profiles
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One issue of an OperationOutcome: what is wrong (`diagnostics`) and where (FHIRPath `expression`)."""

    code: str
    diagnostics: str
    expression: str | None = None
    severity: str = "error"

    def as_issue(self) -> dict[str, Any]:
        """The OperationOutcome.issue element."""
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


class FhirError(Exception):
    """An answer of HTTP `status` with an OperationOutcome listing `problems`."""

    def __init__(self, status: int, problems: Iterable[Problem], headers: dict[str, str] | None = None):
        self.status = status
        self.problems = tuple(problems)
        self.headers = headers or {}
        super().__init__("; ".join(p.diagnostics for p in self.problems))


class InvalidRequest(FhirError):
    """The request cannot be read (400) or breaks the profiles (422); nothing is stored."""


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
