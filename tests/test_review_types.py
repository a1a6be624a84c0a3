"""Retrospective review through HTTP: a request for services already given gets its own queue and 30-day clock, the
rules may still approve it, the work list and team figures tell it apart, and the CMS figures leave it out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from um_service.decision.testcases import ItemSpec, RequestSpec, build_request

from conftest import AuthClient, Clock, review_codes, submit

BUNDLES = Path(__file__).parents[1] / "rules" / "tests" / "bundles"


def request_for(*dates: str, diagnosis: str = "R51.9", identifier: str = "RETRO-1") -> dict[str, Any]:
    items = tuple(ItemSpec(sequence=n, code="72148", date=day) for n, day in enumerate(dates, start=1))
    bundle = build_request(RequestSpec(items=items, diagnoses=(diagnosis,)), BUNDLES)
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = identifier
    return bundle


def test_a_request_for_services_already_given_is_a_retrospective_review(client: AuthClient, clock: Clock) -> None:
    answer = submit(client, request_for("2026-11-02", "2026-11-09")).json()
    case = client.get(f"/um/cases/{answer['entry'][0]['resource']['id']}").json()
    listed = client.get("/um/worklist", params={"review_type": "retrospective"}).json()
    prospective = client.get("/um/worklist", params={"review_type": "prospective"}).json()
    figures = client.get("/um/operations").json()

    assert review_codes(answer) == {1: "A4", 2: "A4"}
    assert (case["review_type"], case["queue"]) == ("retrospective", "retrospective-review")
    assert case["due_at"].startswith("2026-12-23T09:00:00")  # 30 calendar days after receipt, not 7
    assert [c["preauth_ref"] for c in listed["cases"]] == [case["preauth_ref"]]
    assert listed["cases"][0]["review_type"] == "retrospective"
    assert prospective["cases"] == []
    assert figures["open_cases_by_review_type"] == {"prospective": 0, "concurrent": 0, "retrospective": 1}


def test_one_service_still_to_come_makes_the_request_prospective(client: AuthClient) -> None:
    answer = submit(client, request_for("2026-11-02", "2026-12-01")).json()
    case = client.get(f"/um/cases/{answer['entry'][0]['resource']['id']}").json()

    assert (case["review_type"], case["queue"]) == ("prospective", "imaging-review")
    assert case["due_at"].startswith("2026-11-30T09:00:00")


def test_the_rules_may_approve_a_retrospective_request_and_the_cms_figures_leave_it_out(
    client: AuthClient, clock: Clock
) -> None:
    retro = submit(client, request_for("2026-11-02", diagnosis="G83.4", identifier="RETRO-RED-FLAG")).json()
    ahead = submit(client, request_for("2026-12-02", diagnosis="G83.4", identifier="AHEAD-RED-FLAG")).json()
    case = client.get(f"/um/cases/{retro['entry'][0]['resource']['id']}").json()

    report = client.get(
        "/um/reports/cms-0057", params={"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    ).json()

    assert (review_codes(retro), review_codes(ahead)) == ({1: "A1"}, {1: "A1"})
    assert case["review_type"] == "retrospective"
    figures = {f["key"]: f for f in report["figures"]}
    assert (figures["standard_approved"]["numerator"], figures["standard_approved"]["denominator"]) == (1, 1)
    assert report["retrospective_reviews_excluded"] == 1
