"""One place that turns errors into answers. Every refusal is a `ServiceError` (um_service.errors); each face renders
it its own way: the FHIR face (/fhir) as an OperationOutcome, every other face as RFC 9457
`application/problem+json` with one shape. FastAPI's own errors (unknown route, invalid JSON body) and database
failures are mapped to the same two renderings."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import Problem, ServiceError
from ..fhir.outcome import operation_outcome

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"
FHIR_PREFIX = "/fhir"

_ISSUE_CODE_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
}

# Pydantic error types -> FHIR issue codes (fhirstarter's table, trimmed to what our bodies and queries can raise).
_ISSUE_CODE_BY_PYDANTIC_TYPE = {
    "missing": "required",
    "json_invalid": "structure",
    "json_type": "structure",
    "model_type": "structure",
    "model_attributes_type": "structure",
    "dict_type": "structure",
    "list_type": "structure",
    "extra_forbidden": "structure",
    "string_too_long": "too-long",
    "too_long": "too-long",
    "bytes_too_long": "too-long",
}


def fhir_response(status: int, resource: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Response:
    """An application/fhir+json answer."""
    body = resource if isinstance(resource, bytes) else orjson.dumps(resource)
    return Response(content=body, status_code=status, media_type=FHIR_JSON, headers=headers)


def problem_document(status: int, problems: list[Problem]) -> dict[str, Any]:
    """An RFC 9457 problem document: `title` the HTTP reason, `detail` every problem in words, and `problems` each
    with its FHIR issue code and where it is (a field path)."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": " ".join(_sentence(p.diagnostics) for p in problems),
        "problems": [{"code": p.code, "detail": p.diagnostics, "where": p.expression} for p in problems],
    }


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:].rstrip(".") + "."


def _is_fhir(request: Request) -> bool:
    """The FHIR face, a CDS Hooks call, or a request that sent FHIR (an enrollment feed to the staff face): both get FHIR errors."""
    if request.url.path == FHIR_PREFIX or request.url.path.startswith(FHIR_PREFIX + "/"):
        return True
    if request.url.path.startswith("/cds-services/"):
        return True  # CRD hook-10: a hook's refusal is an OperationOutcome
    return request.headers.get("content-type", "").startswith("application/fhir+")


def render(request: Request, status: int, problems: list[Problem], headers: dict[str, str] | None = None) -> Response:
    """The face's rendering of a refusal."""
    if _is_fhir(request):
        return fhir_response(status, operation_outcome(problems), headers)
    return Response(
        orjson.dumps(problem_document(status, problems)), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def validation_problems(errors: Any) -> list[Problem]:
    """FastAPI's request-validation errors as problems, each with the FHIR issue code its pydantic type maps to."""
    problems = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        kind = str(error.get("type", ""))
        code = _ISSUE_CODE_BY_PYDANTIC_TYPE.get(kind, "value")
        problems.append(Problem(code, str(error.get("msg")), ".".join(location) or None))
    return problems


def install(app: FastAPI) -> None:
    """Register the handlers."""

    @app.exception_handler(ServiceError)
    async def _refused(request: Request, exc: ServiceError) -> Response:
        log.info("request refused", extra={"status": exc.status, "problems": len(exc.problems)})
        return render(request, exc.status, list(exc.problems), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return render(request, 400 if _is_fhir(request) else 422, validation_problems(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _ISSUE_CODE_BY_STATUS.get(exc.status_code, "exception")
        return render(request, exc.status_code, [Problem(code, str(exc.detail))], dict(exc.headers or {}))

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        # e.g. a NUL character PostgreSQL text cannot hold: the caller's value, not our fault, and nothing was stored.
        problem = Problem(
            "invalid", "A value in the request cannot be stored or compared (for example a NUL character)."
        )
        return render(request, 400, [problem])

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        problem = Problem("transient", "The service's database is unavailable; nothing was stored. Retry shortly.")
        return render(request, 503, [problem], {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return render(request, 500, [Problem("exception", "An internal error occurred; nothing was stored.")])
