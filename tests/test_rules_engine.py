"""The rules engine through real HTTP: approvals (A1 + preAuthRef), no-auth (NA), pends (A4) with documentation
requests, the trace staff see, and a documentation request answered by an update."""

from __future__ import annotations

import copy
from typing import Any

from builders import PAS, changed, claim_of, item, request_bundle, update_of
from conftest import review_codes, submit
from pas_checks import assert_response_bundle, review_code_of

LOINC = "http://loinc.org"


def lumbar_mri_request(**kwargs: Any) -> dict[str, Any]:
    bundle = request_bundle(items=[item(1, "72148")], **kwargs)
    claim_of(bundle)["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] = "M54.16"
    return bundle


def with_progress_note(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle = copy.deepcopy(bundle)
    url = "urn:uuid:7d1c0e1e-0000-4000-8000-00000000note"
    bundle["entry"].append(
        {
            "fullUrl": url,
            "resource": {
                "resourceType": "DocumentReference",
                "id": "progress-note",
                "status": "current",
                "type": {"coding": [{"system": LOINC, "code": "11506-3"}]},
                "content": [{"attachment": {"contentType": "text/plain", "data": "U2l4IHdlZWtzIG9mIFBUIGRvbmUu"}}],
            },
        }
    )
    claim_of(bundle)["supportingInfo"] = [
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
            "valueReference": {"reference": url},
        }
    ]
    return bundle


def test_an_approved_item_carries_a1_the_authorization_number_and_period(client: Any) -> None:
    request = request_bundle(items=[item(1, "97110", quantity=10, date="2026-12-01")])

    body = submit(client, request).json()

    claim_response = assert_response_bundle(body, request)
    result = claim_response["item"][0]
    assert review_code_of(result) == "A1"
    review_action = result["adjudication"][0]["extension"][0]["extension"]
    assert {"url": "number", "valueString": claim_response["preAuthRef"]} in review_action
    extensions = {e["url"].rsplit("/", 1)[1]: e for e in result["extension"]}
    assert extensions["extension-itemPreAuthPeriod"]["valuePeriod"] == {"start": "2026-12-01", "end": "2027-02-28"}
    assert claim_response["preAuthPeriod"] == {"start": "2026-12-01", "end": "2027-02-28"}
    assert claim_response["outcome"] == "complete"


def test_no_auth_items_get_na_and_a_mixed_answer_is_partial(client: Any) -> None:
    request = request_bundle(items=[item(1, "99213"), item(2, "27447")])

    body = submit(client, request).json()

    assert review_codes(body) == {1: "NA", 2: "A4"}
    assert body["entry"][0]["resource"]["outcome"] == "partial"


def test_missing_documents_pend_with_a_pas_documentation_request(client: Any) -> None:
    body = submit(client, lumbar_mri_request()).json()

    claim_response = assert_response_bundle(body)
    assert review_codes(body) == {1: "A4"}
    (request,) = claim_response["contained"]
    assert request["resourceType"] == "CommunicationRequest"
    assert claim_response["communicationRequest"] == [{"reference": f"#{request['id']}"}]
    assert request["extension"] == [{"url": PAS + "extension-serviceLineNumber", "valuePositiveInt": 1}]
    assert request["payload"][0]["contentString"] == "11506-3"
    assert request["category"][0]["coding"][0] == {"system": "https://codesystem.x12.org/005010/755", "code": "09"}
    assert "progress notes" in claim_response["processNote"][0]["text"].lower()


def test_an_update_carrying_the_documents_gets_the_item_approved(client: Any) -> None:
    first = lumbar_mri_request()
    submit(client, first)
    update = with_progress_note(update_of(first, claim_id="claim-2", items=[item(1, "72148")]))

    body = submit(client, update).json()

    assert review_codes(body) == {1: "A1"}
    assert "contained" not in body["entry"][0]["resource"]


def test_staff_see_each_items_rule_version_and_trace(client: Any) -> None:
    claim_response = submit(client, lumbar_mri_request()).json()["entry"][0]["resource"]

    case = client.get(f"/um/cases/{claim_response['id']}").json()

    (case_item,) = case["items"]
    version = client.get("/um/admin/rules").json()["version"]
    assert case_item["review_action"] == "A4"
    assert case_item["rule_id"] == "imaging-lumbar-mri-conservative-therapy"
    assert case_item["ruleset_version"] == version
    assert case_item["queue"] == "imaging-review"
    assert case_item["documents_requested"][0]["loinc"] == "11506-3"
    steps = {(s.get("rule"), s.get("condition")): s for s in case_item["trace"]}
    red_flag = steps[("imaging-lumbar-mri-red-flags", "red-flag-diagnosis")]
    assert red_flag["value"] == [False]
    assert red_flag["holds"] is False
    assert steps[("imaging-lumbar-mri-conservative-therapy", "low-back-pain")]["value"] == [True]


def test_a_condition_over_missing_data_does_not_apply_the_rule(client: Any) -> None:
    request = request_bundle(items=[item(1, "72148")])
    del claim_of(request)["diagnosis"]
    del request["entry"][1]["resource"]["birthDate"]  # the pediatric rule's %ageYears is then unknown

    claim_response = submit(client, request).json()["entry"][0]["resource"]
    case = client.get(f"/um/cases/{claim_response['id']}").json()

    (case_item,) = case["items"]
    assert case_item["rule_id"] == "imaging-lumbar-mri-review"
    (age,) = [s for s in case_item["trace"] if s.get("condition") == "under-18"]
    assert age == {
        "rule": "imaging-pediatric-advanced",
        "condition": "under-18",
        "expression": "%ageYears < 18",
        "value": [],
        "missing": True,
        "holds": False,
    }


def test_the_rule_decision_follows_the_item_through_a_change(client: Any) -> None:
    first = request_bundle(items=[item(1, "97110", quantity=8)])
    assert review_codes(submit(client, first).json()) == {1: "A1"}

    update = update_of(first, claim_id="claim-2", items=[changed(item(1, "97110", quantity=30), "changed")])

    assert review_codes(submit(client, update).json()) == {1: "A4"}


def test_unknown_cases_are_404_on_the_staff_api(client: Any) -> None:
    response = client.get("/um/cases/nope")

    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_a_completed_form_in_the_request_gets_the_item_approved_at_once(client: Any) -> None:
    from pathlib import Path

    from um_service.decision.testcases import ItemSpec, RequestSpec, build_request

    bundles = Path(__file__).parents[1] / "rules" / "tests" / "bundles"
    form = RequestSpec(
        items=(ItemSpec(sequence=1, code="72148"),),
        diagnoses=("M54.16",),
        answers={"conservative-therapy-weeks": 8, "red-flag": "none"},
    )

    approved = submit(client, build_request(form, bundles)).json()
    too_soon = build_request(form.model_copy(update={"answers": {"conservative-therapy-weeks": 3}}), bundles)
    too_soon["entry"][0]["resource"]["identifier"][0]["value"] = "FORM-TOO-SOON"
    pended = submit(client, too_soon).json()

    assert review_codes(approved) == {1: "A1"}
    assert review_codes(pended) == {1: "A4"}
