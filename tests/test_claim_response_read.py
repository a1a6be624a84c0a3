"""ClaimResponse read and search, for payer portals that poll: the current version, with ETags."""

from __future__ import annotations

from typing import Any

from builders import cancelled, item, request_bundle, update_of
from conftest import submit
from pas_checks import assert_operation_outcome, assert_valid_fhir, review_code_of


def submitted(client: Any, **kwargs: Any) -> dict[str, Any]:
    claim_response: dict[str, Any] = submit(client, request_bundle(**kwargs)).json()["entry"][0]["resource"]
    return claim_response


def test_read_returns_the_current_version_with_an_etag(client: Any) -> None:
    first = request_bundle(items=[item(1), item(2)])
    claim_response_id = submit(client, first).json()["entry"][0]["resource"]["id"]
    submit(client, update_of(first, claim_id="claim-2", items=[item(1), cancelled(item(2))]))

    response = client.get(f"/fhir/ClaimResponse/{claim_response_id}")

    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"2"'
    resource = response.json()
    assert resource["meta"]["versionId"] == "2"
    assert [review_code_of(i) for i in resource["item"]] == ["A4", "C"]


def test_read_with_a_matching_etag_is_not_modified(client: Any) -> None:
    claim_response_id = submitted(client)["id"]
    etag = client.get(f"/fhir/ClaimResponse/{claim_response_id}").headers["etag"]

    response = client.get(f"/fhir/ClaimResponse/{claim_response_id}", headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""


def test_reading_an_unknown_claim_response_is_a_404_operation_outcome(client: Any) -> None:
    response = client.get("/fhir/ClaimResponse/does-not-exist")

    assert response.status_code == 404
    assert_operation_outcome(response.json())


def test_search_by_claim_identifier_and_patient_identifier(client: Any) -> None:
    mine = submitted(client, identifier="REQ-1", member_id="MBR-1")
    submitted(client, identifier="REQ-2", member_id="MBR-2")

    by_identifier = client.get("/fhir/ClaimResponse", params={"identifier": "urn:trnorg:9012345678|REQ-1"}).json()
    by_patient = client.get("/fhir/ClaimResponse", params={"patient.identifier": "urn:test:member|MBR-1"}).json()
    by_both = client.get("/fhir/ClaimResponse", params={"identifier": "REQ-1", "patient.identifier": "MBR-2"}).json()

    for bundle in (by_identifier, by_patient, by_both):
        assert bundle["type"] == "searchset"
        assert_valid_fhir(bundle)
    assert [e["resource"]["id"] for e in by_identifier["entry"]] == [mine["id"]]
    assert [e["resource"]["id"] for e in by_patient["entry"]] == [mine["id"]]
    assert by_both["total"] == 0


def test_search_by_our_preauth_reference(client: Any) -> None:
    mine = submitted(client)

    bundle = client.get("/fhir/ClaimResponse", params={"identifier": mine["preAuthRef"]}).json()

    assert bundle["total"] == 1


def test_search_by_status(client: Any) -> None:
    submitted(client)

    assert client.get("/fhir/ClaimResponse", params={"status": "active"}).json()["total"] == 1
    assert client.get("/fhir/ClaimResponse", params={"status": "cancelled"}).json()["total"] == 0


def test_search_pages_with_next_links(client: Any) -> None:
    for n in range(3):
        submitted(client, identifier=f"REQ-{n}")

    first = client.get("/fhir/ClaimResponse", params={"_count": 2}).json()
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = client.get(next_url.replace("http://testserver", "")).json()

    assert first["total"] == second["total"] == 3
    ids = [e["resource"]["id"] for e in first["entry"] + second["entry"]]
    assert len(set(ids)) == 3


def test_search_etag_changes_when_a_result_changes(client: Any) -> None:
    first = request_bundle(items=[item(1), item(2)])
    submit(client, first)
    before = client.get("/fhir/ClaimResponse", params={"identifier": "REQ-0001"})
    assert (
        client.get(
            "/fhir/ClaimResponse",
            params={"identifier": "REQ-0001"},
            headers={"If-None-Match": before.headers["etag"]},
        ).status_code
        == 304
    )

    submit(client, update_of(first, claim_id="claim-2", items=[item(1), cancelled(item(2))]))
    after = client.get("/fhir/ClaimResponse", params={"identifier": "REQ-0001"})

    assert after.headers["etag"] != before.headers["etag"]


def test_an_unknown_search_parameter_is_refused(client: Any) -> None:
    response = client.get("/fhir/ClaimResponse", params={"outcome": "complete"})

    assert response.status_code == 400
    assert_operation_outcome(response.json())
