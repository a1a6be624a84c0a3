"""Subscriptions and notification delivery through the outbox: the receiver down, slow, failing, then up again —
the notification arrives once; two dispatchers never send it twice; a failed handshake puts a subscription in
error."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import httpx
import orjson
import pytest
import respx
from test_review_flow import ENDPOINT, NURSE, deliver, oncology_request, subscription

from um_service.app import create_app
from um_service.notify import outbox as delivery
from um_service.settings import Settings

from conftest import AuthClient, Clock, example, post_fhir, submit
from pas_checks import assert_operation_outcome


def outbox(client: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/um/admin/outbox").json()
    return rows


def approve_a_case(client: Any, identifier: str = "REQ-0001") -> None:
    case_id = submit(client, oncology_request(identifier)).json()["entry"][0]["resource"]["id"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    assert (
        client.post(f"/um/cases/{case_id}/approve", headers=NURSE, json={"items": [{"sequence": 1}]}).status_code == 200
    )


def active_subscription(client: Any, database: Any, clock: Any) -> None:
    with respx.mock(assert_all_called=False) as receiver:
        receiver.post(ENDPOINT).mock(return_value=httpx.Response(200))
        post_fhir(client, "/fhir/Subscription", subscription())
        deliver(database, clock)


def test_down_slow_failing_then_up_delivers_exactly_once(client: Any, database: Any, clock: Any) -> None:
    active_subscription(client, database, clock)
    approve_a_case(client)
    with respx.mock(assert_all_called=False) as receiver:
        inbox = receiver.post(ENDPOINT).mock(
            side_effect=[
                httpx.ConnectError("connection refused"),
                httpx.ReadTimeout("receiver too slow"),
                httpx.Response(500),
                httpx.Response(200),
            ]
        )
        attempts_seen = []
        for _ in range(6):
            deliver(database, clock)
            (message,) = [m for m in outbox(client) if m["kind"] == "event-notification"]
            attempts_seen.append((message["status"], message["attempts"]))
            clock.now += dt.timedelta(minutes=10)  # past any back-off

    assert inbox.call_count == 4
    assert attempts_seen[:4] == [("pending", 1), ("pending", 2), ("pending", 3), ("sent", 4)]
    assert attempts_seen[-1] == ("sent", 4)
    bodies = {call.request.content for call in inbox.calls}
    assert len(bodies) == 1, "every retry sends the same notification"


def test_retries_wait_for_their_back_off(client: Any, database: Any, clock: Any) -> None:
    active_subscription(client, database, clock)
    approve_a_case(client)
    with respx.mock(assert_all_called=False) as receiver:
        inbox = receiver.post(ENDPOINT).mock(return_value=httpx.Response(503))
        deliver(database, clock)
        deliver(database, clock)  # too early: the back-off has not passed
        assert inbox.call_count == 1
        clock.now += dt.timedelta(seconds=2)
        deliver(database, clock)
        assert inbox.call_count == 2


def test_a_notification_is_marked_failed_after_the_last_attempt(client: Any, database: Any, clock: Any) -> None:
    active_subscription(client, database, clock)
    approve_a_case(client)
    policy = delivery.DeliveryPolicy(max_attempts=3, first_delay=1)
    with respx.mock(assert_all_called=False) as receiver, httpx.Client() as http:
        inbox = receiver.post(ENDPOINT).mock(return_value=httpx.Response(500))
        for _ in range(5):
            delivery.deliver_due(database, http, now=clock.now, policy=policy)
            clock.now += dt.timedelta(minutes=10)

    assert inbox.call_count == 3
    (message,) = [m for m in outbox(client) if m["kind"] == "event-notification"]
    assert (message["status"], message["attempts"], message["last_error"]) == ("failed", 3, "HTTP 500")


@pytest.mark.commits
def test_two_dispatchers_never_send_a_message_twice(client: Any, database: Any, clock: Any) -> None:
    active_subscription(client, database, clock)
    for n in range(5):
        approve_a_case(client, f"REQ-{n}")
    start = threading.Barrier(2)

    def slow_receiver(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)
        return httpx.Response(200)

    with respx.mock(assert_all_called=False) as receiver:
        inbox = receiver.post(ENDPOINT).mock(side_effect=slow_receiver)

        def dispatcher() -> None:
            start.wait()
            with httpx.Client() as http:
                while delivery.deliver_due(database, http, now=clock.now, policy=delivery.DeliveryPolicy(batch=2)):
                    pass

        threads = [threading.Thread(target=dispatcher) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    numbers = [orjson.loads(c.request.content)["entry"][0]["resource"]["parameter"] for c in inbox.calls]
    events = [next(p for p in n if p["name"] == "notification-event")["part"][0]["valueString"] for n in numbers]
    assert sorted(events) == ["1", "2", "3", "4", "5"]
    assert all(m["status"] == "sent" for m in outbox(client))


def test_a_failed_handshake_puts_the_subscription_in_error(client: Any, database: Any, clock: Any) -> None:
    created = post_fhir(client, "/fhir/Subscription", subscription()).json()
    with respx.mock(assert_all_called=False) as receiver:
        receiver.post(ENDPOINT).mock(side_effect=httpx.ConnectError("nobody listening"))
        for _ in range(4):
            deliver(database, clock)
            clock.now += dt.timedelta(minutes=10)

    found = client.get(f"/fhir/Subscription/{created['id']}").json()
    assert found["status"] == "error"
    assert "nobody listening" in found["error"]


def test_a_deleted_subscription_hears_nothing_more(client: Any, database: Any, clock: Any) -> None:
    active_subscription(client, database, clock)
    (subscription_row,) = [m["subscription_id"] for m in outbox(client)]
    assert client.delete(f"/fhir/Subscription/{subscription_row}").json()["status"] == "off"
    approve_a_case(client)

    assert [m["kind"] for m in outbox(client)] == ["handshake"]


@pytest.mark.parametrize(
    "name",
    [
        "testkit-fixtures/invalid-subscription-v221-bad-filter-email-idonly.json",
        "testkit-fixtures/invalid-subscription-bad-topic-and-criteria.json",
        "testkit-fixtures/valid-subscription-v201-id-only.json",
    ],
)
def test_subscriptions_pas_22_does_not_allow_are_refused(client: Any, counts: Any, name: str) -> None:
    before = counts()

    response = post_fhir(client, "/fhir/Subscription", example(name))

    assert 400 <= response.status_code < 500
    assert_operation_outcome(response.json())
    assert counts() == before


@pytest.mark.parametrize(
    "name",
    [
        "testkit-fixtures/valid-subscription-v221.json",
        "ig-2.2.1/subscription-request.json",
        "testkit-2.2.1/server-suite-requests/subscription-request.json",
    ],
)
def test_the_published_pas_22_subscriptions_are_accepted(client: Any, name: str) -> None:
    response = post_fhir(client, "/fhir/Subscription", example(name))

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "requested"
    assert response.headers["location"].endswith(f"/Subscription/{response.json()['id']}")


def test_the_running_service_sends_the_handshake_by_itself(migrated: str, database: Any) -> None:
    clock = Clock()
    app = create_app(Settings(database_url=migrated, dispatcher=True, dispatcher_poll_seconds=0.1), clock=clock)
    with respx.mock(assert_all_called=False) as receiver, AuthClient(app, clock) as client:
        inbox = receiver.post(ENDPOINT).mock(return_value=httpx.Response(200))
        created = post_fhir(client, "/fhir/Subscription", subscription()).json()
        deadline = time.monotonic() + 10
        while (
            client.get(f"/fhir/Subscription/{created['id']}").json()["status"] != "active"
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)

        assert client.get(f"/fhir/Subscription/{created['id']}").json()["status"] == "active"
        assert inbox.call_count == 1
