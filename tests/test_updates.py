"""PAS Claim Updates and cancellations (digest 7), and the business refusals around them."""

from __future__ import annotations

from typing import Any

from builders import cancelled, changed, claim_of, item, request_bundle, update_of
from conftest import example, review_codes, submit
from pas_checks import assert_response_bundle

KIT = "testkit-2.2.1/server-suite-requests/"
X12_901 = "https://codesystem.x12.org/005010/901"


def error_code(body: dict[str, Any]) -> str:
    claim_response = body["entry"][0]["resource"]
    assert claim_response["outcome"] == "error"
    code: str = claim_response["error"][0]["code"]["coding"][0]["code"]
    return code


def test_the_test_kit_four_step_update_sequence(client: Any, counts: Any) -> None:
    steps = [
        "claim-update-1-initial-request",
        "claim-update-2-add-item-request",
        "claim-update-3-modify-and-cancel-request",
        "claim-update-4-cancel-entire-request",
    ]
    answers = []
    for step in steps:
        request = example(KIT + step + ".json")
        response = submit(client, request)
        assert response.status_code == 200, response.text
        assert_response_bundle(response.json(), request)
        answers.append(response.json())

    # Referral consultations: referral-consultation approves each item as it arrives.
    assert review_codes(answers[0]) == {1: "A1"}
    assert review_codes(answers[1]) == {1: "A1", 2: "A1"}
    assert review_codes(answers[2]) == {1: "A1", 2: "C"}
    assert review_codes(answers[3]) == {1: "C", 2: "C"}
    preauth_refs = {a["entry"][0]["resource"]["preAuthRef"] for a in answers}
    assert len(preauth_refs) == 1, "every step answers for the same request"
    stored = counts()
    assert stored["cases"] == 1
    assert stored["submissions"] == 4
    assert stored["claim_response_versions"] == 4
    assert stored["audit_events"] == 4
    assert stored["refusals"] == 0


def test_the_ig_homecare_update_cancels_one_item_and_adds_another(client: Any) -> None:
    assert submit(client, example("ig-2.2.1/submit-homecare-request.json")).status_code == 200

    request = example("ig-2.2.1/update-homecare-request.json")
    body = submit(client, request).json()

    assert_response_bundle(body, request)
    assert review_codes(body) == {1: "A1", 2: "C", 3: "A4"}


def test_an_update_lists_every_item_with_its_current_result(client: Any) -> None:
    first = request_bundle(items=[item(1), item(2)])
    submit(client, first)
    update = update_of(
        first, claim_id="claim-2", items=[item(1), cancelled(item(2)), changed(item(3, "97110"), "added")]
    )

    body = submit(client, update).json()

    # Item 3, one physical therapy visit with a diagnosis stated, is approved by pt-initial-course.
    assert review_codes(body) == {1: "A4", 2: "C", 3: "A1"}


def test_a_changed_item_is_decided_again(client: Any, database: Any) -> None:
    from sqlalchemy import select

    from um_service.db.models import CaseItem

    first = request_bundle(items=[item(1, quantity=1)])
    submit(client, first)
    update = update_of(first, claim_id="claim-2", items=[changed(item(1, quantity=3), "changed")])

    body = submit(client, update).json()

    assert review_codes(body) == {1: "A4"}
    with database.transaction() as session:
        stored = session.scalars(select(CaseItem)).one()
    assert stored.element["quantity"] == {"value": 3}


def test_cancelling_the_whole_request(client: Any, database: Any) -> None:
    from sqlalchemy import select

    from um_service.db.models import Case

    first = request_bundle(items=[item(1), item(2)])
    submit(client, first)
    cancel = update_of(first, claim_id="claim-2", items=[cancelled(item(1)), cancelled(item(2))], cancel_all=True)

    body = submit(client, cancel).json()

    assert review_codes(body) == {1: "C", 2: "C"}
    with database.transaction() as session:
        assert session.scalars(select(Case)).one().status == "cancelled"


def test_claim_status_cancelled_also_cancels_the_whole_request(client: Any) -> None:
    first = request_bundle(items=[item(1)])
    submit(client, first)
    cancel = update_of(first, claim_id="claim-2", items=[item(1)])
    claim_of(cancel)["status"] = "cancelled"

    assert review_codes(submit(client, cancel).json()) == {1: "C"}


def test_an_update_to_a_cancelled_request_is_refused(client: Any, counts: Any) -> None:
    first = request_bundle(items=[item(1)])
    submit(client, first)
    cancel = update_of(first, claim_id="claim-2", items=[cancelled(item(1))], cancel_all=True)
    submit(client, cancel)
    before = counts()
    late = update_of(cancel, claim_id="claim-3", items=[changed(item(1), "changed")])

    body = submit(client, late).json()

    assert_response_bundle(body)
    assert error_code(body) == "33"
    assert "cancelled" in body["entry"][0]["resource"]["disposition"]
    after = counts()
    assert after["refusals"] == before["refusals"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    assert {k: v for k, v in after.items() if k not in ("refusals", "audit_events")} == {
        k: v for k, v in before.items() if k not in ("refusals", "audit_events")
    }


def test_an_update_to_a_request_we_never_received_is_refused(client: Any, counts: Any) -> None:
    never_sent = request_bundle(identifier="NEVER-SENT")
    update = update_of(never_sent, claim_id="claim-2", items=[item(1)])

    body = submit(client, update).json()

    assert error_code(body) == "AA"
    stored = counts()
    assert stored["cases"] == 0
    assert stored["refusals"] == 1


def test_an_update_based_on_an_older_version_is_refused(client: Any) -> None:
    first = request_bundle(items=[item(1)])
    submit(client, first)
    second = update_of(first, claim_id="claim-2", items=[item(1), changed(item(2), "added")])
    submit(client, second)
    stale = update_of(first, claim_id="claim-3", items=[item(1), changed(item(3), "added")])

    body = submit(client, stale).json()

    assert error_code(body) == "33"
    assert "earlier version" in body["entry"][0]["resource"]["disposition"]


def test_an_update_that_leaves_out_an_item_is_refused(client: Any) -> None:
    first = request_bundle(items=[item(1), item(2)])
    submit(client, first)
    partial = update_of(first, claim_id="claim-2", items=[changed(item(1, quantity=2), "changed")])

    body = submit(client, partial).json()

    assert error_code(body) == "33"
    assert "item(s) 2" in body["entry"][0]["resource"]["disposition"]


def test_a_new_request_reusing_an_identifier_with_other_content_is_refused(client: Any, counts: Any) -> None:
    submit(client, request_bundle(identifier="REQ-9", items=[item(1, "72148")]))

    body = submit(client, request_bundle(identifier="REQ-9", items=[item(1, "70551")])).json()

    assert_response_bundle(body)
    assert error_code(body) == "33"
    assert counts()["cases"] == 1


def test_a_new_request_naming_a_used_identifier_among_others_is_refused(client: Any, counts: Any) -> None:
    submit(client, request_bundle(identifier="REQ-9", items=[item(1, "72148")]))
    second = request_bundle(identifier="REQ-10", items=[item(1, "70551")])
    claim_of(second)["identifier"].append({"system": "urn:trnorg:9012345678", "value": "REQ-9"})

    body = submit(client, second).json()

    assert error_code(body) == "33"
    assert counts()["cases"] == 1


def test_an_update_may_carry_a_new_identifier(client: Any) -> None:
    first = request_bundle(identifier="REQ-A", items=[item(1)])
    submit(client, first)
    update = update_of(first, claim_id="claim-2", identifier="REQ-A-UPD", items=[item(1), changed(item(2), "added")])
    submit(client, update)
    again = update_of(update, claim_id="claim-3", items=[item(1), item(2), changed(item(3), "added")])

    body = submit(client, again).json()

    assert review_codes(body) == {1: "A4", 2: "A4", 3: "A4"}


def test_a_cancellation_that_names_no_request_is_refused(client: Any) -> None:
    orphan = request_bundle(items=[cancelled(item(1))])
    claim_of(orphan)["status"] = "cancelled"

    body = submit(client, orphan).json()

    assert error_code(body) == "AA"
