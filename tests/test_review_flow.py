"""From a pended $submit through routing, nurse escalation, a medical-director denial with reason and a
peer-to-peer review that overturns it, to the notification a subscriber's endpoint receives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import orjson
import respx

from um_service.notify import outbox

from builders import claim_of, item, request_bundle
from conftest import example, post_fhir, review_codes, submit
from pas_checks import assert_response_bundle, review_code_of

ENDPOINT = "http://ehr.example.test/pas/notifications"
NURSE = {"X-Reviewer-Id": "nurse-carmen"}
MD = {"X-Reviewer-Id": "md-diaz"}
PROVIDER_NPI = "1234567893"


def subscription(org: str = PROVIDER_NPI) -> dict[str, Any]:
    resource = example("testkit-2.2.1/server-suite-requests/subscription-request.json")
    resource.pop("end")
    resource["_criteria"]["extension"][0]["valueString"] = f"org-identifier={org}"
    resource["channel"]["endpoint"] = ENDPOINT
    resource["channel"]["header"] = ["Authorization: Bearer ehr-secret"]
    return resource


def deliver(database: Any, clock: Any) -> int:
    with httpx.Client() as client:
        return outbox.deliver_due(database, client, now=clock.now, policy=outbox.DeliveryPolicy(first_delay=1))


def oncology_request(identifier: str = "REQ-0001") -> dict[str, Any]:
    return request_bundle(
        identifier=identifier,
        items=[item(1, "J9271", system="http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", quantity=4)],
    )


def test_pended_to_denied_to_overturned_with_a_notification_at_each_decision(
    client: Any, database: Any, clock: Any
) -> None:
    with respx.mock(assert_all_called=False) as receiver:
        inbox = receiver.post(ENDPOINT).mock(return_value=httpx.Response(200))

        created = post_fhir(client, "/fhir/Subscription", subscription())
        assert created.status_code == 201
        assert created.json()["status"] == "requested"
        assert deliver(database, clock) == 1
        handshake = orjson.loads(inbox.calls[0].request.content)
        assert handshake["entry"][0]["resource"]["parameter"][3] == {"name": "type", "valueCode": "handshake"}
        assert inbox.calls[0].request.headers["authorization"] == "Bearer ehr-secret"
        assert client.get(f"/fhir/Subscription/{created.json()['id']}").json()["status"] == "active"

        # A chemotherapy request pends to oncology review and is offered to the nurse with that skill.
        answer = submit(client, oncology_request()).json()
        assert review_codes(answer) == {1: "A4"}
        case_id = answer["entry"][0]["resource"]["id"]
        case = client.get(f"/um/cases/{case_id}").json()
        work = client.get("/um/worklist", params={"assignee": "nurse-carmen"}).json()
        assert [c["id"] for c in work["cases"]] == [case_id]
        assert work["cases"][0]["queue"] == "oncology-review"
        assert case["status"] == "pended"

        # The nurse takes it and escalates; a nurse may not deny.
        assert client.post(f"/um/cases/{case_id}/take", headers=NURSE).json()["status"] == "in_review"
        refused = client.post(
            f"/um/cases/{case_id}/deny", headers=NURSE, json={"items": [1], "reason_code": "0U", "reason_text": "no"}
        )
        assert refused.status_code == 403
        escalated = client.post(
            f"/um/cases/{case_id}/escalate",
            headers=NURSE,
            json={"note": "Regimen exceeds the NCCN dose for this indication."},
        )
        assert escalated.json()["status"] == "escalated"

        # The medical director takes it and denies with a reason code and text.
        assert client.post(f"/um/cases/{case_id}/take", headers=MD).json()["status"] == "in_md_review"
        assert (
            client.post(f"/um/cases/{case_id}/deny", headers=MD, json={"items": [1], "reason_code": "0U"}).status_code
            == 422
        )
        denied = client.post(
            f"/um/cases/{case_id}/deny",
            headers=MD,
            json={
                "items": [1],
                "reason_code": "0U",
                "reason_text": "The requested dose exceeds the compendia-supported dose.",
            },
        )
        assert denied.json()["status"] == "decided"
        assert deliver(database, clock) == 1
        denial = orjson.loads(inbox.calls[1].request.content)
        status, focus = (e["resource"] for e in denial["entry"])
        assert denial["type"] == "history"
        assert {p["name"]: p.get("valueCode") for p in status["parameter"]}["type"] == "event-notification"
        claim_response = assert_response_bundle(focus)
        assert review_code_of(claim_response["item"][0]) == "A3"
        review_action = claim_response["item"][0]["adjudication"][0]["extension"][0]["extension"]
        reason = next(e for e in review_action if e["url"] == "reasonCode")
        assert reason["valueCodeableConcept"]["coding"][0]["code"] == "0U"
        assert "compendia" in claim_response["processNote"][0]["text"]
        assert claim_response["extension"][0]["extension"][0] == {"url": "wasHumanReviewedFlag", "valueBoolean": True}

        # A peer-to-peer review in one of the director's slots overturns the denial; the provider hears when it is
        # booked and how to join, then the final answer.
        clock.now += dt.timedelta(hours=4)
        slot = {
            "start": "2026-11-24T09:00:00-06:00",
            "end": "2026-11-24T09:30:00-06:00",
            "time_zone": "America/Chicago",
        }
        slot_id = client.post("/um/availability", headers=MD, json={"slots": [slot]}).json()[0]["id"]
        scheduled = client.post(
            f"/um/cases/{case_id}/p2p",
            headers=NURSE,
            json={"slot_id": slot_id, "contact": "Dr. Smith, 555-0100", "join": "Bridge 555-0199, code 4321"},
        )
        assert scheduled.json()["status"] == "p2p_scheduled"
        assert deliver(database, clock) == 1
        booked = orjson.loads(inbox.calls[2].request.content)["entry"][1]["resource"]["entry"][0]["resource"]
        assert booked["processNote"][-1] == {
            "type": "display",
            "text": "Peer-to-peer discussion with Dr. Elena Diaz booked for 2026-11-24 09:00 America/Chicago "
            "(15:00 UTC). Join: Bridge 555-0199, code 4321. Contact: Dr. Smith, 555-0100.",
        }
        overturned = client.post(
            f"/um/cases/{case_id}/p2p/result",
            headers=MD,
            json={"outcome": "overturned", "note": "New staging results support the dose."},
        )
        assert overturned.json()["status"] == "decided"
        assert overturned.json()["items"][0]["review_action"] == "A1"
        assert deliver(database, clock) == 1
        final = orjson.loads(inbox.calls[3].request.content)
        final_response = final["entry"][1]["resource"]["entry"][0]["resource"]
        assert review_code_of(final_response["item"][0]) == "A1"
        assert "processNote" not in final_response  # the booking note went with the booking
        assert {p["name"]: p.get("valueString") for p in final["entry"][0]["resource"]["parameter"]}[
            "events-since-subscription-start"
        ] == "3"
        assert inbox.call_count == 4

    # $inquire and the portal read show the same current answer.
    read = client.get(f"/fhir/ClaimResponse/{case_id}").json()
    assert review_code_of(read["item"][0]) == "A1"
    assert read["meta"]["versionId"] == final_response["meta"]["versionId"]
    history = [h["action"] for h in client.get(f"/um/cases/{case_id}/history").json()]
    assert history == ["submitted", "taken", "escalated", "taken", "denied", "p2p scheduled", "p2p overturned"]


def test_a_subscription_for_another_provider_hears_nothing(client: Any, database: Any, clock: Any) -> None:
    with respx.mock(assert_all_called=False) as receiver:
        inbox = receiver.post(ENDPOINT).mock(return_value=httpx.Response(200))
        post_fhir(client, "/fhir/Subscription", subscription(org="9999999999"))
        deliver(database, clock)
        case_id = submit(client, oncology_request()).json()["entry"][0]["resource"]["id"]
        client.post(f"/um/cases/{case_id}/take", headers=NURSE)
        client.post(f"/um/cases/{case_id}/approve", headers=NURSE, json={"items": [{"sequence": 1}]})

        deliver(database, clock)

    assert inbox.call_count == 1  # the handshake only


def test_a_nurse_approves_with_a_modification(client: Any) -> None:
    case_id = submit(client, oncology_request()).json()["entry"][0]["resource"]["id"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)

    case = client.post(
        f"/um/cases/{case_id}/approve",
        headers=NURSE,
        json={
            "items": [{"sequence": 1, "quantity": 2, "start": "2026-12-01", "end": "2027-01-31"}],
            "note": "Two cycles first.",
        },
    ).json()

    assert case["status"] == "decided"
    assert case["items"][0]["review_action"] == "A6"
    read = client.get(f"/fhir/ClaimResponse/{case_id}").json()
    (added,) = read["addItem"]
    assert added["itemSequence"] == [1]
    assert added["quantity"] == {"value": 2.0}
    assert added["servicedPeriod"] == {"start": "2026-12-01", "end": "2027-01-31"}


def test_requested_documents_bring_the_case_back_to_its_reviewer(client: Any) -> None:
    first = oncology_request()
    case_id = submit(client, first).json()["entry"][0]["resource"]["id"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)

    asked = client.post(
        f"/um/cases/{case_id}/request-info",
        headers=NURSE,
        json={
            "items": [1],
            "documents": [{"loinc": "11488-4", "description": "Oncology consult note", "report_type": "OZ"}],
        },
    )

    assert asked.json()["status"] == "info_requested"
    read = client.get(f"/fhir/ClaimResponse/{asked.json()['id']}").json()
    assert read["contained"][0]["payload"][0]["contentString"] == "11488-4"

    from test_rules_engine import with_progress_note

    from builders import update_of

    update = with_progress_note(update_of(first, claim_id="claim-2", items=claim_of(first)["item"]))
    update["entry"][-1]["resource"]["type"]["coding"][0]["code"] = "11488-4"
    assert review_codes(submit(client, update).json()) == {1: "A4"}

    case = client.get(f"/um/cases/{case_id}").json()
    assert case["status"] == "in_review"
    assert case["items"][0]["documents_requested"] == []
    assert client.get("/um/worklist", params={"assignee": "nurse-carmen"}).json()["counts"]["total"] == 1


def test_illegal_transitions_get_409_with_a_reason(client: Any) -> None:
    case_id = submit(client, oncology_request()).json()["entry"][0]["resource"]["id"]

    not_taken = client.post(f"/um/cases/{case_id}/approve", headers=NURSE, json={"items": [{"sequence": 1}]})
    assert not_taken.status_code == 409
    assert "pended" in not_taken.json()["detail"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    again = client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    assert again.status_code == 409
    md_too_early = client.post(f"/um/cases/{case_id}/take", headers=MD)
    assert md_too_early.status_code == 409
    assert client.post(f"/um/cases/{case_id}/take", headers={"Authorization": ""}).status_code == 401
    assert client.post(f"/um/cases/{case_id}/take").status_code == 403  # an administrator does not review
    assert client.post(f"/um/cases/{case_id}/take", headers={"X-Reviewer-Id": "nobody"}).status_code == 403


def test_a_provider_cancel_releases_the_case(client: Any) -> None:
    from builders import cancelled, update_of

    first = oncology_request()
    case_id = submit(client, first).json()["entry"][0]["resource"]["id"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)

    submit(client, update_of(first, claim_id="claim-2", items=[cancelled(claim_of(first)["item"][0])], cancel_all=True))

    case = client.get(f"/um/cases/{case_id}").json()
    assert case["status"] == "cancelled"
    assert client.get("/um/worklist", params={"assignee": "nurse-carmen"}).json()["counts"]["total"] == 0
