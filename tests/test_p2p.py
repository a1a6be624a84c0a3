"""Peer-to-peer reviews booked into medical directors' published slots: slots in two time zones, booking (by a nurse
on the director's behalf), the provider told the time in the slot's zone and how to join, moving, cancelling, a
missed review, the results, the director's day list by local date, and two bookings of one slot racing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest
import respx
from test_notifications import active_subscription
from test_review_flow import ENDPOINT, deliver, oncology_request

from um_service.case.lifecycle import Actor
from um_service.context import RequestContext
from um_service.db import repository
from um_service.decision import load_directory
from um_service.errors import Conflict
from um_service.fhir.envelope import Limits
from um_service.review import p2p
from um_service.settings import REPO_ROOT

from conftest import AuthClient, submit

NURSE = {"X-Reviewer-Id": "nurse-carmen"}
MD = {"X-Reviewer-Id": "md-diaz"}
OTHER_MD = {"X-Reviewer-Id": "md-okafor"}

# The clock starts at 2026-11-23 09:00 UTC; these are later that week.
CHICAGO = {"start": "2026-11-26T10:00:00-06:00", "end": "2026-11-26T10:30:00-06:00", "time_zone": "America/Chicago"}
LOS_ANGELES = {
    "start": "2026-11-26T09:00:00-08:00",
    "end": "2026-11-26T09:30:00-08:00",
    "time_zone": "America/Los_Angeles",
}
BOOKING = {"contact": "Dr. Smith, 555-0100", "join": "Bridge 555-0199, code 4321"}
CHICAGO_NOTE = (
    "Peer-to-peer discussion with Dr. Elena Diaz booked for 2026-11-26 10:00 America/Chicago (16:00 UTC). "
    "Join: Bridge 555-0199, code 4321. Contact: Dr. Smith, 555-0100."
)
LOS_ANGELES_NOTE = (
    "Peer-to-peer discussion with Dr. Elena Diaz booked for 2026-11-26 09:00 America/Los_Angeles (17:00 UTC). "
    "Join: Bridge 555-0199, code 4321. Contact: Dr. Smith, 555-0100."
)


def md_case(client: AuthClient, identifier: str, *, deny: bool = True) -> str:
    """A chemotherapy request escalated to md-diaz, who has it in review (and denies it, unless `deny` is False)."""
    case_id = str(submit(client, oncology_request(identifier)).json()["entry"][0]["resource"]["id"])
    assert client.post(f"/um/cases/{case_id}/take", headers=NURSE).status_code == 200
    assert client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={"note": "dose"}).status_code == 200
    assert client.post(f"/um/cases/{case_id}/take", headers=MD).json()["status"] == "in_md_review"
    if deny:
        denial = {"items": [1], "reason_code": "0U", "reason_text": "The dose exceeds the compendia."}
        assert client.post(f"/um/cases/{case_id}/deny", headers=MD, json=denial).json()["status"] == "decided"
    return case_id


def publish(client: AuthClient, *slots: dict[str, str], who: dict[str, str] = MD) -> list[str]:
    """Publish slots; their ids, in start order."""
    published = client.post("/um/availability", headers=who, json={"slots": list(slots)})
    assert published.status_code == 201, published.text
    return [s["id"] for s in published.json()]


def book(client: AuthClient, case_id: str, slot_id: str, who: dict[str, str] = NURSE) -> Any:
    return client.post(f"/um/cases/{case_id}/p2p", headers=who, json={"slot_id": slot_id, **BOOKING})


def free_ids(client: AuthClient) -> list[str]:
    return [s["id"] for s in client.get("/um/availability", headers=NURSE).json()]


def p2p_notes(client: AuthClient, case_id: str) -> list[str]:
    """The ClaimResponse's notes about a peer-to-peer review."""
    notes = client.get(f"/fhir/ClaimResponse/{case_id}").json().get("processNote", [])
    return [n["text"] for n in notes if "Peer-to-peer" in n["text"]]


def last_audit(client: AuthClient, case_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = client.get(f"/um/cases/{case_id}/history").json()[-1]
    return entry


def add_director(client: AuthClient) -> None:
    body = {"id": "md-okafor", "name": "Dr. Ngozi Okafor", "role": "medical_director", "capacity": 10}
    assert client.put("/um/reviewers/md-okafor", json=body).status_code == 200


def test_slots_in_two_time_zones_are_shown_in_utc_and_in_their_own_zone(client: AuthClient) -> None:
    published = client.post("/um/availability", headers=MD, json={"slots": [LOS_ANGELES, CHICAGO]})

    assert published.status_code == 201
    listed = client.get("/um/availability", headers=NURSE, params={"reviewer": "md-diaz"}).json()
    assert [(s["start"], s["local_start"], s["local_end"], s["time_zone"]) for s in listed] == [
        ("2026-11-26T16:00:00Z", "2026-11-26T10:00:00-06:00", "2026-11-26T10:30:00-06:00", "America/Chicago"),
        ("2026-11-26T17:00:00Z", "2026-11-26T09:00:00-08:00", "2026-11-26T09:30:00-08:00", "America/Los_Angeles"),
    ]
    assert {(s["reviewer_id"], s["reviewer_name"], s["status"]) for s in listed} == {
        ("md-diaz", "Dr. Elena Diaz", "free")
    }
    later = client.get("/um/availability", headers=MD, params={"from": "2026-11-26T16:30:00Z"}).json()
    assert [s["local_start"] for s in later] == ["2026-11-26T09:00:00-08:00"]
    earlier = client.get("/um/availability", headers=MD, params={"to": "2026-11-26T16:30:00Z"}).json()
    assert [s["local_start"] for s in earlier] == ["2026-11-26T10:00:00-06:00"]
    assert client.get("/um/availability", headers=MD, params={"reviewer": "md-nobody"}).json() == []


@pytest.mark.parametrize(
    ("slot", "status", "words"),
    [
        ({**CHICAGO, "end": "2026-11-26T10:00:00-06:00"}, 422, "must end after it starts"),
        ({**CHICAGO, "end": "2026-11-26T14:01:00-06:00"}, 422, "longer than 4 hours"),
        ({**CHICAGO, "time_zone": "America/Springfield"}, 422, "not an IANA time zone"),
        ({**CHICAGO, "start": "2026-11-26T10:00:00"}, 422, "timezone"),
        ({**CHICAGO, "start": "2026-11-22T10:00:00-06:00", "end": "2026-11-22T10:30:00-06:00"}, 422, "not in the"),
        ({**LOS_ANGELES, "start": "2026-11-26T08:20:00-08:00", "end": "2026-11-26T08:40:00-08:00"}, 409, "overlaps"),
    ],
)
def test_a_director_cannot_publish_a_bad_slot(
    client: AuthClient, slot: dict[str, str], status: int, words: str
) -> None:
    publish(client, CHICAGO)  # 16:00-16:30 UTC

    refused = client.post("/um/availability", headers=MD, json={"slots": [slot]})

    assert refused.status_code == status, refused.text
    assert words in refused.text
    assert len(free_ids(client)) == 1


def test_slots_of_one_request_may_not_overlap_but_two_directors_may_offer_the_same_time(client: AuthClient) -> None:
    add_director(client)
    overlapping = {**CHICAGO, "start": "2026-11-26T10:15:00-06:00", "end": "2026-11-26T11:00:00-06:00"}

    assert client.post("/um/availability", headers=MD, json={"slots": [CHICAGO, overlapping]}).status_code == 409
    assert free_ids(client) == []
    publish(client, CHICAGO)
    publish(client, CHICAGO, who=OTHER_MD)
    assert len(free_ids(client)) == 2
    assert client.post("/um/availability", headers=NURSE, json={"slots": [LOS_ANGELES]}).status_code == 403


def test_a_director_withdraws_only_their_own_free_slots(client: AuthClient) -> None:
    add_director(client)
    free, booked = publish(client, CHICAGO, LOS_ANGELES)
    book(client, md_case(client, "P2P-W"), booked)

    assert client.delete(f"/um/availability/{free}", headers=OTHER_MD).status_code == 403
    assert client.delete(f"/um/availability/{booked}", headers=MD).status_code == 409
    withdrawn = client.delete(f"/um/availability/{free}", headers=MD)
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "cancelled")
    assert client.delete(f"/um/availability/{free}", headers=MD).status_code == 404
    assert free_ids(client) == []
    publish(client, CHICAGO)  # the withdrawn time may be offered again


def test_a_nurse_books_a_slot_and_the_provider_is_told_when_and_how_to_join(client: AuthClient) -> None:
    case_id = md_case(client, "P2P-1")
    chicago, los_angeles = publish(client, CHICAGO, LOS_ANGELES)

    booked = book(client, case_id, chicago)

    assert booked.status_code == 200, booked.text
    case = booked.json()
    assert (case["status"], case["assignee"], case["p2p_contact"]) == ("p2p_scheduled", "md-diaz", BOOKING["contact"])
    assert case["p2p_at"].replace("+00:00", "Z") == "2026-11-26T16:00:00Z"
    assert p2p_notes(client, case_id) == [CHICAGO_NOTE]
    assert free_ids(client) == [los_angeles]
    audit = last_audit(client, case_id)
    assert (audit["action"], audit["actor"], audit["role"]) == ("p2p scheduled", "nurse-carmen", "nurse")
    assert audit["detail"]["slot_id"] == chicago
    assert audit["detail"]["from"] == "decided"
    # One booked review per case: a second booking is refused by the case's state.
    assert book(client, case_id, los_angeles).status_code == 409


def test_one_slot_cannot_be_booked_twice(client: AuthClient) -> None:
    first, second = md_case(client, "P2P-A"), md_case(client, "P2P-B")
    (slot,) = publish(client, CHICAGO)
    assert book(client, first, slot).status_code == 200

    again = book(client, second, slot)

    assert again.status_code == 409
    assert again.json()["detail"] == f"Slot {slot} is booked; choose a free one."
    assert client.get(f"/um/cases/{second}").json()["status"] == "decided"
    assert book(client, second, "no-such-slot").status_code == 404


def test_a_case_a_director_holds_is_booked_only_into_that_directors_slots(client: AuthClient) -> None:
    add_director(client)
    case_id = md_case(client, "P2P-H")
    (theirs,) = publish(client, CHICAGO, who=OTHER_MD)

    refused = book(client, case_id, theirs)

    assert refused.status_code == 409
    assert refused.json()["detail"] == "The case is held by md-diaz; book one of their slots."


def test_rescheduling_books_the_new_slot_and_frees_the_old_one(client: AuthClient) -> None:
    case_id = md_case(client, "P2P-R")
    chicago, los_angeles = publish(client, CHICAGO, LOS_ANGELES)
    book(client, case_id, chicago)
    other = md_case(client, "P2P-R2")
    (taken,) = publish(client, {**CHICAGO, "start": "2026-11-27T10:00:00-06:00", "end": "2026-11-27T11:00:00-06:00"})
    book(client, other, taken)

    assert client.post(f"/um/cases/{case_id}/p2p/reschedule", headers=MD, json={"slot_id": taken}).status_code == 409
    moved = client.post(f"/um/cases/{case_id}/p2p/reschedule", headers=NURSE, json={"slot_id": los_angeles})

    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "p2p_scheduled"
    assert moved.json()["p2p_at"].replace("+00:00", "Z") == "2026-11-26T17:00:00Z"
    assert free_ids(client) == [chicago]
    assert p2p_notes(client, case_id) == [LOS_ANGELES_NOTE]
    audit = last_audit(client, case_id)
    assert audit["action"] == "p2p rescheduled"
    assert (audit["detail"]["previous_slot_id"], audit["detail"]["slot_id"]) == (chicago, los_angeles)


@pytest.mark.parametrize("deny", [True, False], ids=["after the denial", "before a decision"])
def test_cancelling_frees_the_slot_and_returns_the_case_to_where_it_was(client: AuthClient, deny: bool) -> None:
    case_id = md_case(client, "P2P-C", deny=deny)
    (slot,) = publish(client, CHICAGO)
    book(client, case_id, slot)
    before = client.get(f"/um/cases/{case_id}").json()["claim_response_version"]

    assert client.post(f"/um/cases/{case_id}/p2p/cancel", headers=NURSE, json={"reason": ""}).status_code == 422
    cancelled = client.post(f"/um/cases/{case_id}/p2p/cancel", headers=NURSE, json={"reason": "Provider asked to"})

    assert cancelled.status_code == 200, cancelled.text
    expected = "decided" if deny else "in_md_review"
    assert cancelled.json()["status"] == expected
    assert (cancelled.json()["p2p_at"], cancelled.json()["p2p_contact"]) == (None, None)
    assert cancelled.json()["claim_response_version"] == before + 1
    assert p2p_notes(client, case_id) == []
    assert free_ids(client) == [slot]
    audit = last_audit(client, case_id)
    assert (audit["action"], audit["detail"]["returned_to"]) == ("p2p cancelled", expected)
    assert "Provider asked to" in audit["reason"]
    assert book(client, case_id, slot).status_code == 200  # and it may be booked again


def test_a_missed_review_is_recorded_and_the_case_goes_back(client: AuthClient) -> None:
    case_id = md_case(client, "P2P-M")
    (slot,) = publish(client, CHICAGO)
    book(client, case_id, slot)
    missed = {"outcome": "missed", "note": "Nobody answered the bridge."}

    early = client.post(f"/um/cases/{case_id}/p2p/result", headers=MD, json=missed)
    assert early.status_code == 409
    client.clock.now = client.clock.now.replace(day=26, hour=16, minute=20)
    assert client.post(f"/um/cases/{case_id}/p2p/result", headers=NURSE, json=missed).status_code == 403
    recorded = client.post(f"/um/cases/{case_id}/p2p/result", headers=MD, json=missed)

    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["status"] == "decided"
    assert recorded.json()["items"][0]["review_action"] == "A3"
    assert p2p_notes(client, case_id) == []
    audit = last_audit(client, case_id)
    assert (audit["action"], audit["detail"]["outcome"], audit["detail"]["returned_to"]) == (
        "p2p missed",
        "missed",
        "decided",
    )
    assert audit["reason"] == (
        "The provider did not attend the peer-to-peer review of 2026-11-26 10:00 America/Chicago (16:00 UTC). "
        "Nobody answered the bridge."
    )
    day = client.get("/um/p2p", headers=MD, params={"date": "2026-11-26"}).json()
    assert [(d["id"], d["status"]) for d in day] == [(slot, "missed")]
    assert free_ids(client) == []  # a missed slot is not offered again


@pytest.mark.parametrize(
    ("outcome", "action", "code"), [("upheld", "p2p upheld", "A3"), ("overturned", "p2p overturned", "A1")]
)
def test_a_held_review_upholds_or_overturns_the_denial(
    client: AuthClient, outcome: str, action: str, code: str
) -> None:
    case_id = md_case(client, "P2P-U")
    (slot,) = publish(client, CHICAGO)
    book(client, case_id, slot)

    held = client.post(f"/um/cases/{case_id}/p2p/result", headers=MD, json={"outcome": outcome})

    assert held.status_code == 200, held.text
    assert (held.json()["status"], held.json()["items"][0]["review_action"]) == ("decided", code)
    assert last_audit(client, case_id)["action"] == action
    day = client.get("/um/p2p", headers=MD, params={"date": "2026-11-26"}).json()
    assert [(d["id"], d["status"], d["case_id"]) for d in day] == [(slot, "held", case_id)]
    assert p2p_notes(client, case_id) == []


def test_the_day_list_dates_each_review_in_its_slots_time_zone(client: AuthClient) -> None:
    late_evening = {
        "start": "2026-11-26T23:30:00-08:00",
        "end": "2026-11-27T00:00:00-08:00",
        "time_zone": "America/Los_Angeles",
    }
    next_morning = {
        "start": "2026-11-27T09:00:00-08:00",
        "end": "2026-11-27T09:30:00-08:00",
        "time_zone": "America/Los_Angeles",
    }
    unbooked, evening, morning = publish(client, late_evening, next_morning, CHICAGO)  # in start order
    first, second = md_case(client, "P2P-D1"), md_case(client, "P2P-D2")
    book(client, first, evening)
    book(client, second, morning)

    thursday = client.get("/um/p2p", headers=MD, params={"date": "2026-11-26"})

    assert thursday.status_code == 200
    (entry,) = thursday.json()  # 23:30 in Los Angeles is 07:30 UTC on Friday; the free Chicago slot is not listed
    assert entry["id"] == evening
    assert (entry["start"], entry["local_start"]) == ("2026-11-27T07:30:00Z", "2026-11-26T23:30:00-08:00")
    assert (entry["case_id"], entry["status"], entry["contact"], entry["join"]) == (
        first,
        "booked",
        "Dr. Smith, 555-0100",
        "Bridge 555-0199, code 4321",
    )
    assert entry["preauth_ref"] == client.get(f"/um/cases/{first}").json()["preauth_ref"]
    friday = client.get("/um/p2p", headers=NURSE, params={"date": "2026-11-27", "reviewer": "md-diaz"}).json()
    assert [d["id"] for d in friday] == [morning]
    assert client.get("/um/p2p", headers=NURSE, params={"date": "2026-11-27"}).status_code == 422
    assert p2p_notes(client, first) == [
        "Peer-to-peer discussion with Dr. Elena Diaz booked for 2026-11-26 23:30 America/Los_Angeles "
        "(2026-11-27 07:30 UTC). Join: Bridge 555-0199, code 4321. Contact: Dr. Smith, 555-0100."
    ]
    assert unbooked in free_ids(client)


def test_a_subscriber_hears_of_the_booking_the_move_and_the_cancellation(
    client: AuthClient, database: Any, clock: Any
) -> None:
    active_subscription(client, database, clock)
    case_id = md_case(client, "P2P-N")
    chicago, los_angeles = publish(client, CHICAGO, LOS_ANGELES)
    with respx.mock(assert_all_called=False) as receiver:
        inbox = receiver.post(ENDPOINT).mock(return_value=httpx.Response(200))
        deliver(database, clock)  # the denial
        book(client, case_id, chicago)
        assert deliver(database, clock) == 1
        client.post(f"/um/cases/{case_id}/p2p/reschedule", headers=NURSE, json={"slot_id": los_angeles})
        assert deliver(database, clock) == 1
        client.post(f"/um/cases/{case_id}/p2p/cancel", headers=MD, json={"reason": "Resolved by phone"})
        assert deliver(database, clock) == 1

    answers = [orjson.loads(c.request.content)["entry"][1]["resource"]["entry"][0]["resource"] for c in inbox.calls]
    told = [[n["text"] for n in a.get("processNote", []) if "Peer-to-peer" in n["text"]] for a in answers[1:]]
    assert told == [[CHICAGO_NOTE], [LOS_ANGELES_NOTE], []]
    assert [a["meta"]["versionId"] for a in answers[1:]] == ["3", "4", "5"]


@pytest.mark.commits
def test_two_bookings_of_one_slot_at_the_same_moment_one_wins(client: AuthClient) -> None:
    cases = [md_case(client, "P2P-RACE-1"), md_case(client, "P2P-RACE-2")]
    (slot,) = publish(client, CHICAGO)
    clients = [client, AuthClient(client.app, client.clock)]  # one HTTP client per thread
    start = threading.Barrier(2)

    def race(n: int) -> int:
        start.wait()
        status: int = book(clients[n], cases[n], slot).status_code
        return status

    with ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(race, range(2)))

    assert sorted(statuses) == [200, 409]
    winner = cases[statuses.index(200)]
    loser = cases[statuses.index(409)]
    day = client.get("/um/p2p", headers=MD, params={"date": "2026-11-26"}).json()
    assert [(d["id"], d["case_id"]) for d in day] == [(slot, winner)]
    assert client.get(f"/um/cases/{winner}").json()["status"] == "p2p_scheduled"
    assert client.get(f"/um/cases/{loser}").json()["status"] == "decided"
    assert [h["action"] for h in client.get(f"/um/cases/{loser}/history").json()][-1] == "denied"


@pytest.mark.commits
def test_a_booking_that_read_the_slot_free_loses_to_one_that_booked_it_meanwhile(
    client: AuthClient, database: Any
) -> None:
    """The second booking reads the slot free while the first holds it booked, uncommitted: its conditional UPDATE
    (on PostgreSQL) waits for the first, then finds no free slot and refuses; on SQLite it waits to begin."""
    cases = [md_case(client, "P2P-LATE-1"), md_case(client, "P2P-LATE-2")]
    (slot,) = publish(client, CHICAGO)
    context = RequestContext(
        submitter="staff",
        organization=None,
        base_url="http://testserver/fhir",
        now=client.clock.now,
        payer_system="urn:test",
        limits=Limits(),
        rules=load_directory(REPO_ROOT / "rules"),
    )
    nurse = Actor("nurse-carmen", "nurse")
    first_booked = threading.Event()
    outcome: dict[str, str] = {}

    def first() -> None:
        with database.transaction() as session:
            case = repository.get_case(session, cases[0], lock=True)
            assert case is not None
            p2p.book(session, case=case, actor=nurse, slot_id=slot, booking=p2p.Booking("A", "B"), context=context)
            first_booked.set()
            threading.Event().wait(0.5)  # hold the booking uncommitted while the second arrives

    def second() -> None:
        first_booked.wait(5)
        try:
            with database.transaction() as session:
                case = repository.get_case(session, cases[1], lock=True)
                assert case is not None
                p2p.book(session, case=case, actor=nurse, slot_id=slot, booking=p2p.Booking("C", "D"), context=context)
        except Conflict as refused:
            outcome["second"] = str(refused)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    expected = {
        "postgresql": "that slot was just booked; choose another",
        "sqlite": f"slot {slot} is booked; choose a free one",
    }
    assert outcome["second"] == expected[database.engine.dialect.name]
    day = client.get("/um/p2p", headers=MD, params={"date": "2026-11-26"}).json()
    assert [(d["id"], d["case_id"]) for d in day] == [(slot, cases[0])]
