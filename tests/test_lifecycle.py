"""The case lifecycle from the outside: each change writes one audit row, a change of the answer makes a new
ClaimResponse version (and only then), the table refuses actions from the wrong state in words, a stored request is
read back without being validated again, and every refusal has one shape per face."""

from __future__ import annotations

from typing import Any

import pytest

from builders import item, request_bundle
from conftest import AuthClient, review_codes, submit

NURSE = {"X-Reviewer-Id": "nurse-carmen"}
MD = {"X-Reviewer-Id": "md-diaz"}
CHEMO = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def _pended_case(client: AuthClient, identifier: str = "LC-1") -> str:
    answer = submit(client, request_bundle(identifier=identifier, items=[item(1, "J9271", system=CHEMO)])).json()
    assert review_codes(answer) == {1: "A4"}
    return str(answer["entry"][0]["resource"]["id"])


def _version(client: AuthClient, case_id: str) -> str:
    return str(client.get(f"/fhir/ClaimResponse/{case_id}").headers["etag"])


def _history(client: AuthClient, case_id: str) -> list[str]:
    return [h["action"] for h in client.get(f"/um/cases/{case_id}/history").json()]


def test_each_change_writes_one_audit_row_and_a_new_version_only_when_the_answer_changes(client: AuthClient) -> None:
    case_id = _pended_case(client)
    assert _version(client, case_id) == 'W/"1"'
    slot = {"start": "2026-11-24T15:00:00Z", "end": "2026-11-24T15:30:00Z", "time_zone": "America/New_York"}
    slot_id = client.post("/um/availability", headers=MD, json={"slots": [slot]}).json()[0]["id"]
    booking = {"slot_id": slot_id, "contact": "Dr. Lee 555-0100", "join": "Bridge 555-0199, code 4321"}

    # Booking a P2P changes the answer too: its processNote tells the provider when and how to join.
    steps: list[tuple[str, dict[str, str], dict[str, Any], str, str]] = [
        ("take", NURSE, {}, "taken", 'W/"1"'),
        ("escalate", NURSE, {"note": "needs a medical director"}, "escalated", 'W/"1"'),
        ("take", MD, {}, "taken", 'W/"1"'),
        ("deny", MD, {"items": [1], "reason_code": "0U", "reason_text": "Not medically necessary."}, "denied", 'W/"2"'),
        ("p2p", MD, booking, "p2p scheduled", 'W/"3"'),
        ("p2p/result", MD, {"outcome": "overturned"}, "p2p overturned", 'W/"4"'),
    ]
    for path, who, body, action, version in steps:
        before = _history(client, case_id)
        done = client.post(f"/um/cases/{case_id}/{path}", headers=who, json=body)
        assert done.status_code == 200, done.text
        assert _history(client, case_id) == [*before, action]
        assert _version(client, case_id) == version, path

    assert _history(client, case_id)[0] == "submitted"
    assert client.get(f"/um/cases/{case_id}").json()["status"] == "decided"


def test_the_table_refuses_in_words_and_writes_nothing(client: AuthClient) -> None:
    case_id = _pended_case(client)
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={"note": "over to you"})
    before = _history(client, case_id)

    again = client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    escalate = client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={"note": "again"})
    deny = client.post(
        f"/um/cases/{case_id}/deny", headers=NURSE, json={"items": [1], "reason_code": "0U", "reason_text": "no"}
    )

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["title"] == "Conflict"
    assert again.json()["detail"] == "Cannot take a case that is escalated; only one that is pended."
    assert escalate.status_code == 409
    assert "in_review" not in escalate.json()["detail"]
    assert escalate.json()["detail"] == (
        "Cannot escalate a case that is escalated; only one that is in review or info requested."
    )
    assert deny.status_code == 403
    assert deny.json()["problems"] == [
        {"code": "forbidden", "detail": "Not allowed: role nurse may not call deny.", "where": None}
    ]
    assert _history(client, case_id) == before


def test_a_case_stored_before_a_check_was_tightened_is_still_decided(
    client: AuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from um_service.errors import Problem
    from um_service.fhir import pas_request

    case_id = _pended_case(client)

    def stricter(claim: dict[str, Any], where: str, limits: Any) -> list[Problem]:
        return [Problem("business-rule", "A check added after this request was stored.", f"{where}.created")]

    monkeypatch.setattr(pas_request, "_claim_problems", stricter)
    refused = submit(client, request_bundle(identifier="LC-NEW"))
    assert refused.status_code == 422
    assert "added after" in refused.text

    assert client.post(f"/um/cases/{case_id}/take", headers=NURSE).status_code == 200
    approved = client.post(f"/um/cases/{case_id}/approve", headers=NURSE, json={"items": [{"sequence": 1}]})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "decided"
    assert review_codes({"entry": [{"resource": client.get(f"/fhir/ClaimResponse/{case_id}").json()}]}) == {1: "A1"}


def test_the_fhir_face_maps_query_errors_to_fhir_issue_codes(client: AuthClient) -> None:
    bad_count = client.get("/fhir/ClaimResponse", params={"_count": "many"})

    assert bad_count.status_code == 400
    assert bad_count.headers["content-type"] == "application/fhir+json"
    issue = bad_count.json()["issue"][0]
    assert issue["code"] == "value"
    assert issue["expression"] == ["_count"]


def test_a_staff_body_missing_a_field_is_a_problem_document(client: AuthClient) -> None:
    case_id = _pended_case(client)
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)

    missing = client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={})

    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["problems"] == [{"code": "required", "detail": "Field required", "where": "note"}]


def test_schema_errors_do_not_hide_pas_errors(client: AuthClient) -> None:
    bundle = request_bundle()
    claim = bundle["entry"][0]["resource"]
    del claim["identifier"]  # a PAS rule
    bundle["entry"][1]["resource"]["gender"] = 12  # HL7's JSON Schema

    refused = submit(client, bundle)

    assert refused.status_code == 400
    where = {expression for issue in refused.json()["issue"] for expression in issue["expression"]}
    assert where == {"Bundle.entry[0].resource.identifier", "Bundle.entry[1].resource.gender"}


def test_a_pended_answer_says_why_and_when_and_an_extension_publishes_the_new_due_time(client: AuthClient) -> None:
    # The test clock stands at 2026-11-23 09:00 UTC; a standard request is due 7 calendar days later.
    case_id = _pended_case(client)
    answer = client.get(f"/fhir/ClaimResponse/{case_id}").json()
    reference = answer["preAuthRef"]

    assert answer["processNote"] == [
        {
            "number": 1,
            "type": "display",
            "text": "Chemotherapy drugs (HCPCS J9000-J9999) are reviewed by an oncology nurse against the regimen. "
            "(oncology-chemotherapy-review) A decision is due by 2026-11-30 09:00 UTC.",
        }
    ]
    assert answer["item"][0]["noteNumber"] == [1]
    assert answer["disposition"] == (
        f"Item 1 pended for review. A decision is due by 2026-11-30 09:00 UTC. {reference} is this request's "
        "reference number, not an authorization."
    )

    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    extended = client.post(f"/um/cases/{case_id}/extend", headers=NURSE, json={"reason": "awaiting records", "days": 3})
    assert extended.status_code == 200
    assert _version(client, case_id) == 'W/"2"'
    assert "2026-12-03 09:00 UTC" in client.get(f"/fhir/ClaimResponse/{case_id}").json()["disposition"]


def test_every_answer_has_a_disposition(client: AuthClient) -> None:
    answer = submit(
        client, request_bundle(identifier="LC-NA", items=[item(1, "99213"), item(2, "J9271", system=CHEMO)])
    )
    claim_response = answer.json()["entry"][0]["resource"]

    assert review_codes(answer.json()) == {1: "NA", 2: "A4"}
    assert claim_response["disposition"].startswith("Item 1 needs no authorization; item 2 pended for review.")
