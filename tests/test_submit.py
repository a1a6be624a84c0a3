"""$submit of new requests: every item answered, stored as a UM case with its audit row."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text

from builders import item, request_bundle
from conftest import FHIR_JSON, review_codes, submit
from pas_checks import assert_response_bundle


def test_a_new_request_is_pended_item_by_item_and_stored_as_a_case(client: Any, counts: Any) -> None:
    request = request_bundle(items=[item(1), item(2, "27130", quantity=2)])

    response = submit(client, request)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    claim_response = assert_response_bundle(body, request)
    assert review_codes(body) == {1: "A4", 2: "A4"}
    assert claim_response["outcome"] == "complete"
    assert body["identifier"] == request["identifier"]
    assert {"system": "urn:trnorg:9012345678", "value": "REQ-0001"} in claim_response["identifier"]
    assert claim_response["request"]["identifier"]["value"] == "REQ-0001"
    stored = counts()
    assert stored["cases"] == 1
    assert stored["case_items"] == 2
    assert stored["submissions"] == 1
    assert stored["claim_response_versions"] == 1
    assert stored["audit_events"] == 1
    assert stored["refusals"] == 0


def test_pended_items_carry_the_payer_reference_and_echo_the_item_trace_number(client: Any) -> None:
    body = submit(client, request_bundle()).json()

    claim_response = body["entry"][0]["resource"]
    extensions = {e["url"].rsplit("/", 1)[1]: e for e in claim_response["item"][0]["extension"]}
    assert extensions["extension-administrationReferenceNumber"]["valueString"] == claim_response["preAuthRef"]
    assert extensions["extension-itemTraceNumber"]["valueIdentifier"]["value"] == "TRACE-1"


def test_the_response_echoes_the_parties_with_the_request_fullurls(client: Any) -> None:
    request = request_bundle()

    body = submit(client, request).json()

    sent = {e["fullUrl"]: e["resource"] for e in request["entry"]}
    # Besides the parties, a pended answer that asks for documents carries its PAS Task (test_attachments.py).
    echoed = {e["fullUrl"]: e["resource"] for e in body["entry"][1:] if e["resource"]["resourceType"] != "Task"}
    assert set(echoed) == {
        request["entry"][0]["resource"]["patient"]["reference"],
        request["entry"][0]["resource"]["insurer"]["reference"],
        request["entry"][0]["resource"]["provider"]["reference"],
    }
    for url, resource in echoed.items():
        assert resource == sent[url]


def test_an_urgent_request_gets_the_72_hour_clock(client: Any, database: Any) -> None:
    from sqlalchemy import select

    from um_service.db.models import Case

    submit(client, request_bundle(identifier="STAT-1", priority="stat"))
    submit(client, request_bundle(identifier="NORMAL-1"))

    with database.transaction() as session:
        cases = {c.priority: c for c in session.scalars(select(Case))}
    assert (cases["expedited"].due_at - cases["expedited"].received_at).total_seconds() == 72 * 3600
    assert (cases["standard"].due_at - cases["standard"].received_at).days == 7


def test_the_stored_request_is_the_exact_text_received(client: Any, database: Any) -> None:
    from sqlalchemy import select

    from um_service.db.models import Submission

    raw = b'{"resourceType": "Bundle",  "type": "collection", ' + submit_body_tail()
    response = client.post("/fhir/Claim/$submit", content=raw, headers={"Content-Type": FHIR_JSON})

    assert response.status_code == 200, response.text
    with database.transaction() as session:
        stored = session.scalars(select(Submission)).one()
    assert stored.request_body.encode() == raw


def submit_body_tail() -> bytes:
    """The rest of a valid bundle after its first two members, with a decimal kept as sent (86.70)."""
    import orjson

    bundle = request_bundle()
    bundle["entry"][0]["resource"]["item"][0]["unitPrice"] = {"value": 1.5, "currency": "USD"}
    rest = {k: v for k, v in bundle.items() if k not in ("resourceType", "type")}
    text = orjson.dumps(rest).decode().replace('"value":1.5', '"value":86.70')
    return text[1:].encode()


def test_a_new_cases_rows_are_stored_whole_with_the_models_defaults(client: Any, database: Any) -> None:
    """Intake writes a new case's rows with plain INSERTs: columns it did not set still get the model's defaults,
    and the case names the submission that was stored."""
    submit(client, request_bundle(items=[item(1), item(2, "97110", quantity=6)]))

    with database.transaction() as session:
        case = session.execute(text("SELECT id, near_breach, review_priority, latest_submission_id FROM cases")).one()
        items = session.execute(
            text("SELECT sequence, review_action, skills, documents FROM case_items ORDER BY sequence")
        ).all()
        submission = session.execute(text("SELECT id, case_id FROM submissions")).one()
        audit = session.execute(text("SELECT case_id, action FROM audit_events")).all()
        versions = session.execute(text("SELECT case_id, version FROM claim_response_versions")).all()

    assert bool(case.near_breach) is False
    assert case.review_priority == "routine"
    assert case.latest_submission_id == submission.id
    assert submission.case_id == case.id
    assert [(i.sequence, i.review_action, i.skills) for i in items] == [(1, "A4", "[]"), (2, "A1", "[]")]
    assert orjson.loads(items[0].documents)[0]["loinc"] == "11506-3"  # the pended MRI asks for progress notes
    assert items[1].documents == "[]"
    assert audit == [(case.id, "submitted")]
    assert versions == [(case.id, 1)]
