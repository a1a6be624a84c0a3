"""One place that turns errors into answers: OperationOutcome on the FHIR face, a JSON problem on the staff face."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..fhir.outcome import FhirError, Problem, operation_outcome
from ..review.actions import ReviewError
from ..review.routing import RoutingError

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
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


def fhir_response(status: int, resource: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Response:
    """An application/fhir+json answer."""
    body = resource if isinstance(resource, bytes) else orjson.dumps(resource)
    return Response(content=body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _is_fhir(request: Request) -> bool:
    return request.url.path == FHIR_PREFIX or request.url.path.startswith(FHIR_PREFIX + "/")


def _answer(request: Request, status: int, problems: list[Problem], headers: dict[str, str] | None = None) -> Response:
    if _is_fhir(request):
        return fhir_response(status, operation_outcome(problems), headers)
    detail = [{"message": p.diagnostics, "where": p.expression} for p in problems]
    return JSONResponse({"status": status, "detail": detail}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers."""

    @app.exception_handler(FhirError)
    async def _fhir_error(request: Request, exc: FhirError) -> Response:
        log.info("request refused", extra={"status": exc.status, "problems": len(exc.problems)})
        return _answer(request, exc.status, list(exc.problems), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
            problems.append(Problem("invalid", str(error.get("msg")), ".".join(location) or None))
        return _answer(request, 400 if _is_fhir(request) else 422, problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if not _is_fhir(request):
            return JSONResponse(
                {"status": exc.status_code, "detail": exc.detail}, status_code=exc.status_code, headers=headers
            )
        code = _ISSUE_CODE_BY_STATUS.get(exc.status_code, "exception")
        return _answer(request, exc.status_code, [Problem(code, str(exc.detail))], headers)

    @app.exception_handler(ReviewError)
    @app.exception_handler(RoutingError)
    async def _refused(request: Request, exc: Exception) -> Response:
        status = int(getattr(exc, "status", 409))
        return JSONResponse({"status": status, "detail": str(exc)}, status_code=status)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        # e.g. a NUL character PostgreSQL text cannot hold: the caller's value, not our fault, and nothing was stored.
        problem = Problem(
            "invalid", "A value in the request cannot be stored or compared (for example a NUL character)."
        )
        return _answer(request, 400, [problem])

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        problem = Problem("transient", "The service's database is unavailable; nothing was stored. Retry shortly.")
        return _answer(request, 503, [problem], {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return _answer(request, 500, [Problem("exception", "An internal error occurred; nothing was stored.")])
