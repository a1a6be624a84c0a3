"""Care-management referrals through HTTP: a rule that flags an item puts the case on the referral list and, with an
endpoint configured, delivers one referral event through the outbox (retried when the endpoint fails)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
import respx
from test_concurrent_review import admission
from test_review_flow import deliver, oncology_request

from um_service.app import create_app
from um_service.settings import Settings

from conftest import AuthClient, Clock, review_codes, submit

CARE = "https://care.example-health-plan.org/referrals"


@pytest.fixture
def referring(database: Any, migrated: str, clock: Clock) -> Any:
    settings = Settings(
        database_url=migrated, dispatcher=False, referral_endpoint=CARE, referral_headers=["X-Api-Key: cm-key"]
    )
    with AuthClient(create_app(settings, clock=clock, database=database), clock) as client:
        yield client


def test_a_heart_failure_admission_is_referred_once_and_delivered(
    referring: AuthClient, database: Any, clock: Clock
) -> None:
    answer = submit(referring, admission("2026-11-23", "2026-11-26", ident="ADMIT-CHF")).json()
    case_id = answer["entry"][0]["resource"]["id"]
    assert review_codes(answer) == {1: "A1"}

    with respx.mock(assert_all_called=False) as receiver:
        care = receiver.post(CARE).mock(side_effect=[httpx.Response(503), httpx.Response(202)])
        listed = referring.get("/um/referrals").json()
        assert [(r["case_id"], r["program"], r["delivery"]) for r in listed] == [(case_id, "heart-failure", "pending")]

        assert deliver(database, clock) == 1  # the endpoint is down: tried again later
        clock.now = clock.now.replace(minute=5)
        assert deliver(database, clock) == 1

    assert len(care.calls) == 2
    request = care.calls[1].request
    event = orjson.loads(request.content)
    assert request.headers["x-api-key"] == "cm-key"
    assert request.headers["content-type"] == "application/json"
    assert (event["type"], event["program"], event["rule"]) == (
        "care-management-referral",
        "heart-failure",
        "inpatient-heart-failure-stay",
    )
    assert event["case"]["preauth_ref"] == answer["entry"][0]["resource"]["preAuthRef"]
    assert (event["case"]["review_type"], event["case"]["admitted_on"]) == ("concurrent", "2026-11-23")
    assert event["reason"].startswith("Heart-failure admissions are followed by the heart-failure care-management")
    assert [r["delivery"] for r in referring.get("/um/referrals").json()] == ["sent"]
    history = referring.get(f"/um/cases/{case_id}/history").json()
    assert history[0]["detail"]["referrals"] == [{"program": "heart-failure", "sequence": 1}]


def test_a_pended_chemotherapy_request_is_referred_without_an_endpoint(client: AuthClient) -> None:
    answer = submit(client, oncology_request()).json()
    again = submit(client, oncology_request("REQ-0002")).json()
    listed = client.get("/um/referrals", params={"program": "oncology"}).json()

    assert (review_codes(answer), review_codes(again)) == ({1: "A4"}, {1: "A4"})
    assert [(r["program"], r["case_status"], r["delivery"]) for r in listed] == [
        ("oncology", "pended", "no endpoint configured"),
        ("oncology", "pended", "no endpoint configured"),
    ]
    assert client.get("/um/referrals", params={"program": "heart-failure"}).json() == []


def test_an_admission_for_another_reason_is_not_referred(client: AuthClient) -> None:
    submit(client, admission("2026-11-23", "2026-11-25", diagnosis="J18.9", ident="ADMIT-PNEUMONIA"))

    assert client.get("/um/referrals").json() == []
