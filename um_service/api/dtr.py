"""The DTR face (base /fhir): $questionnaire-package (at the type level and at the base, as the IG shows both) and
the adaptive $next-question."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ..dtr import adaptive as adaptive_forms
from ..dtr import packages
from ..fhir import questionnaire
from ..fhir.envelope import read_json
from .deps import ContextDep, FhirAccept, FhirBody, SettingsDep, WorkDep
from .errors import FHIR_JSON, fhir_response

router = APIRouter(prefix="/fhir", tags=["DTR 2.2"], dependencies=[FhirAccept])
_OUTCOME = {"description": "OperationOutcome", "content": {FHIR_JSON: {"schema": {"type": "object"}}}}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Parameters: one packagebundle per form",
        "content": {FHIR_JSON: {"schema": {"type": "object"}}},
    },
    **dict.fromkeys((400, 404, 415, 422), _OUTCOME),
}


async def _package(body: bytes, work: WorkDep, context: ContextDep, settings: SettingsDep) -> Response:
    def package(session: Session) -> packages.Packages:
        request = questionnaire.read_package_request(read_json(body, limits=context.limits))
        return packages.package(
            session, request, rules=context.rules, base=settings.canonical_base, today=context.now.date()
        )

    found = await work.run(package)
    return fhir_response(200, questionnaire.package_output(found.bundles, found.warnings))


@router.post("/Questionnaire/$questionnaire-package", response_class=Response, responses=_ANSWERS)
async def questionnaire_package(body: FhirBody, work: WorkDep, context: ContextDep, settings: SettingsDep) -> Response:
    """The forms (Questionnaire + draft QuestionnaireResponse) the rules need for the given orders or CRD context."""
    return await _package(body, work, context, settings)


@router.post("/$questionnaire-package", response_class=Response, responses=_ANSWERS)
async def questionnaire_package_at_base(
    body: FhirBody, work: WorkDep, context: ContextDep, settings: SettingsDep
) -> Response:
    """$questionnaire-package at the FHIR base (as the DTR IG's prose shows it)."""
    return await _package(body, work, context, settings)


@router.post("/Questionnaire/$next-question", response_class=Response, responses=_ANSWERS)
async def next_question(body: FhirBody, work: WorkDep, context: ContextDep, settings: SettingsDep) -> Response:
    """Adaptive form: the next question whose answer can still change the rules' decision, or the completed response
    with the coverage information those answers lead to (Parameters `return`)."""

    def step(session: Session) -> dict[str, Any]:
        adaptive = questionnaire.read_next_question(read_json(body, limits=context.limits))
        return adaptive_forms.step(
            session,
            adaptive,
            rules=context.rules,
            base=settings.canonical_base,
            now=context.now,
            client_id=context.submitter,
        )

    response = await work.run(step)
    return fhir_response(200, questionnaire.next_question_output(response))
