"""Every file in tests/fixtures/pas: each valid request accepted with a well-formed PAS answer, each invalid
one refused with an OperationOutcome, none a 500. Where a published example is itself wrong, the decision is
pinned here with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import EXAMPLES, FHIR_JSON, example, post_fhir, review_codes, submit
from pas_checks import assert_operation_outcome, assert_response_bundle, assert_valid_fhir

# file -> what $submit answers on an empty database, under the shipped rules:
#   ("answered", {sequence: X12 306 code})   accepted
#   ("refused", code) HTTP 200, ClaimResponse.outcome = error with this X12 901 code (a business refusal)
#   (status, why)     4xx OperationOutcome
SUBMIT: dict[str, tuple[Any, Any]] = {
    # Item 1 (G0154 skilled nursing, home health information present) is approved by home-health-initial-episode;
    # item 2 (B4184, parenteral nutrition) has no rule and pends.
    "ig-2.2.1/submit-homecare-request.json": ("answered", {1: "A1", 2: "A4"}),
    "ig-2.2.1/submit-medical-services-request.json": ("answered", {1: "A4"}),
    # A consultation whose requestedService resolves to a ServiceRequest: referral-consultation approves it.
    "ig-2.2.1/submit-referral-request.json": ("answered", {1: "A1"}),
    # IG defect: its PractitionerRole cites a Practitioner and a Location the Bundle omits (PAS 2 requires
    # every referenced resource inside the Bundle). Refused, naming both references.
    "ig-2.2.1/submit-surgical-request.json": (422, "PractitionerRole references not in the Bundle"),
    # A Claim Update of a request this (empty) database never received.
    "ig-2.2.1/update-homecare-request.json": ("refused", "AA"),
    "ig-2.0.1/submit-homecare-request.json": ("answered", {1: "A1", 2: "A4"}),
    "ig-2.0.1/submit-medical-services-request.json": ("answered", {1: "A4"}),
    "ig-2.0.1/submit-referral-request.json": ("answered", {1: "A1"}),
    "ig-2.0.1/submit-surgical-request.json": (422, "same defect as the 2.2.1 surgical example"),
    # PAS 2.0.1 updates name no prior request (no Claim.related); under 2.2 a cancellation must, so they are refused.
    "ig-2.0.1/update-homecare-request.json": ("refused", "AA"),
    "ig-2.0.1/update-homecare-differential-request.json": ("refused", "AA"),
    "testkit-2.2.1/server-suite-requests/submit-request-for-approval.json": ("answered", {1: "A1", 2: "A1"}),
    # Byte-identical to the approval request; automation never denies, so it is approved the same way.
    "testkit-2.2.1/server-suite-requests/submit-request-for-denial.json": ("answered", {1: "A1", 2: "A1"}),
    # Its requestedService is a DeviceRequest, not a referral: no rule decides it, it pends for review.
    "testkit-2.2.1/server-suite-requests/submit-request-for-pend.json": ("answered", {1: "A4", 2: "A4"}),
    "testkit-2.2.1/server-suite-requests/claim-update-1-initial-request.json": ("answered", {1: "A1"}),
    "testkit-2.2.1/server-suite-requests/claim-update-2-add-item-request.json": ("refused", "AA"),
    "testkit-2.2.1/server-suite-requests/claim-update-3-modify-and-cancel-request.json": ("refused", "AA"),
    "testkit-2.2.1/server-suite-requests/claim-update-4-cancel-entire-request.json": ("refused", "AA"),
    # Both name Claim/PriorAuthorizationExample (AUTH-PRIOR-0001) in related: an update of a request never sent.
    "testkit-2.2.1/server-suite-requests/submit-request-must-support-1.json": ("refused", "AA"),
    "testkit-2.2.1/server-suite-requests/submit-request-must-support-2.json": ("refused", "AA"),
    # Their productOrService system is http://codesystem.x12.org/... (not https): no rule matches, they pend.
    "testkit-fixtures/valid-request-bundle-v110.json": ("answered", {1: "A4"}),
    "testkit-fixtures/valid-request-bundle-v110-urn-uuid.json": ("answered", {1: "A4"}),
    # Kit fixture defect despite its name: both items carry sequence 1, the key of an item for its whole life.
    "testkit-fixtures/valid-request-bundle-v110-multiple-items.json": (422, "two items with sequence 1"),
    "testkit-fixtures/invalid-request-bundle-empty-entries.json": (422, "no entries"),
    "testkit-fixtures/invalid-request-bundle-empty-entries-v221-server-test.json": (422, "no entries"),
    "testkit-fixtures/invalid-request-bundle-missing-referenced-resource.json": (
        422,
        "careTeam Practitioner missing",
    ),
    # Pre-2.2 reference-implementation data: no Claim.identifier, no insurer, unresolved payors (one reference
    # misspelt 'Organizarion'), no Bundle.identifier/timestamp. Refused with every problem listed.
    "ri-prior-auth/legacy-submit-request-device.json": (422, "legacy RI request"),
    "ri-prior-auth/legacy-update-request-1.json": (422, "legacy RI request"),
    "ri-prior-auth/legacy-update-request-2.json": (422, "legacy RI request"),
    "ri-prior-auth/legacy-test-request-referral.json": (422, "no items"),
}

# file -> number of matches on an empty database, or a 4xx status.
INQUIRE: dict[str, int] = {
    "ig-2.2.1/inquire-request.json": 0,
    "testkit-2.2.1/server-suite-requests/inquire-request-after-pend-1.json": 0,
    "testkit-2.2.1/server-suite-requests/inquire-request-must-support-1.json": 0,
    # Neither carries a member id (no MB identifier, no Coverage.subscriberId); PAS 6: the payer SHALL require it.
    "ig-2.0.1/inquire-request.json": 422,
    "testkit-fixtures/valid-inquire-request-bundle-v110.json": 422,
}

ALL_FILES = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.json"))


@pytest.mark.parametrize("name", sorted(SUBMIT))
def test_submit_corpus(client: Any, counts: Any, name: str) -> None:
    request = example(name)
    expected, detail = SUBMIT[name]

    response = submit(client, request)

    if expected == "answered":
        assert response.status_code == 200, response.text
        body = response.json()
        assert_response_bundle(body, request)
        assert review_codes(body) == detail
        assert counts()["cases"] == 1
    elif expected == "refused":
        assert response.status_code == 200, response.text
        body = response.json()
        claim_response = assert_response_bundle(body)
        assert claim_response["outcome"] == "error"
        assert claim_response["error"][0]["code"]["coding"][0]["code"] == detail
        assert counts()["cases"] == 0
    else:
        assert response.status_code == expected, response.text
        assert_operation_outcome(response.json())
        stored = counts()
        assert sum(stored[t] for t in ("cases", "submissions", "refusals", "audit_events", "case_items")) == 0


@pytest.mark.parametrize("name", sorted(INQUIRE))
def test_inquire_corpus(client: Any, name: str) -> None:
    response = post_fhir(client, "/fhir/Claim/$inquire", example(name))

    expected = INQUIRE[name]
    if expected >= 400:
        assert response.status_code == expected
        assert_operation_outcome(response.json())
    else:
        assert response.status_code == 200, response.text
        assert_valid_fhir(response.json())
        assert len(response.json().get("parameter", [])) == expected


def test_the_pinned_tables_cover_every_request_in_the_corpus() -> None:
    requests = set()
    for name in ALL_FILES:
        document = example(name)
        entries = document.get("entry") or []
        first = entries[0].get("resource", {}) if entries else {}
        if (
            document.get("resourceType") == "Bundle"
            and document.get("type") == "collection"
            and (first.get("resourceType") == "Claim" or "request" in name)
        ):
            requests.add(name)
    assert requests == set(SUBMIT) | set(INQUIRE)


@pytest.mark.parametrize("name", ALL_FILES)
def test_no_file_of_the_corpus_gets_a_500_from_either_operation(client: Any, name: str) -> None:
    raw = (EXAMPLES / name).read_bytes()
    for operation in ("$submit", "$inquire"):
        response = client.post(f"/fhir/Claim/{operation}", content=raw, headers={"Content-Type": FHIR_JSON})
        assert response.status_code < 500, (operation, response.text)
        body = response.json()
        if response.status_code >= 400:
            assert_operation_outcome(body)
        else:
            assert body["resourceType"] in ("Bundle", "Parameters")


def test_the_ig_surgical_example_is_refused_naming_both_missing_resources(client: Any) -> None:
    response = submit(client, example("ig-2.2.1/submit-surgical-request.json"))

    expressions = {e for issue in response.json()["issue"] for e in issue.get("expression", [])}
    assert expressions == {
        "Bundle.entry[6].resource.practitioner.reference",
        "Bundle.entry[6].resource.location[0].reference",
    }
