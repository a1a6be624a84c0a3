"""CDex $submit-attachment through HTTP: a pended request's PAS Task says what to send and where; the documents reach
the case, the waiting item is decided again and the new answer is published; reviewers list and download them; bad
and hostile submissions (another organisation's request, the wrong member, a script labelled PDF, too large) store
nothing, and one that matches no request is held."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from test_notifications import active_subscription, outbox
from test_rules_engine import lumbar_mri_request

from conftest import AuthClient, post_fhir, review_codes, submit

PAS_TC = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes"
ORG = "1234567893"  # the provider organisation of the test requests (builders.py)


def document(data: bytes, content_type: str = "text/plain") -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": content_type, "data": base64.b64encode(data).decode()}}],
    }


def parameters(
    tracking: str, content: dict[str, Any], *, member: str = "MBR-1001", final: bool = True
) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "TrackingId", "valueIdentifier": {"system": "urn:um-service:preauth-ref", "value": tracking}},
            {"name": "AttachTo", "valueCode": "preauthorization"},
            {"name": "OrganizationId", "valueIdentifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": ORG}},
            {"name": "MemberId", "valueIdentifier": {"system": "urn:test:member", "value": member}},
            {
                "name": "Attachment",
                "part": [
                    {"name": "LineItem", "valueString": "1"},
                    {
                        "name": "Code",
                        "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
                    },
                    {"name": "Content", "resource": content},
                ],
            },
            {"name": "Final", "valueBoolean": final},
        ],
    }


def attach(client: AuthClient, body: dict[str, Any], org: str = ORG) -> Any:
    token = client.token("provider", org=org)
    return post_fhir_as(client, body, token)


def post_fhir_as(client: AuthClient, body: dict[str, Any], token: str) -> Any:
    import orjson

    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    return client.post("/fhir/$submit-attachment", content=orjson.dumps(body), headers=headers)


def pended(client: AuthClient) -> tuple[str, str, dict[str, Any]]:
    """A lumbar MRI request pended for progress notes: (case id, reference number, response Bundle)."""
    answer = submit(client, lumbar_mri_request()).json()
    assert review_codes(answer) == {1: "A4"}
    claim_response = answer["entry"][0]["resource"]
    return claim_response["id"], claim_response["preAuthRef"], answer


def test_the_pended_answer_carries_a_pas_task_saying_what_to_send_and_where(client: AuthClient) -> None:
    _, reference, answer = pended(client)

    [task] = [e["resource"] for e in answer["entry"] if e["resource"]["resourceType"] == "Task"]
    [asked] = answer["entry"][0]["resource"]["contained"]

    assert task["identifier"] == [{"system": "urn:um-service:preauth-ref", "value": reference}] == asked["identifier"]
    assert task["code"]["coding"][0] == {"system": PAS_TC, "code": "attachment-request-code"}
    assert (task["status"], task["intent"]) == ("requested", "order")
    inputs = {i["type"]["coding"][0]["code"]: i for i in task["input"]}
    assert inputs["payer-url"]["valueUrl"] == "http://testserver/fhir/$submit-attachment"
    assert inputs["attachments-needed"]["valueCodeableConcept"]["coding"][0]["code"] == "11506-3"
    assert inputs["attachments-needed"]["extension"][0]["valuePositiveInt"] == 1
    assert task["for"] == answer["entry"][0]["resource"]["patient"]


def test_the_documents_decide_the_waiting_item_again_and_reviewers_can_open_them(
    client: AuthClient, database: Any, clock: Any
) -> None:
    active_subscription(client, database, clock)
    case_id, reference, _ = pended(client)
    notes = b"Progress notes: eight weeks of physical therapy and NSAIDs without relief."

    received = attach(client, parameters(reference, document(notes)))
    now = client.get(f"/fhir/ClaimResponse/{case_id}").json()
    listed = client.get(f"/um/cases/{case_id}/attachments").json()
    opened = client.get(listed[0]["download"])

    assert received.status_code == 200, received.text
    assert received.json()["issue"][0]["diagnostics"] == (
        f"Received for {reference}: item 1 decided again with the documents sent."
    )
    assert review_codes({"entry": [{"resource": now}]}) == {1: "A1"}
    assert now["meta"]["versionId"] == "2"
    assert [(a["line_items"], a["code"], a["content_type"], a["size"]) for a in listed] == [
        ([1], "11506-3", "text/plain", len(notes))
    ]
    assert (opened.status_code, opened.content, opened.headers["content-type"]) == (
        200,
        notes,
        "text/plain; charset=utf-8",
    )
    # Subscribers hear of the new answer (the submission itself was answered in its HTTP response).
    assert [m["kind"] for m in outbox(client) if m["case_id"] == case_id] == ["event-notification"]
    history = client.get(f"/um/cases/{case_id}/history").text
    assert "1 document(s) received by $submit-attachment: item 1 decided again with the documents sent." in history


@pytest.mark.parametrize(
    ("change", "status", "why"),
    [
        ({"org": "9999999999"}, 404, "no request"),
        ({"member": "MBR-SOMEONE-ELSE"}, 422, "is not the member of request"),
        ({"content": document(b"#!/bin/sh\nrm -rf /", "application/pdf")}, 400, "The bytes are not application/pdf"),
        ({"content": document(b"MZ\x90\x00", "application/x-msdownload")}, 400, "is not accepted"),
        ({"content": document(b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024), "application/pdf")}, 413, "at most 3 MB"),
    ],
)
def test_a_bad_or_hostile_submission_stores_nothing(
    client: AuthClient, change: dict[str, Any], status: int, why: str
) -> None:
    case_id, reference, _ = pended(client)
    body = parameters(reference, change.get("content", document(b"notes")), member=change.get("member", "MBR-1001"))

    answer = attach(client, body, org=change.get("org", ORG))

    assert answer.status_code == status, answer.text
    assert why in answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/um/cases/{case_id}/attachments").json() == []
    assert client.get(f"/fhir/ClaimResponse/{case_id}").json()["meta"]["versionId"] == "1"


def test_documents_for_no_request_of_ours_are_held(client: AuthClient) -> None:
    answer = attach(client, parameters("PA-NOSUCHREF", document(b"notes")))

    assert answer.status_code == 202
    assert answer.json()["issue"][0]["severity"] == "information"
    assert "the documents are held" in answer.json()["issue"][0]["diagnostics"]


def test_a_submission_that_is_not_cdex_parameters_is_refused_with_the_reasons(client: AuthClient) -> None:
    answer = attach(client, {"resourceType": "Parameters", "parameter": [{"name": "AttachTo", "valueCode": "x"}]})

    assert answer.status_code == 400
    text = answer.text
    assert "TrackingId is required" in text
    assert "MemberId is required" in text
    assert "AttachTo is 'preauthorization'" in text
    assert post_fhir(client, "/fhir/$submit-attachment", {"resourceType": "Bundle"}).status_code == 400


def test_documents_a_reviewer_asked_for_bring_the_case_back_to_the_reviewer(client: AuthClient) -> None:
    from test_review_flow import NURSE, oncology_request

    answer = submit(client, oncology_request()).json()
    case_id, reference = answer["entry"][0]["resource"]["id"], answer["entry"][0]["resource"]["preAuthRef"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    wanted = {"loinc": "11488-4", "description": "Oncology consult note", "report_type": "OZ"}
    client.post(f"/um/cases/{case_id}/request-info", headers=NURSE, json={"items": [1], "documents": [wanted]})
    body = parameters(reference, document(b"Consult note: regimen FOLFOX, dose per compendia."))
    body["parameter"][4]["part"][1]["valueCodeableConcept"]["coding"][0]["code"] = "11488-4"

    received = attach(client, body)

    assert received.status_code == 200, received.text
    assert received.json()["issue"][0]["diagnostics"] == f"Received for {reference}: item 1 documents received."
    case = client.get(f"/um/cases/{case_id}").json()
    assert (case["status"], case["assignee"]) == ("in_review", "nurse-carmen")
    assert case["items"][0]["review_action"] == "A4"
    assert case["items"][0]["documents_requested"] == []
