"""The CapabilityStatement tells the truth about what this server implements."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from conftest import FHIR_JSON


def test_metadata_is_a_fhir_4_0_1_capability_statement(client: Any) -> None:
    response = client.get("/fhir/metadata")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"


def test_metadata_lists_exactly_what_is_served(client: Any) -> None:
    statement = client.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}

    assert set(resources) == {"Claim", "ClaimResponse", "Questionnaire", "Subscription"}
    assert {op["name"] for op in resources["Questionnaire"]["operation"]} == {
        "questionnaire-package",
        "next-question",
    }
    assert {i["code"] for i in resources["Subscription"]["interaction"]} == {"create", "read", "delete"}
    assert {op["name"] for op in resources["Claim"]["operation"]} == {"submit", "inquire"}
    assert {i["code"] for i in resources["ClaimResponse"]["interaction"]} == {"read", "search-type"}
    # Every declared operation and search answers (not 404/405).
    assert client.post("/fhir/Claim/$submit", content=b"{}", headers={"Content-Type": FHIR_JSON}).status_code == 400
    assert client.post("/fhir/Claim/$inquire", content=b"{}", headers={"Content-Type": FHIR_JSON}).status_code == 400
    package = "/fhir/Questionnaire/$questionnaire-package"
    assert client.post(package, content=b"{}", headers={"Content-Type": FHIR_JSON}).status_code == 400
    assert [op["name"] for op in statement["rest"][0]["operation"]] == ["submit-attachment"]
    assert (
        client.post("/fhir/$submit-attachment", content=b"{}", headers={"Content-Type": FHIR_JSON}).status_code == 400
    )
    adaptive = "/fhir/Questionnaire/$next-question"
    assert client.post(adaptive, content=b"{}", headers={"Content-Type": FHIR_JSON}).status_code == 400
    for param in resources["ClaimResponse"]["searchParam"]:
        name = "patient.identifier" if param["name"] == "patient" else param["name"]
        assert client.get("/fhir/ClaimResponse", params={name: "1"}).status_code == 200


def test_health_checks(client: Any) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ok", "database": "ok"}


def test_metadata_names_the_token_endpoint_and_every_search_parameter(client: Any) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    security = rest["security"]
    claim_responses = next(r for r in rest["resource"] if r["type"] == "ClaimResponse")

    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    oauth = security["extension"][0]
    assert oauth["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    assert oauth["extension"] == [{"url": "token", "valueUri": "http://testserver/auth/token"}]
    assert [p["name"] for p in claim_responses["searchParam"]] == [
        "identifier",
        "patient",
        "status",
        "_count",
        "_offset",
    ]
    assert client.get("/fhir/ClaimResponse", params={"_offset": "1"}).status_code == 200
