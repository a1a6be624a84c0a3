"""DTR through HTTP: CRD names the rule pack's form for an order that needs documentation, $questionnaire-package
hands it over (Questionnaire + draft QuestionnaireResponse, version-specific), and a PAS request carrying the
completed form is approved at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_crd import call, information, order_sign

from um_service.decision.testcases import questionnaire_response

from conftest import AuthClient, Clock, post_fhir, review_codes, submit

pytestmark = pytest.mark.commits  # the EHR client is registered with the CLI, in its own transaction
FORMS = "http://example-health-plan.org/fhir/Questionnaire/"


def parameters(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parts)}


def packaged(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["resourceType"] == "Parameters"
    return [p["resource"] for p in body["parameter"] if p["name"] == "packagebundle"]


def test_crd_names_the_form_and_the_package_serves_it_for_the_assertion(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    hook = order_sign("72148")
    found = information(call(client, ehr_key, clock, "order-sign-crd", hook).json())
    [canonical] = found["questionnaire"]
    [assertion_id] = found["coverage-assertion-id"]
    url, version = canonical.split("|")

    answer = post_fhir(
        client,
        "/fhir/Questionnaire/$questionnaire-package",
        parameters(
            {"name": "coverage", "resource": hook["prefetch"]["coverage"]},
            {"name": "context", "valueString": assertion_id},
        ),
    )

    assert url == FORMS + "imaging-lumbar-mri-form"
    assert found["doc-needed"] == ["clinical"]
    assert "complete the plan's questionnaire (DTR)" in found["reason"][0]["text"]
    [bundle] = packaged(answer)
    questionnaire, draft = (e["resource"] for e in bundle["entry"])
    assert (questionnaire["resourceType"], questionnaire["url"], questionnaire["version"]) == (
        "Questionnaire",
        url,
        version,
    )
    assert [i["linkId"] for i in questionnaire["item"]] == ["conservative-therapy-weeks", "red-flag"]
    assert [o["valueCoding"]["code"] for o in questionnaire["item"][1]["answerOption"]] == [
        "cauda-equina",
        "infection",
        "fracture",
        "malignancy",
        "none",
    ]
    assert questionnaire["item"][0]["extension"][0]["valueCoding"] == {
        "system": "http://unitsofmeasure.org",
        "code": "wk",
    }
    assert (draft["resourceType"], draft["status"], draft["questionnaire"]) == (
        "QuestionnaireResponse",
        "in-progress",
        canonical,
    )
    assert draft["subject"] == {"reference": "Patient/p-crd"}


def test_the_package_at_the_base_picks_the_forms_of_the_orders(client: AuthClient) -> None:
    order = {
        "resourceType": "DeviceRequest",
        "id": "dr-1",
        "status": "draft",
        "intent": "order",
        "codeCodeableConcept": {
            "coding": [{"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "E0601"}]
        },
        "subject": {"reference": "Patient/p-9"},
    }

    bundles = packaged(
        post_fhir(client, "/fhir/$questionnaire-package", parameters({"name": "order", "resource": order}))
    )

    assert [b["entry"][0]["resource"]["url"] for b in bundles] == [FORMS + "dme-cpap-form"]
    draft = bundles[0]["entry"][1]["resource"]
    assert draft["extension"] == [
        {
            "url": "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/qr-context",
            "valueReference": {"reference": "DeviceRequest/dr-1"},
        }
    ]


def test_an_unknown_questionnaire_is_a_warning_and_an_unknown_context_a_404(client: AuthClient) -> None:
    missing = post_fhir(
        client,
        "/fhir/Questionnaire/$questionnaire-package",
        parameters({"name": "questionnaire", "valueCanonical": FORMS + "no-such-form"}),
    )
    unknown = post_fhir(
        client, "/fhir/Questionnaire/$questionnaire-package", parameters({"name": "context", "valueString": "nope"})
    )
    empty = post_fhir(client, "/fhir/Questionnaire/$questionnaire-package", parameters())

    assert packaged(missing) == []
    [outcome] = [p["resource"] for p in missing.json()["parameter"] if p["name"] == "outcome"]
    assert outcome["issue"][0]["diagnostics"] == f"No questionnaire {FORMS}no-such-form here."
    assert unknown.status_code == 404
    assert "no coverage assertion 'nope'" in unknown.json()["issue"][0]["diagnostics"]
    assert empty.status_code == 400
    assert "at least one order, questionnaire or context" in empty.json()["issue"][0]["diagnostics"]


def test_the_completed_form_approves_the_pas_request_at_once(client: AuthClient) -> None:
    from um_service.decision.testcases import ItemSpec, RequestSpec, build_request

    bundles = Path(__file__).parents[1] / "rules" / "tests" / "bundles"
    request = build_request(RequestSpec(items=(ItemSpec(sequence=1, code="72148"),), diagnoses=("M54.16",)), bundles)
    form = packaged(
        post_fhir(
            client,
            "/fhir/Questionnaire/$questionnaire-package",
            parameters({"name": "questionnaire", "valueCanonical": FORMS + "imaging-lumbar-mri-form"}),
        )
    )[0]["entry"][0]["resource"]
    claim = request["entry"][0]["resource"]
    completed = questionnaire_response(
        {"conservative-therapy-weeks": 7, "red-flag": "none"}, claim["patient"]["reference"]
    )
    completed["questionnaire"] = f"{form['url']}|{form['version']}"
    request["entry"].append({"fullUrl": "urn:uuid:8d1f0c2e-1111-4a4a-9b9b-000000000001", "resource": completed})
    claim["supportingInfo"] = [
        {
            "sequence": 1,
            "category": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes",
                        "code": "additionalInformation",
                    }
                ]
            },
            "valueReference": {"reference": "urn:uuid:8d1f0c2e-1111-4a4a-9b9b-000000000001"},
        }
    ]

    answer = submit(client, request)
    assert review_codes(answer.json()) == {1: "A1"}, answer.text


def test_the_test_kits_package_request_gets_parameters(client: AuthClient) -> None:
    body = json.loads((Path(__file__).parent / "fixtures" / "dtr" / "questionnaire-package-request.json").read_text())

    answer = post_fhir(client, "/fhir/Questionnaire/$questionnaire-package", body)

    # Home oxygen needs no form in the shipped pack: Parameters with no package (DTR 2.2, "no forms needed").
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"resourceType": "Parameters", "parameter": []}


def test_crd_to_dtr_to_pas_in_one_round_trip(client: AuthClient, clock: Clock, ehr_key: Any) -> None:
    """The clinician orders; CRD says documentation is needed and names the form; DTR hands it over for the CRD
    assertion; the clinician answers its questions; PAS approves the request carrying the answers at once."""
    from um_service.decision.testcases import ItemSpec, RequestSpec, build_request

    bundles = Path(__file__).parents[1] / "rules" / "tests" / "bundles"
    request = build_request(RequestSpec(items=(ItemSpec(sequence=1, code="72148"),), diagnoses=("M54.16",)), bundles)
    claim = request["entry"][0]["resource"]
    hook = order_sign("72148")
    crd = information(call(client, ehr_key, clock, "order-sign-crd", hook).json())
    assert (crd["pa-needed"], crd["doc-needed"]) == (["auth-needed"], ["clinical"])

    package = packaged(
        post_fhir(
            client,
            "/fhir/Questionnaire/$questionnaire-package",
            parameters(
                {"name": "coverage", "resource": hook["prefetch"]["coverage"]},
                {"name": "context", "valueString": crd["coverage-assertion-id"][0]},
            ),
        )
    )[0]
    form, draft = (e["resource"] for e in package["entry"])
    answers = {"conservative-therapy-weeks": 9, "red-flag": "none"}
    assert [i["linkId"] for i in form["item"]] == list(answers)
    completed = draft | questionnaire_response(answers, claim["patient"]["reference"])
    completed["questionnaire"] = crd["questionnaire"][0]
    completed.pop("extension", None)  # its qr-context / qr-coverage name the EHR's resources, not this Bundle's
    request["entry"].append({"fullUrl": "urn:uuid:3a3a3a3a-4444-4c4c-9d9d-000000000003", "resource": completed})

    answer = submit(client, request)

    assert review_codes(answer.json()) == {1: "A1"}, answer.text
