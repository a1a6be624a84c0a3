"""A retried request (same content) gets the same answer and creates nothing new, also when copies race."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from um_service.context import RequestContext
from um_service.db.models import Case
from um_service.decision import load_directory
from um_service.fhir.envelope import Limits
from um_service.pas.intake import submit as intake_submit
from um_service.settings import REPO_ROOT

from builders import changed, item, request_bundle, update_of
from conftest import FHIR_JSON, example, submit


def test_a_retry_gets_the_same_answer_and_stores_nothing(client: Any, counts: Any) -> None:
    request = request_bundle()
    first = submit(client, request)
    stored = counts()

    retry = submit(client, request)

    assert retry.status_code == 200
    assert retry.content == first.content
    assert counts() == stored


def test_a_retry_with_a_new_timestamp_and_spacing_is_the_same_request(client: Any, counts: Any) -> None:
    request = request_bundle()
    first = submit(client, request).json()
    stored = counts()
    again = copy.deepcopy(request)
    again["timestamp"] = "2026-11-20T10:05:00Z"

    retry = client.post(
        "/fhir/Claim/$submit",
        content=orjson.dumps(again, option=orjson.OPT_INDENT_2),
        headers={"Content-Type": FHIR_JSON},
    ).json()

    assert retry == first
    assert counts() == stored


def test_the_kit_denial_request_is_a_byte_identical_retry_of_the_approval_request(client: Any, counts: Any) -> None:
    approval = submit(client, example("testkit-2.2.1/server-suite-requests/submit-request-for-approval.json"))
    stored = counts()

    denial = submit(client, example("testkit-2.2.1/server-suite-requests/submit-request-for-denial.json"))

    assert denial.content == approval.content
    assert counts() == stored


def test_a_retried_update_is_not_applied_twice(client: Any, counts: Any) -> None:
    first = request_bundle(items=[item(1)])
    submit(client, first)
    update = update_of(first, claim_id="claim-2", items=[item(1), changed(item(2), "added")])
    answer = submit(client, update)
    stored = counts()

    retry = submit(client, update)

    assert retry.content == answer.content
    assert counts() == stored


@pytest.mark.commits
def test_copies_arriving_at_once_create_one_case(client: Any, counts: Any) -> None:
    body = orjson.dumps(request_bundle(identifier="RACE-1", items=[item(1), item(2)]))
    start = threading.Barrier(6)

    def post() -> bytes:
        start.wait()
        response = client.post("/fhir/Claim/$submit", content=body, headers={"Content-Type": FHIR_JSON})
        assert response.status_code == 200, response.text
        content: bytes = response.content
        return content

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: post(), range(6)))

    assert len(set(answers)) == 1
    stored = counts()
    assert stored["cases"] == 1
    assert stored["submissions"] == 1
    assert stored["audit_events"] == 1


@pytest.mark.commits
def test_a_copy_that_loses_the_race_replays_the_winners_answer(database: Any, counts: Any) -> None:
    """The second transaction tries to store the same request while the first holds it uncommitted: it must wait,
    fail on the unique key, and answer with what the first stored."""
    from datetime import UTC, datetime

    raw = orjson.dumps(request_bundle(identifier="RACE-2"))
    context = RequestContext(
        submitter="anonymous",
        organization=None,
        base_url="http://testserver/fhir",
        now=datetime(2026, 11, 23, tzinfo=UTC),
        payer_system="urn:test",
        limits=Limits(),
        rules=load_directory(REPO_ROOT / "rules"),
    )
    first_flushed = threading.Event()
    answers: dict[str, bytes] = {}

    def first() -> None:
        with database.transaction() as session:
            answers["first"] = intake_submit(session, raw=raw, context=context)
            first_flushed.set()
            threading.Event().wait(0.5)  # hold the rows uncommitted while the second copy arrives

    def second() -> None:
        first_flushed.wait(5)
        with database.transaction() as session:
            answers["second"] = intake_submit(session, raw=raw, context=context)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert answers["first"] == answers["second"]
    with database.transaction() as session:
        assert len(session.scalars(select(Case)).all()) == 1
    assert counts()["submissions"] == 1
