"""The FHIR face (base /fhir): PAS $submit and $inquire, and ClaimResponse read and search. Thin: each route
reads its input, runs one domain function inside one transaction, and renders the answer."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response

from ..errors import NotFound, Problem, ServiceError
from ..fhir.capability import capability_statement
from ..fhir.search import searchset
from ..pas import claim_responses, inquiry, intake
from .auth import token_url
from .deps import ContextDep, FhirAccept, FhirBody, SessionDep, SettingsDep, WorkDep, fhir_base_url
from .errors import FHIR_JSON, fhir_response

router = APIRouter(prefix="/fhir", tags=["FHIR (PAS 2.2)"], dependencies=[FhirAccept])

_OUTCOME = {
    "description": "OperationOutcome saying what is wrong and where",
    "content": {FHIR_JSON: {"schema": {"type": "object"}}},
}
_BUNDLE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {FHIR_JSON: {"schema": {"type": "object", "title": "Bundle"}}},
    }
}


# What a PAS operation may answer besides 200 (each an OperationOutcome).
_OPERATION_ERRORS: dict[int | str, dict[str, Any]] = dict.fromkeys((400, 406, 413, 415, 422), _OUTCOME)


def _fhir(description: str) -> dict[str, Any]:
    return {"description": description, "content": {FHIR_JSON: {"schema": {"type": "object"}}}}


def _software_version() -> str:
    try:
        return version("um-service")
    except PackageNotFoundError:
        return "unknown"


@router.get("/metadata", response_class=Response, responses={200: _fhir("CapabilityStatement")})
def metadata(request: Request, settings: SettingsDep) -> Response:
    """The CapabilityStatement: FHIR 4.0.1, the PAS operations, and the ClaimResponse read and searches."""
    statement = capability_statement(
        base_url=fhir_base_url(request, settings),
        token_url=token_url(request),
        software_version=_software_version(),
        published=request.app.state.started,
    )
    return fhir_response(200, statement)


def _operation(path: str, answer: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A PAS operation: a Bundle in, `answer` or an OperationOutcome out."""
    return router.post(
        path,
        response_class=Response,
        openapi_extra=_BUNDLE_BODY,
        responses={200: _fhir(answer), **_OPERATION_ERRORS},
    )


@_operation("/Claim/$submit", "PAS Response Bundle (ClaimResponse first); outcome 'error' for a business refusal")
async def submit(body: FhirBody, work: WorkDep, context: ContextDep) -> Response:
    """Submit a PAS Request Bundle: a new request, a Claim Update, or a cancellation (PAS $submit)."""
    answer = await work.run(intake.submit, raw=body, context=context)
    return fhir_response(200, answer)


@_operation("/Claim/$inquire", "Parameters with one 'return' PAS Inquiry Response Bundle per matching request")
async def inquire(body: FhirBody, work: WorkDep, context: ContextDep) -> Response:
    """Inquire about earlier requests with a PAS Inquiry Request Bundle (PAS $inquire)."""
    parameters = await work.run(inquiry.inquire, raw=body, context=context)
    return fhir_response(200, parameters)


@router.get(
    "/ClaimResponse/{claim_response_id}",
    response_class=Response,
    responses={
        200: _fhir("The current ClaimResponse"),
        304: {"description": "Not modified (If-None-Match)"},
        404: _OUTCOME,
    },
)
def read_claim_response(claim_response_id: str, request: Request, session: SessionDep, context: ContextDep) -> Response:
    """Read the current ClaimResponse of a request; the ETag is its version."""
    current = claim_responses.read(
        session, claim_response_id, submitter=context.submitter if context.organization else None
    )
    if current is None:
        raise NotFound(f"ClaimResponse/{claim_response_id} is not known.")
    etag = f'W/"{current.version}"'
    headers = {"ETag": etag, "Last-Modified": current.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return fhir_response(200, current.resource, headers)


_SEARCH_PARAMS = frozenset({"identifier", "patient.identifier", "status", "_count", "_offset", "_format"})


@router.get(
    "/ClaimResponse",
    response_class=Response,
    responses={
        200: _fhir("searchset Bundle of current ClaimResponses"),
        304: {"description": "Not modified"},
        400: _OUTCOME,
    },
)
def search_claim_responses(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    identifier: Annotated[list[str] | None, Query(description="system|value of Claim.identifier or preAuthRef")] = None,
    patient_identifier: Annotated[
        list[str] | None,
        Query(alias="patient.identifier", description="system|value of a patient or member id"),
    ] = None,
    status: Annotated[list[str] | None, Query()] = None,
    count: Annotated[int, Query(alias="_count", ge=0, le=100)] = 20,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=1_000_000)] = 0,
) -> Response:
    """Search the current ClaimResponses by identifier, patient.identifier and status (for portals that poll)."""
    unknown = sorted(set(request.query_params.keys()) - _SEARCH_PARAMS)
    if unknown:
        raise ServiceError(
            400,
            [
                Problem(
                    "not-supported",
                    f"Unsupported search parameter {name!r}; supported: {', '.join(sorted(_SEARCH_PARAMS))}.",
                    name,
                )
                for name in unknown
            ],
        )
    total, found = claim_responses.search(
        session,
        identifiers=[[claim_responses.parse_token(v) for v in value.split(",")] for value in identifier or []],
        patient_identifiers=[
            [claim_responses.parse_token(v) for v in value.split(",")] for value in patient_identifier or []
        ],
        statuses=[s for value in status or [] for s in value.split(",")],
        payer_system=settings.payer_identifier_system,
        count=count,
        offset=offset,
        submitter=context.submitter if context.organization else None,
    )
    bundle, etag = searchset(
        [(c.resource, c.version) for c in found],
        total=total,
        base_url=fhir_base_url(request, settings),
        query=request.query_params.multi_items(),
        count=count,
        offset=offset,
    )
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return fhir_response(200, bundle, {"ETag": etag})


def add_request_examples(app: FastAPI, examples_dir: Path) -> None:
    """Show examples/pas-request.json as the $submit request example of the OpenAPI document (when shipped)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            example = examples_dir / "pas-request.json"
            if example.is_file():
                body = document["paths"]["/fhir/Claim/$submit"]["post"]["requestBody"]["content"][FHIR_JSON]
                body["example"] = orjson.loads(example.read_bytes())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
