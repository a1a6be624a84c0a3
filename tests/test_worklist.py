"""The work list as a nurse uses it: who each request is for, from whom and for what; search by authorization
number, member id or patient name; decided cases found again; sorted as asked; and the actions a case offers the
signed-in reviewer, and the denial reasons to pick from."""

from __future__ import annotations

from typing import Any

from test_review_flow import MD, NURSE, oncology_request
from test_review_types import request_for

from conftest import AuthClient, Clock, submit


def named(bundle: dict[str, Any], given: str, family: str, member: str) -> dict[str, Any]:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            resource["name"] = [{"given": [given], "family": family}]
            for identifier in resource.get("identifier", []):
                if "MB" in str(identifier.get("type")):
                    identifier["value"] = member
        if resource["resourceType"] == "Coverage":
            resource["subscriberId"] = member
            for identifier in resource.get("identifier", []):
                identifier["value"] = member
    return bundle


def test_rows_show_the_patient_provider_and_services_and_search_finds_decided_cases(
    client: AuthClient, clock: Clock
) -> None:
    pended = submit(client, named(oncology_request("REQ-A"), "Maria", "Lopez", "MBR-7001")).json()
    clock.now = clock.now.replace(minute=5)
    approved = submit(
        client, named(request_for("2026-12-03", diagnosis="G83.4", identifier="REQ-B"), "Tom", "Baker", "MBR-7002")
    ).json()
    pended_ref = pended["entry"][0]["resource"]["preAuthRef"]
    approved_ref = approved["entry"][0]["resource"]["preAuthRef"]

    open_rows = client.get("/um/worklist").json()["cases"]
    row = open_rows[0]
    assert [r["preauth_ref"] for r in open_rows] == [pended_ref]
    assert (row["patient_name"], row["member_id"], row["provider_name"]) == ("Maria Lopez", "MBR-7001", "Test Clinic")
    assert row["services"] == [{"code": "J9271", "display": "Injection, pembrolizumab, 1 mg"}]

    def found(**params: str) -> list[str]:
        return [r["preauth_ref"] for r in client.get("/um/worklist", params=params).json()["cases"]]

    assert found(scope="closed") == [approved_ref]
    assert found(scope="all", q="baker") == [approved_ref]
    assert found(scope="all", q="MBR-7001") == [pended_ref]
    assert found(scope="all", q=approved_ref.lower()) == [approved_ref]
    assert found(scope="all", q="%") == []
    assert found(scope="all", sort="received") == [approved_ref, pended_ref]


def test_the_actions_offered_follow_the_lifecycle_for_the_role_and_state(client: AuthClient) -> None:
    case_id = submit(client, oncology_request()).json()["entry"][0]["resource"]["id"]

    def offered(who: dict[str, str]) -> list[str]:
        return client.get(f"/um/cases/{case_id}/actions", headers=who).json()["actions"]

    assert offered(NURSE) == ["take", "extend"]
    assert "deny" not in offered(MD)
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    assert offered(NURSE) == ["approve", "request_info", "escalate", "extend"]
    client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={"note": "Dose above compendia."})
    assert offered(NURSE) == ["extend"]
    assert offered(MD) == ["take", "extend"]
    client.post(f"/um/cases/{case_id}/take", headers=MD)
    assert offered(MD) == ["approve", "request_info", "deny", "schedule_p2p", "extend"]


def test_a_denial_takes_one_of_the_plans_reasons(client: AuthClient) -> None:
    reasons = client.get("/um/reasons").json()
    case_id = submit(client, oncology_request()).json()["entry"][0]["resource"]["id"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={"note": "Please review."})
    client.post(f"/um/cases/{case_id}/take", headers=MD)

    refused = client.post(
        f"/um/cases/{case_id}/deny", headers=MD, json={"items": [1], "reason_code": "ZZ", "reason_text": "No."}
    )

    assert reasons[0] == {
        "code": "0U",
        "description": "The clinical criteria for this service are not met by the records provided.",
    }
    assert [r["code"] for r in reasons] == ["0U", "0V", "0Y", "0Z"]
    assert refused.status_code == 422
    assert "is not one of the plan's denial reasons (0U, 0V, 0Y, 0Z)" in refused.text
