"""Assertions on the structure of our PAS answers (digest 4), shared by the tests."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters

from um_service.fhir.references import BundleIndex, iter_references

X12_306 = "https://codesystem.x12.org/005010/306"


def assert_valid_fhir(resource: dict[str, Any]) -> None:
    """The fhir.resources R4B models accept it (structure, cardinalities, primitive formats)."""
    if resource["resourceType"] == "Parameters":
        Parameters.model_validate(resource)
    else:
        Bundle.model_validate(resource)


def assert_response_bundle(body: dict[str, Any], request: dict[str, Any] | None = None) -> dict[str, Any]:
    """A PAS Response Bundle: ClaimResponse first, everything it references inside, one item per sequence."""
    assert_valid_fhir(body)
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "collection"
    assert body["identifier"]
    assert body["timestamp"]
    claim_response = body["entry"][0]["resource"]
    assert claim_response["resourceType"] == "ClaimResponse"
    assert claim_response["use"] == "preauthorization"
    assert claim_response["status"] == "active"
    assert claim_response["outcome"] in ("complete", "partial", "error")
    assert claim_response["request"]
    index = BundleIndex.of(body)
    first = index.entries[0]
    for found in iter_references(claim_response, "ClaimResponse"):
        assert index.resolve(found.value, from_entry=first) is not None, f"{found.path} does not resolve"
    if claim_response["outcome"] != "error":
        assert claim_response.get("preAuthRef")
        codes = {item["itemSequence"]: review_code_of(item) for item in claim_response["item"]}
        assert all(codes.values()), f"items without a review action: {codes}"
        if request is not None:
            sent = sorted(i["sequence"] for i in request["entry"][0]["resource"]["item"])
            assert sorted(codes) == sent
        for item in claim_response["item"]:
            category = item["adjudication"][0]["category"]["coding"][0]
            assert category["code"] == "submitted"
    else:
        error = claim_response["error"][0]
        assert error["code"]["coding"][0]["system"] == "https://codesystem.x12.org/005010/901"
        assert claim_response["disposition"]
    return claim_response


def assert_operation_outcome(body: dict[str, Any]) -> list[dict[str, Any]]:
    """An OperationOutcome with at least one error issue, each saying what is wrong."""
    assert body["resourceType"] == "OperationOutcome", body
    issues: list[dict[str, Any]] = body["issue"]
    assert issues
    for issue in issues:
        assert issue["severity"] in ("error", "fatal")
        assert issue["code"]
        assert issue["diagnostics"]
    return issues


REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode"
X12_306 = "https://codesystem.x12.org/005010/306"


def review_code_of(item: dict[str, Any]) -> str | None:
    """The X12 306 review-action code on a ClaimResponse item (adjudication.extension reviewAction)."""
    for adjudication in item.get("adjudication", []):
        for review in adjudication.get("extension", []):
            if review.get("url") != REVIEW_ACTION:
                continue
            for sub in review.get("extension", []):
                if sub.get("url") == REVIEW_ACTION_CODE:
                    for coding in sub["valueCodeableConcept"].get("coding", []):
                        if coding.get("system") == X12_306:
                            return str(coding["code"])
    return None
