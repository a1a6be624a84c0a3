"""Concurrent review through HTTP: an admission gets its initial stay, continued-stay Claim Updates extend it by
the rules or by a nurse on a 24-hour clock, and the discharge closes the authorization with the days used."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from um_service.decision.testcases import ItemSpec, RequestSpec, build_request

from builders import changed, claim_of, update_of
from conftest import AuthClient, Clock, review_codes, submit

BUNDLES = Path(__file__).parents[1] / "rules" / "tests" / "bundles"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
NURSE = {"X-Reviewer-Id": "nurse-carmen"}


def admission(start: str, end: str | None = None, *, diagnosis: str = "I50.23", ident: str = "ADMIT-1") -> Any:
    """An inpatient admission request (X12 1525 AR, place of service 21) with its admissionDates."""
    spec = RequestSpec(items=(ItemSpec(sequence=1, system="x12-1365", code="48", date=start),), diagnoses=(diagnosis,))
    bundle = build_request(spec, BUNDLES)
    claim = claim_of(bundle)
    claim["identifier"][0]["value"] = ident
    claim["type"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]
    }
    item = claim["item"][0]
    item["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "AR"
    item.pop("servicedDate")
    item.pop("quantity")
    pos = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
    item["locationCodeableConcept"] = {"coding": [{"system": pos, "code": "21"}]}
    claim["supportingInfo"] = [_dates("admissionDates", start, end)]
    return bundle


def _dates(category: str, start: str, end: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "sequence": 1 if category == "admissionDates" else 2,
        "category": {
            "coding": [{"system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes", "code": category}]
        },
    }
    if end is None:
        info["timingDate"] = start
    else:
        info["timingPeriod"] = {"start": start, "end": end}
    return info


def continued(previous: Any, n: int, *, end: str | None = None, discharged: str | None = None) -> Any:
    """A continued-stay Claim Update: the admission's requested end moved, or a discharge date added."""
    claim = claim_of(previous)
    admitted = claim["supportingInfo"][0]
    start = admitted.get("timingDate") or admitted["timingPeriod"]["start"]
    item = changed(claim["item"][0], "changed")
    for ext in item["extension"]:
        if ext["url"].endswith("certificationType"):
            ext["valueCodeableConcept"] = {
                "coding": [{"system": "https://codesystem.x12.org/005010/1322", "code": "4"}]
            }
    bundle = update_of(previous, claim_id=f"stay-{n}", items=[item])
    info = [_dates("admissionDates", start, end) if end else copy.deepcopy(admitted)]
    if discharged:
        info.append({**_dates("dischargeDates", discharged, None), "timingDate": discharged})
    claim_of(bundle)["supportingInfo"] = info
    return bundle


def stay_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The first item's authorized dates and discharge as the ClaimResponse says them."""
    response = answer["entry"][0]["resource"]
    found = {}
    for ext in response["item"][0].get("extension", []):
        name = ext["url"].removeprefix(PAS)
        if name in ("extension-admissionDates", "extension-itemPreAuthPeriod"):
            found[name.removeprefix("extension-")] = (ext["valuePeriod"]["start"], ext["valuePeriod"]["end"])
        if name == "extension-dischargeDate":
            found["dischargeDate"] = ext["valueDate"]
    return found


def days(client: AuthClient, case_id: str) -> tuple[Any, ...]:
    case = client.get(f"/um/cases/{case_id}").json()
    stay = case["stay"]
    return (
        case["review_type"],
        stay["days_requested"],
        stay["days_authorized"],
        stay["days_used"],
        stay["next_review_on"],
    )


def test_admission_extended_by_rule_and_by_nurse_then_discharged(client: AuthClient, clock: Clock) -> None:
    first = admission("2026-11-23", "2026-11-26")
    answer = submit(client, first).json()
    case_id = answer["entry"][0]["resource"]["id"]
    assert review_codes(answer) == {1: "A1"}
    assert stay_of(answer) == {
        "itemPreAuthPeriod": ("2026-11-23", "2026-11-26"),
        "admissionDates": ("2026-11-23", "2026-11-26"),
    }
    assert days(client, case_id) == ("concurrent", 3, 3, None, "2026-11-26")
    listed = client.get("/um/worklist", params={"review_type": "concurrent"}).json()["stays"]
    assert [(c["id"], c["next_review_on"]) for c in listed] == [(case_id, "2026-11-26")]

    # Two more days: within the rule's extend_days, approved at once.
    clock.now = clock.now.replace(day=25)
    second = continued(first, 2, end="2026-11-28")
    answer = submit(client, second).json()
    assert review_codes(answer) == {1: "A1"}
    assert stay_of(answer)["admissionDates"] == ("2026-11-23", "2026-11-28")
    assert days(client, case_id) == ("concurrent", 5, 5, None, "2026-11-28")

    # Four more days: past what automation may add, so a nurse reviews it within 24 hours.
    clock.now = clock.now.replace(day=27)
    third = continued(second, 3, end="2026-12-02")
    answer = submit(client, third).json()
    case = client.get(f"/um/cases/{case_id}").json()
    assert review_codes(answer) == {1: "A4"}
    assert (case["status"], case["queue"], case["due_at"][:19]) == (
        "pended",
        "concurrent-review",
        "2026-11-28T09:00:00",
    )
    assert case["assignee"] == "nurse-carmen"
    assert days(client, case_id) == ("concurrent", 9, 5, None, "2026-11-28")  # still authorized to the 28th

    assert client.post(f"/um/cases/{case_id}/take", headers=NURSE).status_code == 200
    approved = client.post(
        f"/um/cases/{case_id}/approve", headers=NURSE, json={"items": [{"sequence": 1, "end": "2026-12-02"}]}
    )
    assert approved.status_code == 200, approved.text
    assert client.get(f"/um/cases/{case_id}").json()["items"][0]["review_action"] == "A1"
    assert days(client, case_id) == ("concurrent", 9, 9, None, "2026-12-02")

    # Discharged on 1 December, inside the dates authorized: the authorization closes there.
    clock.now = clock.now.replace(month=12, day=1)
    answer = submit(client, continued(third, 4, end="2026-12-02", discharged="2026-12-01")).json()
    assert review_codes(answer) == {1: "A1"}
    assert stay_of(answer) == {
        "itemPreAuthPeriod": ("2026-11-23", "2026-12-01"),
        "admissionDates": ("2026-11-23", "2026-12-01"),
        "dischargeDate": "2026-12-01",
    }
    assert days(client, case_id) == ("concurrent", 9, 8, 8, None)  # 9 asked for, 8 authorized and used
    history = [e["action"] for e in client.get(f"/um/cases/{case_id}/history").json()]
    assert history == ["submitted", "updated", "updated", "taken", "approved", "updated"]


def test_a_longer_stay_than_the_rule_approves_is_approved_in_part_with_notices(client: AuthClient) -> None:
    answer = submit(client, admission("2026-11-23", "2026-11-30")).json()
    case_id = answer["entry"][0]["resource"]["id"]
    response = answer["entry"][0]["resource"]

    assert review_codes(answer) == {1: "A6"}
    assert response["addItem"][0]["servicedPeriod"] == {"start": "2026-11-23", "end": "2026-11-26"}
    assert "Initial stay of 3 of the 7 days requested approved" in response["processNote"][0]["text"]
    assert days(client, case_id) == ("concurrent", 7, 3, None, "2026-11-26")
    notices = client.get(f"/um/cases/{case_id}/notices").json()
    assert sorted((n["audience"], n["kind"]) for n in notices) == [("member", "partial"), ("provider", "partial")]
    letters = {n["audience"]: client.get(n["html"]).text for n in notices}
    assert "Your plan approved part of what your provider asked for" in letters["member"]
    assert "What this means for you" not in letters["provider"]


def test_an_open_admission_gets_the_initial_stay(client: AuthClient) -> None:
    answer = submit(client, admission("2026-11-23")).json()
    case_id = answer["entry"][0]["resource"]["id"]

    assert review_codes(answer) == {1: "A1"}
    assert stay_of(answer)["admissionDates"] == ("2026-11-23", "2026-11-26")
    assert days(client, case_id) == ("concurrent", None, 3, None, "2026-11-26")


def test_an_admission_the_rules_pend_is_authorized_by_a_nurse_and_extended_only_by_one(client: AuthClient) -> None:
    first = admission("2026-11-23", "2026-11-25", diagnosis="J18.9", ident="ADMIT-PNEUMONIA")
    answer = submit(client, first).json()
    case_id = answer["entry"][0]["resource"]["id"]
    case = client.get(f"/um/cases/{case_id}").json()
    assert review_codes(answer) == {1: "A4"}
    assert (case["queue"], case["review_type"], case["due_at"][:19]) == (
        "inpatient-review",
        "concurrent",
        "2026-11-30T09:00:00",
    )
    assert days(client, case_id) == ("concurrent", 2, None, None, None)

    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    client.post(f"/um/cases/{case_id}/approve", headers=NURSE, json={"items": [{"sequence": 1}]})
    assert days(client, case_id) == ("concurrent", 2, 2, None, "2026-11-25")
    assert client.get(f"/um/cases/{case_id}").json()["items"][0]["review_action"] == "A1"

    # One more day: this rule never extends on its own, so the stay goes to concurrent review.
    answer = submit(client, continued(first, 2, end="2026-11-26")).json()
    case = client.get(f"/um/cases/{case_id}").json()
    assert review_codes(answer) == {1: "A4"}
    assert (case["queue"], case["due_at"][:19]) == ("concurrent-review", "2026-11-24T09:00:00")


def test_an_admission_discharged_before_the_request_is_retrospective(client: AuthClient) -> None:
    bundle = admission("2026-11-10", "2026-11-12", ident="ADMIT-PAST")
    claim_of(bundle)["supportingInfo"].append(_dates("dischargeDates", "2026-11-12", None))
    answer = submit(client, bundle).json()
    case_id = answer["entry"][0]["resource"]["id"]

    assert review_codes(answer) == {1: "A1"}
    assert stay_of(answer)["dischargeDate"] == "2026-11-12"
    assert days(client, case_id) == ("retrospective", 2, 2, 2, None)


def test_operations_figures_give_the_average_stay_requested_authorized_and_used(
    client: AuthClient, clock: Clock
) -> None:
    short = admission("2026-11-23", "2026-11-26", ident="ADMIT-SHORT")  # 3 requested, 3 authorized
    submit(client, short)
    submit(client, admission("2026-11-23", "2026-11-30", ident="ADMIT-LONG"))  # 7 requested, 3 authorized
    submit(client, continued(short, 2, end="2026-11-26", discharged="2026-11-25"))  # 2 used

    figures = client.get("/um/operations").json()["concurrent_review"]
    metrics = client.get("/metrics").text

    assert figures == {
        "stays_under_review": 1,
        "admissions": 2,
        "average_days_requested": 5.0,
        "average_days_authorized": 2.5,
        "average_days_used": 2.0,
    }
    assert 'um_average_stay_days{measure="requested"} 5.0' in metrics


def test_the_concurrent_clock_follows_the_line_of_business(migrated: str, database: Any, clock: Clock) -> None:
    from um_service.app import create_app
    from um_service.settings import Settings

    settings = Settings(database_url=migrated, dispatcher=False, due_overrides={"commercial": {"concurrent_hours": 8}})
    first = admission("2026-11-23", "2026-11-26", ident="ADMIT-CLOCK")
    with AuthClient(create_app(settings, clock=clock, database=database), clock) as client:
        case_id = submit(client, first).json()["entry"][0]["resource"]["id"]
        clock.now = clock.now.replace(day=25, hour=14)
        answer = submit(client, continued(first, 2, end="2026-11-30")).json()
        case = client.get(f"/um/cases/{case_id}").json()

    assert review_codes(answer) == {1: "A4"}
    assert (case["line_of_business"], case["queue"]) == ("commercial", "concurrent-review")
    assert case["due_at"].startswith("2026-11-25T22:00:00")  # 8 hours, not 24


def test_the_cms_report_counts_an_admission_once_as_a_concurrent_determination(
    client: AuthClient, clock: Clock
) -> None:
    first = admission("2026-11-23", "2026-11-26", ident="ADMIT-CMS")
    submit(client, first)
    submit(client, continued(first, 2, end="2026-11-28"))

    report = client.get(
        "/um/reports/cms-0057", params={"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    ).json()
    figures = {f["key"]: f for f in report["figures"]}

    assert report["determinations_by_review_type"] == {"prospective": 0, "concurrent": 1}
    assert (figures["standard_approved"]["numerator"], figures["standard_approved"]["denominator"]) == (1, 1)
