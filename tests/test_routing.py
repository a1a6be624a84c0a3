"""Routing: queue and skills, capacity, least loaded first, licences, next case by due time, never two holders;
the work list and the regulatory clocks."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from um_service.app import create_app
from um_service.settings import Settings

from builders import item, request_bundle
from conftest import AuthClient, submit

HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def put_reviewer(client: Any, reviewer_id: str, **fields: Any) -> None:
    body = {"id": reviewer_id, "name": reviewer_id, "role": "nurse", "skills": [], "capacity": 10} | fields
    assert client.put(f"/um/reviewers/{reviewer_id}", json=body).status_code == 200


def only_reviewers(client: Any, *specs: dict[str, Any]) -> None:
    """Make the seeded reviewers unavailable and add these."""
    for reviewer in client.get("/um/reviewers").json():
        client.patch(f"/um/reviewers/{reviewer['id']}", json={"available": False})
    for spec in specs:
        put_reviewer(client, **spec)


def pend(client: Any, identifier: str, code: str = "E0260", system: str = HCPCS, **kwargs: Any) -> str:
    body = submit(client, request_bundle(identifier=identifier, items=[item(1, code, system=system)], **kwargs)).json()
    case_id: str = body["entry"][0]["resource"]["id"]
    return case_id


def case(client: Any, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/um/cases/{case_id}").json()
    return found


def test_a_pended_case_goes_to_its_rules_queue_and_a_nurse_with_the_skills(client: Any) -> None:
    only_reviewers(
        client, {"reviewer_id": "imaging-nurse", "skills": ["imaging"]}, {"reviewer_id": "dme-nurse", "skills": ["dme"]}
    )

    hospital_bed = case(client, pend(client, "BED-1"))

    assert hospital_bed["queue"] == "dme-review"
    assert hospital_bed["required_skills"] == ["dme"]
    assert hospital_bed["assignee"] == "dme-nurse"


def test_nobody_qualified_leaves_the_case_unassigned_in_its_queue(client: Any) -> None:
    only_reviewers(client, {"reviewer_id": "imaging-nurse", "skills": ["imaging"]})

    bed = case(client, pend(client, "BED-1"))

    assert bed["assignee"] is None
    assert client.get("/um/worklist", params={"queue": "dme-review"}).json()["counts"]["total"] == 1


def test_least_loaded_first_and_capacity_is_respected(client: Any) -> None:
    only_reviewers(
        client,
        {"reviewer_id": "a", "skills": ["dme"], "capacity": 1},
        {"reviewer_id": "b", "skills": ["dme"], "capacity": 2},
    )

    assignees = [case(client, pend(client, f"BED-{n}"))["assignee"] for n in range(4)]

    assert assignees == ["a", "b", "b", None]


def test_a_licence_in_the_members_state_is_required(client: Any) -> None:
    only_reviewers(
        client,
        {"reviewer_id": "ohio", "skills": ["dme"], "licensed_states": ["OH"]},
        {"reviewer_id": "texas", "skills": ["dme"], "licensed_states": ["TX"]},
    )
    bundle = request_bundle(identifier="BED-TX", items=[item(1, "E0260", system=HCPCS)])
    bundle["entry"][1]["resource"]["address"] = [{"state": "TX"}]

    case_id = submit(client, bundle).json()["entry"][0]["resource"]["id"]

    assert case(client, case_id)["assignee"] == "texas"


def test_next_case_is_the_earliest_due_one_the_reviewer_is_qualified_for(client: Any, clock: Any) -> None:
    only_reviewers(client)
    standard = pend(client, "BED-STANDARD")
    clock.now += dt.timedelta(hours=1)
    urgent = pend(client, "BED-URGENT", priority="stat")
    imaging = pend(client, "MRI-1", code="70553", system="http://www.ama-assn.org/go/cpt", priority="stat")
    put_reviewer(client, "dme-nurse", skills=["dme"])

    first = client.post("/um/work/next", headers={"X-Reviewer-Id": "dme-nurse"}).json()
    second = client.post("/um/work/next", headers={"X-Reviewer-Id": "dme-nurse"}).json()
    none_left = client.post("/um/work/next", headers={"X-Reviewer-Id": "dme-nurse"})

    assert (first["id"], first["status"], first["assignee"]) == (urgent, "in_review", "dme-nurse")
    assert second["id"] == standard
    assert none_left.status_code == 404
    assert case(client, imaging)["assignee"] is None


def test_next_case_refuses_a_reviewer_at_capacity(client: Any) -> None:
    only_reviewers(client)
    pend(client, "BED-1")
    pend(client, "BED-2")
    put_reviewer(client, "busy", skills=["dme"], capacity=1)
    client.post("/um/work/next", headers={"X-Reviewer-Id": "busy"})

    refused = client.post("/um/work/next", headers={"X-Reviewer-Id": "busy"})

    assert refused.status_code == 409
    assert "capacity" in refused.json()["detail"]


@pytest.mark.commits
def test_concurrent_next_case_calls_never_hand_one_case_to_two_reviewers(client: Any) -> None:
    only_reviewers(client)
    cases = {pend(client, f"BED-{n}") for n in range(6)}
    for n in range(6):
        put_reviewer(client, f"nurse-{n}", skills=["dme"], capacity=5)
    start = threading.Barrier(6)

    def grab(n: int) -> str | None:
        start.wait()
        response = client.post("/um/work/next", headers={"X-Reviewer-Id": f"nurse-{n}"})
        return response.json()["id"] if response.status_code == 200 else None

    with ThreadPoolExecutor(6) as pool:
        taken = [c for c in pool.map(grab, range(6)) if c]

    assert len(taken) == len(set(taken)) == 6
    assert set(taken) == cases
    holders = {c: case(client, c)["assignee"] for c in taken}
    assert len(set(holders.values())) == 6


def test_work_list_counts(client: Any, clock: Any) -> None:
    only_reviewers(client)
    pend(client, "BED-1", priority="stat")
    pend(client, "BED-2")
    clock.now += dt.timedelta(days=4)

    work = client.get("/um/worklist").json()

    assert work["counts"] == {"total": 2, "expedited": 1, "standard": 1, "overdue": 1, "near_breach": 0}
    assert [c["overdue"] for c in work["cases"]] == [True, False]


def test_near_breach_cases_are_flagged_and_made_urgent_once(client: Any, clock: Any) -> None:
    only_reviewers(client)
    expedited = pend(client, "BED-1", priority="stat")
    standard = pend(client, "BED-2")
    clock.now += dt.timedelta(hours=61)

    assert client.post("/um/admin/clocks/sweep").json() == {"flagged": 1}
    assert client.post("/um/admin/clocks/sweep").json() == {"flagged": 0}

    flagged = case(client, expedited)
    assert (flagged["near_breach"], flagged["review_priority"]) == (True, "urgent")
    assert case(client, standard)["near_breach"] is False
    assert client.get("/um/worklist").json()["counts"]["near_breach"] == 1
    assert [h["action"] for h in client.get(f"/um/cases/{expedited}/history").json()] == ["submitted", "near breach"]


def test_an_extension_moves_the_due_time_once_with_its_reason(client: Any) -> None:
    case_id = pend(client, "BED-1")
    due = case(client, case_id)["due_at"]
    nurse = {"X-Reviewer-Id": "nurse-ben"}

    extended = client.post(
        f"/um/cases/{case_id}/extend", headers=nurse, json={"reason": "Awaiting records from the hospital", "days": 14}
    )
    again = client.post(f"/um/cases/{case_id}/extend", headers=nurse, json={"reason": "More", "days": 2})

    assert dt.datetime.fromisoformat(extended.json()["due_at"]) - dt.datetime.fromisoformat(due) == dt.timedelta(
        days=14
    )
    assert extended.json()["extension_reason"] == "Awaiting records from the hospital"
    assert again.status_code == 409


def test_due_times_follow_the_line_of_business_clock(migrated: str, database: Any, clock: Any) -> None:
    settings = Settings(database_url=migrated, dispatcher=False, due_overrides={"medicaid": {"standard_days": 3}})
    bundle = request_bundle(identifier="MCD-1", items=[item(1, "E0260", system=HCPCS)])
    bundle["entry"][2]["resource"]["type"] = {"coding": [{"code": "medicaid"}]}
    with AuthClient(create_app(settings, clock=clock), clock) as client:
        case_id = submit(client, bundle).json()["entry"][0]["resource"]["id"]
        found = case(client, case_id)

    assert found["line_of_business"] == "medicaid"
    assert dt.datetime.fromisoformat(found["due_at"]) - dt.datetime.fromisoformat(found["received_at"]) == dt.timedelta(
        days=3
    )


def test_reviewers_and_queues_are_managed_through_the_staff_api(client: Any) -> None:
    seeded = {r["id"] for r in client.get("/um/reviewers").json()}
    assert {"nurse-ada", "md-diaz"} <= seeded
    assert client.put("/um/queues/wound-care", json={"name": "wound-care", "skills": ["wound"]}).status_code == 200
    assert {"name": "wound-care", "description": "", "skills": ["wound"]} in client.get("/um/queues").json()
    assert client.put("/um/reviewers/x", json={"id": "y", "name": "Y", "role": "nurse"}).status_code == 422
    assert client.put("/um/reviewers/z", json={"id": "z", "name": "Z", "role": "surgeon"}).status_code == 422
