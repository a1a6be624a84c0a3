"""Eligibility and benefits at intake: coverage on the service dates, plan exclusions and benefit limits, with the
shipped plan book (rules/plans/plans.yaml) and a registry loaded through the admin API."""

from __future__ import annotations

from typing import Any

import pytest
from test_members import bundle, coverage, patient, post_feed

from um_service.cli import main as cli
from um_service.settings import REPO_ROOT

from builders import item, request_bundle
from conftest import AuthClient, Clock, example, review_codes, submit
from pas_checks import assert_response_bundle

REASON_SYSTEM = "https://codesystem.x12.org/external/886"


def register(client: AuthClient, member_id: str, *, plan: str = "PPO-GOLD", **period: Any) -> None:
    member = coverage(member_id, f"p-{member_id}", **period)
    member["class"][1]["value"] = plan
    assert post_feed(client, bundle(patient(f"p-{member_id}"), member)).status_code == 200


def items_of(answer: dict[str, Any]) -> dict[int, dict[str, Any]]:
    claim_response = assert_response_bundle(answer)
    return {i["itemSequence"]: i for i in claim_response["item"]}


def reason_codes(result: dict[str, Any]) -> list[str]:
    review_action = result["adjudication"][0]["extension"][0]
    return [
        coding["code"]
        for sub in review_action["extension"]
        if sub["url"] == "reasonCode"
        for coding in sub["valueCodeableConcept"]["coding"]
        if coding["system"] == REASON_SYSTEM
    ]


def case_of(client: AuthClient, answer: dict[str, Any]) -> dict[str, Any]:
    case_id = assert_response_bundle(answer)["id"]  # the ClaimResponse id is the case id
    found: dict[str, Any] = client.get(f"/um/cases/{case_id}").json()
    found["history"] = client.get(f"/um/cases/{case_id}/history").json()
    return found


def test_an_item_outside_the_coverage_period_is_not_certified_administratively_and_the_rest_goes_on(
    client: AuthClient,
) -> None:
    register(client, "M-LAPSE", end="2026-12-15")

    answer = submit(
        client,
        request_bundle(
            member_id="M-LAPSE", items=[item(1, "72148", date="2026-12-01"), item(2, "70551", date="2026-12-20")]
        ),
    ).json()

    assert review_codes(answer) == {1: "A4", 2: "A3"}
    lapsed = items_of(answer)[2]
    assert reason_codes(lapsed) == ["0W"]
    claim_response = assert_response_bundle(answer)
    assert "Coverage ended 2026-12-15; service requested for 2026-12-20." in [
        note["text"] for note in claim_response["processNote"]
    ]
    case = case_of(client, answer)
    assert case["status"] == "pended"
    by_sequence = {i["sequence"]: i for i in case["items"]}
    assert by_sequence[2]["decision_kind"] == "administrative"
    assert by_sequence[2]["decided_by"] == "intake"
    assert by_sequence[2]["queue"] is None
    assert by_sequence[1]["decision_kind"] is None
    assert "Item 2 not certified (administrative, 0W): Coverage ended 2026-12-15" in case["history"][0]["reason"]


def test_a_request_wholly_outside_coverage_is_answered_at_once_and_reaches_no_queue(client: AuthClient) -> None:
    register(client, "M-LATER", start="2027-01-01", end=None)

    answer = submit(client, request_bundle(member_id="M-LATER", items=[item(1, "72148", date="2026-12-01")])).json()

    assert review_codes(answer) == {1: "A3"}
    notes = [note["text"] for note in assert_response_bundle(answer)["processNote"]]
    assert "Coverage begins 2027-01-01; service requested for 2026-12-01." in notes
    case = case_of(client, answer)
    assert (case["status"], case["queue"], case["assignee"]) == ("decided", None, None)
    assert case["id"] not in client.get("/um/worklist").text


def test_a_service_the_plan_excludes_is_not_a_covered_benefit(client: AuthClient) -> None:
    register(client, "M-SILVER", plan="HMO-SILVER")
    register(client, "M-GOLD", plan="PPO-GOLD")
    brca = [item(1, "81162", date="2026-12-01"), item(2, "72148", date="2026-12-01")]

    silver = submit(client, request_bundle(identifier="REQ-S", member_id="M-SILVER", items=brca)).json()
    gold = submit(client, request_bundle(identifier="REQ-G", member_id="M-GOLD", items=brca)).json()

    assert review_codes(silver) == {1: "A3", 2: "A4"}
    assert reason_codes(items_of(silver)[1]) == ["0X"]
    notes = [note["text"] for note in assert_response_bundle(silver)["processNote"]]
    assert (
        "Not a covered benefit of plan Silver HMO (HMO-SILVER): Hereditary cancer gene testing (covered by the Gold "
        "PPO only)." in notes
    )
    assert review_codes(gold)[1] != "A3"


def test_a_benefit_limit_counts_across_the_lines_of_one_request(client: AuthClient) -> None:
    register(client, "M-PT")

    answer = submit(
        client,
        request_bundle(member_id="M-PT", items=[item(1, "97110", quantity=12), item(2, "97112", quantity=12)]),
    ).json()

    assert review_codes(answer) == {1: "A1", 2: "A4"}
    notes = [note["text"] for note in assert_response_bundle(answer)["processNote"]]
    assert any(
        note.startswith(
            "Benefit limit reached: Physical therapy, 20 visits per calendar year (plan PPO-GOLD, 2026-01-01 to "
            "2026-12-31). 0 approved before in this period and 24 requested on line(s) 1, 2 come to 24, over 20. A "
            "nurse reviews what remains of the benefit."
        )
        for note in notes
    )
    case = case_of(client, answer)
    assert case["queue"] == "rehab-review"


def test_a_benefit_limit_counts_the_members_earlier_approvals_in_the_period(client: AuthClient) -> None:
    register(client, "M-PT2")

    first = submit(client, request_bundle(identifier="REQ-1", member_id="M-PT2", items=[item(1, "97110", quantity=12)]))
    second = submit(
        client, request_bundle(identifier="REQ-2", member_id="M-PT2", items=[item(1, "97530", quantity=10)])
    )
    next_year = submit(
        client,
        request_bundle(identifier="REQ-3", member_id="M-PT2", items=[item(1, "97530", quantity=10, date="2027-01-05")]),
    )
    other_member_registered = register(client, "M-PT3")
    other = submit(client, request_bundle(identifier="REQ-4", member_id="M-PT3", items=[item(1, "97530", quantity=10)]))

    assert other_member_registered is None
    assert review_codes(first.json()) == {1: "A1"}
    assert review_codes(second.json()) == {1: "A4"}
    notes = [note["text"] for note in assert_response_bundle(second.json())["processNote"]]
    assert any(
        "12 approved before in this period and 10 requested on line(s) 1 come to 22, over 20" in n for n in notes
    )
    assert review_codes(other.json()) == {1: "A1"}
    # The 2027 visits fall in another benefit period, but outside the registered coverage (it ends 2026-12-31).
    assert review_codes(next_year.json()) == {1: "A3"}


def test_with_an_empty_registry_coverage_and_exclusions_are_not_checked(client: AuthClient) -> None:
    answer = submit(client, request_bundle(member_id="ANYONE", items=[item(1, "81162", date="2031-01-01")])).json()

    assert review_codes(answer) == {1: "A4"}
    case = case_of(client, answer)
    assert case["items"][0]["decision_kind"] is None


def test_administrative_denials_count_as_denials_in_the_cms_figures_and_by_kind_in_team_metrics(
    client: AuthClient,
) -> None:
    register(client, "M-OLD", end="2026-06-30")
    submit(client, request_bundle(member_id="M-OLD", items=[item(1, "72148", date="2026-12-01")]))

    report = client.get("/um/reports/cms-0057", params={"from": "2026-01-01", "to": "2027-01-01"}).json()
    figures = {f["key"]: f for f in report["figures"]}
    assert (figures["standard_denied"]["numerator"], figures["standard_denied"]["denominator"]) == (1, 1)
    assert report["denied_administratively"] == {"standard": 1, "expedited": 0}
    metrics = client.get("/um/operations").json()
    assert metrics["denied_items_by_kind"] == {"administrative": 1, "clinical": 0}


def test_the_kit_denial_request_is_denied_at_once_for_a_member_whose_coverage_ended(
    migrated: str, database: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """How a payer shows the PAS test kit its denial workflow (README, "Member registry"): the kit's member
    12345678901 is loaded with coverage that ended 2016-06-30, and the kit's denial request (services on
    2016-08-09 and 2016-08-10 to 12) gets a synchronous A3 on both items."""
    from um_service.app import create_app
    from um_service.settings import Settings, get_settings

    monkeypatch.setenv("UM_DATABASE_URL", migrated)
    get_settings.cache_clear()
    try:
        assert cli(["members", "import", str(REPO_ROOT / "examples" / "kit-denial-registry.ndjson")]) == 0
    finally:
        get_settings.cache_clear()
    assert "1 member(s), 1 coverage(s)" in capsys.readouterr().err

    settings = Settings(database_url=migrated, dispatcher=False)
    with AuthClient(create_app(settings, clock=clock, database=database), clock) as client:
        answer = submit(client, example("testkit-2.2.1/server-suite-requests/submit-request-for-denial.json"))

    assert answer.status_code == 200
    claim_response = assert_response_bundle(answer.json())
    assert claim_response["outcome"] == "complete"
    assert review_codes(answer.json()) == {1: "A3", 2: "A3"}
    assert reason_codes(items_of(answer.json())[1]) == ["0W"]
    notes = [note["text"] for note in claim_response["processNote"]]
    assert "Coverage ended 2016-06-30; service requested for 2016-08-09." in notes
    assert "Coverage ended 2016-06-30; service requested for 2016-08-10 to 2016-08-12." in notes
