"""$inquire: Parameters with one PAS Inquiry Response Bundle per matching request, always the current state."""

from __future__ import annotations

import copy
from typing import Any

from builders import cancelled, claim_of, item, request_bundle, update_of
from conftest import example, post_fhir, submit
from pas_checks import assert_operation_outcome, assert_valid_fhir, review_code_of

INQUIRY_RESPONSE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claiminquiryresponse"


def inquiry_for(request: dict[str, Any]) -> dict[str, Any]:
    """An inquiry naming the same patient, provider, insurer and identifier as `request`."""
    inquiry = copy.deepcopy(request)
    claim = claim_of(inquiry)
    claim["id"] = "inquiry-1"
    inquiry["identifier"] = {"system": "urn:test:transaction", "value": "INQ-1"}
    return inquiry


def inquire(client: Any, inquiry: dict[str, Any]) -> list[dict[str, Any]]:
    response = post_fhir(client, "/fhir/Claim/$inquire", inquiry)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Parameters"
    assert_valid_fhir(body)
    returns = body.get("parameter", [])
    assert all(p["name"] == "return" for p in returns)
    return [p["resource"] for p in returns]


def codes_of(bundle: dict[str, Any]) -> dict[int, str | None]:
    return {i["itemSequence"]: review_code_of(i) for i in bundle["entry"][0]["resource"]["item"]}


def test_the_ig_inquiry_finds_the_ig_homecare_request(client: Any) -> None:
    submitted = submit(client, example("ig-2.2.1/submit-homecare-request.json")).json()

    bundles = inquire(client, example("ig-2.2.1/inquire-request.json"))

    assert len(bundles) == 1
    bundle = bundles[0]
    claim_response = bundle["entry"][0]["resource"]
    assert claim_response["resourceType"] == "ClaimResponse"
    assert claim_response["meta"]["profile"] == [INQUIRY_RESPONSE]
    assert claim_response["preAuthRef"] == submitted["entry"][0]["resource"]["preAuthRef"]
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert claim_response["request"]["reference"] in urls, "the Claim it answers is included"
    assert codes_of(bundle) == {1: "A1", 2: "A4"}


def test_the_answer_is_the_current_state_after_an_update(client: Any) -> None:
    first = request_bundle(items=[item(1), item(2)])
    submit(client, first)
    submit(client, update_of(first, claim_id="claim-2", items=[item(1), cancelled(item(2))]))

    bundles = inquire(client, inquiry_for(first))

    assert [codes_of(b) for b in bundles] == [{1: "A4", 2: "C"}]
    assert bundles[0]["entry"][0]["resource"]["meta"]["versionId"] == "2"


def test_an_inquiry_for_another_member_finds_nothing(client: Any) -> None:
    submit(client, request_bundle(member_id="MBR-1"))

    assert inquire(client, inquiry_for(request_bundle(member_id="MBR-2"))) == []


def test_an_inquiry_from_another_provider_finds_nothing(client: Any) -> None:
    submit(client, request_bundle(provider_npi="1111111111"))

    assert inquire(client, inquiry_for(request_bundle(provider_npi="2222222222"))) == []


def test_an_inquiry_to_another_insurer_finds_nothing(client: Any) -> None:
    submit(client, request_bundle(insurer_id="PAYER-01"))

    assert inquire(client, inquiry_for(request_bundle(insurer_id="PAYER-02"))) == []


def test_the_same_member_provider_and_insurer_find_only_the_requests_of_all_three(client: Any) -> None:
    ours = request_bundle(identifier="REQ-A", member_id="MBR-1")
    submit(client, ours)
    submit(client, request_bundle(identifier="REQ-B", member_id="MBR-1", insurer_id="PAYER-02"))
    submit(client, request_bundle(identifier="REQ-C", member_id="MBR-2"))

    inquiry = inquiry_for(request_bundle(member_id="MBR-1"))
    del claim_of(inquiry)["identifier"]  # any request of theirs

    bundles = inquire(client, inquiry)

    claims = [e["resource"] for b in bundles for e in b["entry"] if e["resource"]["resourceType"] == "Claim"]
    assert [c["identifier"][0]["value"] for c in claims] == ["REQ-A"]


def test_an_inquiry_by_our_authorization_number_finds_the_request(client: Any) -> None:
    request = request_bundle(identifier="REQ-X")
    preauth_ref = submit(client, request).json()["entry"][0]["resource"]["preAuthRef"]
    inquiry = inquiry_for(request)
    claim = claim_of(inquiry)
    claim["identifier"] = [{"system": "urn:test:inquiry", "value": "INQ-TRN-77"}]
    claim["extension"] = [
        {
            "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-authorizationNumber",
            "valueString": preauth_ref,
        }
    ]

    bundles = inquire(client, inquiry)

    assert len(bundles) == 1


def test_an_inquiry_lists_every_matching_request(client: Any) -> None:
    submit(client, request_bundle(identifier="REQ-1"))
    submit(client, request_bundle(identifier="REQ-2", items=[item(1, "70551")]))
    inquiry = inquiry_for(request_bundle())
    del claim_of(inquiry)["identifier"]

    assert len(inquire(client, inquiry)) == 2


def test_the_test_kit_inquiry_after_pend_finds_the_kit_request(client: Any) -> None:
    # The kit's inquiry names the insurer by another NPI than its submission (789312 vs 7893120007) but by the
    # same EIN (7239994834); any shared identifier identifies the insurer.
    submit(client, example("testkit-2.2.1/server-suite-requests/submit-request-for-approval.json"))

    bundles = inquire(client, example("testkit-2.2.1/server-suite-requests/inquire-request-after-pend-1.json"))

    assert [codes_of(b) for b in bundles] == [{1: "A1", 2: "A1"}]


def test_an_inquiry_without_a_member_id_is_refused(client: Any) -> None:
    inquiry = inquiry_for(request_bundle())
    for entry in inquiry["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in ("Patient", "Coverage"):
            resource.pop("identifier", None)
            resource.pop("subscriberId", None)

    response = post_fhir(client, "/fhir/Claim/$inquire", inquiry)

    assert response.status_code == 422
    assert_operation_outcome(response.json())
