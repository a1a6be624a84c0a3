"""The DTR face (base /fhir): $questionnaire-package (at the type level and at the base, as the IG shows both) and
the adaptive $next-question."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ..dtr import adaptive as adaptive_forms
from ..dtr import packages
from ..fhir import questionnaire
from ..fhir.envelope import read_json
from .deps import ContextDep, FhirAccept, FhirBody, SessionDep, SettingsDep
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


def _package(body: bytes, session: SessionDep, context: ContextDep, settings: SettingsDep) -> Response:
    request = questionnaire.read_package_request(read_json(body, limits=context.limits))
    found = packages.package(
        session, request, rules=context.rules, base=settings.canonical_base, today=context.now.date()
    )
    return fhir_response(200, questionnaire.package_output(found.bundles, found.warnings))


@router.post("/Questionnaire/$questionnaire-package", response_class=Response, responses=_ANSWERS)
def questionnaire_package(body: FhirBody, session: SessionDep, context: ContextDep, settings: SettingsDep) -> Response:
    """The forms (Questionnaire + draft QuestionnaireResponse) the rules need for the given orders or CRD context."""
    return _package(body, session, context, settings)


@router.post("/$questionnaire-package", response_class=Response, responses=_ANSWERS)
def questionnaire_package_at_base(
    body: FhirBody, session: SessionDep, context: ContextDep, settings: SettingsDep
) -> Response:
    """$questionnaire-package at the FHIR base (as the DTR IG's prose shows it)."""
    return _package(body, session, context, settings)


@router.post("/Questionnaire/$next-question", response_class=Response, responses=_ANSWERS)
def next_question(body: FhirBody, session: SessionDep, context: ContextDep, settings: SettingsDep) -> Response:
    """Adaptive form: the next question whose answer can still change the rules' decision, or the completed response
    with the coverage information those answers lead to (Parameters `return`)."""
    adaptive = questionnaire.read_next_question(read_json(body, limits=context.limits))
    response = adaptive_forms.step(
        session,
        adaptive,
        rules=context.rules,
        base=settings.canonical_base,
        now=context.now,
        client_id=context.submitter,
    )
    return fhir_response(200, questionnaire.next_question_output(response))
