"""Adaptive DTR through HTTP ($next-question): the rules ask only what can still change their decision, complete as
soon as they can decide (with the coverage information PAS would give), refuse answers that do not fit with 400, and
the completed response approves the PAS request at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from um_service.decision.testcases import ItemSpec, RequestSpec, build_request

from conftest import AuthClient, post_fhir, review_codes, submit

FORMS = "http://example-health-plan.org/fhir/Questionnaire/"
DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
CI = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
NEXT = "/fhir/Questionnaire/$next-question"


def start(form: str) -> dict[str, Any]:
    """The adaptive response a DTR client starts with: an empty contained Questionnaire derived from the form."""
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "adaptive-1",
        "contained": [{"resourceType": "Questionnaire", "id": "q", "status": "active", "derivedFrom": [FORMS + form]}],
        "questionnaire": "#q",
        "status": "in-progress",
        "extension": [{"url": DTR + "qr-coverage", "valueReference": {"reference": "Coverage/cov-1"}}],
        "subject": {"reference": "Patient/p-1"},
        "item": [],
    }


def ask(client: AuthClient, response: dict[str, Any]) -> Any:
    return post_fhir(
        client,
        NEXT,
        {"resourceType": "Parameters", "parameter": [{"name": "questionnaire-response", "resource": response}]},
    )


def returned(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    [parameter] = answer.json()["parameter"]
    assert parameter["name"] == "return"
    return dict(parameter["resource"])


def asked_ids(response: dict[str, Any]) -> list[str]:
    return [i["linkId"] for i in response["contained"][0].get("item", [])]


def answering(response: dict[str, Any], link_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return response | {"item": [*response["item"], {"linkId": link_id, "answer": [value]}]}


def information(response: dict[str, Any]) -> dict[str, list[Any]]:
    [extension] = [e for e in response["extension"] if e["url"] == CI]
    found: dict[str, list[Any]] = {}
    for part in extension["extension"]:
        found.setdefault(part["url"], []).append(next(v for k, v in part.items() if k.startswith("value")))
    return found


def test_enough_therapy_completes_at_once_and_the_response_approves_the_pas_request(client: AuthClient) -> None:
    first = returned(ask(client, start("imaging-lumbar-mri-form")))
    done = returned(ask(client, answering(first, "conservative-therapy-weeks", {"valueInteger": 8})))

    assert (first["status"], asked_ids(first)) == ("in-progress", ["conservative-therapy-weeks"])
    assert first["contained"][0]["item"][0]["type"] == "integer"
    assert (done["status"], asked_ids(done)) == ("completed", ["conservative-therapy-weeks"])  # red flags never asked
    found = information(done)
    assert (found["covered"], found["pa-needed"]) == (["covered"], ["auth-needed"])
    assert "approved on receipt" in found["reason"][0]["text"]
    assert found["coverage"] == [{"reference": "Coverage/cov-1"}]

    assert review_codes(submit(client, lumbar_mri_with(done)).json()) == {1: "A1"}


def lumbar_mri_with(form: dict[str, Any]) -> dict[str, Any]:
    """A PAS request for a lumbar MRI carrying a completed form, as a DTR client would put it in: the subject and
    coverage it names are the request's own."""
    bundles = Path(__file__).parents[1] / "rules" / "tests" / "bundles"
    request = build_request(RequestSpec(items=(ItemSpec(sequence=1, code="72148"),), diagnoses=("M54.16",)), bundles)
    claim = request["entry"][0]["resource"]
    carried = json.loads(json.dumps(form).replace("Coverage/cov-1", claim["insurance"][0]["coverage"]["reference"]))
    carried["subject"] = claim["patient"]
    request["entry"].append({"fullUrl": "urn:uuid:0f0e0d0c-2222-4b4b-8c8c-000000000002", "resource": carried})
    return request


def test_too_little_therapy_asks_for_red_flags_then_says_documents_are_needed(client: AuthClient) -> None:
    first = returned(ask(client, start("imaging-lumbar-mri-form")))
    second = returned(ask(client, answering(first, "conservative-therapy-weeks", {"valueInteger": 2})))
    done = returned(ask(client, answering(second, "red-flag", {"valueCoding": {"code": "none"}})))

    assert asked_ids(second) == ["conservative-therapy-weeks", "red-flag"]
    assert [o["valueCoding"]["code"] for o in second["contained"][0]["item"][1]["answerOption"]][-1] == "none"
    assert second["status"] == "in-progress"
    assert done["status"] == "completed"
    found = information(done)
    assert (found["pa-needed"], found["doc-needed"], found["doc-purpose"]) == (
        ["auth-needed"],
        ["clinical"],
        ["withpa"],
    )


def test_an_answer_that_settles_a_condition_false_ends_the_form_without_the_other_questions(client: AuthClient) -> None:
    first = returned(ask(client, start("dme-cpap-form")))
    done = returned(ask(client, answering(first, "ahi", {"valueDecimal": 3.0})))

    assert asked_ids(first) == ["ahi"]
    assert (done["status"], asked_ids(done)) == ("completed", ["ahi"])  # no sleep-study date: nothing it could change


def test_answers_that_do_not_fit_the_form_are_refused_with_400(client: AuthClient) -> None:
    first = returned(ask(client, start("imaging-lumbar-mri-form")))
    wrong_type = ask(client, answering(first, "conservative-therapy-weeks", {"valueString": "eight"}))
    wrong_code = ask(client, answering(first, "red-flag", {"valueCoding": {"code": "headache"}}))
    not_ours = ask(client, answering(first, "favourite-colour", {"valueString": "blue"}))
    unknown_form = ask(client, start("no-such-form"))

    assert wrong_type.status_code == 400
    assert "'conservative-therapy-weeks' takes valueInteger; got valueString" in wrong_type.text
    assert wrong_code.status_code == 400
    assert (
        "'red-flag' takes one of cauda-equina, infection, fracture, malignancy, none; got 'headache'" in wrong_code.text
    )
    assert not_ours.status_code == 400
    assert "'favourite-colour' is not a question of form imaging-lumbar-mri-form" in not_ours.text
    assert wrong_type.json()["resourceType"] == "OperationOutcome"
    assert unknown_form.status_code == 404
