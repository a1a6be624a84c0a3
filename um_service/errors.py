"""One error family: every refusal the service raises is a `ServiceError` with an HTTP status and problems.

    ServiceError            status + problems (+ headers); each face renders it its own way: the FHIR face as
    |                       an OperationOutcome, the staff face as RFC 9457 application/problem+json, the CDS Hooks
    |                       face as its error body. Domain code raises them and never imports FastAPI.
    +-- InvalidRequest      400 / 422: the body cannot be read, or breaks the PAS profiles; nothing is stored
    +-- Unauthenticated     401: no valid access token
    +-- Forbidden           403: the caller's role or organisation may not do this
    +-- NotFound            404: no such case, item, resource or reviewer
    +-- Conflict            409: not allowed in the case's current state, or held by someone else
    +-- Unprocessable       422: input the domain refuses (a denial without a reason)

A business refusal of a readable PAS request is not an error: it is an HTTP 200 ClaimResponse (pas.refusals).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: a FHIR issue code, what is wrong (`diagnostics`) and where (a FHIRPath or field path)."""

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


class ServiceError(Exception):
    """A refusal answered with HTTP `status`, listing `problems`."""

    def __init__(self, status: int, problems: Iterable[Problem], headers: dict[str, str] | None = None):
        self.status = status
        self.problems = tuple(problems)
        self.headers = headers or {}
        super().__init__("; ".join(p.diagnostics for p in self.problems))


class InvalidRequest(ServiceError):
    """The request cannot be read (400) or breaks the profiles (422); nothing is stored."""


class _Refusal(ServiceError):
    """A refusal with one plain-language message; subclasses fix the status and the issue code."""

    status_code = 400
    issue_code = "invalid"

    def __init__(self, message: str, expression: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(self.status_code, [Problem(self.issue_code, message, expression)], headers)


class Unauthenticated(_Refusal):
    """No access token, or one that is not valid (401)."""

    status_code, issue_code = 401, "login"


class Forbidden(_Refusal):
    """The caller may not do this (403)."""

    status_code, issue_code = 403, "forbidden"


class NotFound(_Refusal):
    """No such thing, or not one the caller may see (404)."""

    status_code, issue_code = 404, "not-found"


class Conflict(_Refusal):
    """Not allowed in the current state (409)."""

    status_code, issue_code = 409, "conflict"


class Unprocessable(_Refusal):
    """Input the domain refuses (422)."""

    status_code, issue_code = 422, "processing"
