"""The member registry: enrollment feeds (a FHIR Bundle or NDJSON) loaded through the admin API and the CLI, upserted
so a re-run changes nothing and a newer feed moves periods forward; a bad feed is refused whole, line by line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from um_service.cli import main as cli
from um_service.db.models import MemberCoverage

from builders import request_bundle
from conftest import AuthClient, Clock, review_codes, submit
from pas_checks import assert_response_bundle

FHIR_NDJSON = "application/fhir+ndjson"
MB = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]}


def patient(pid: str, family: str = "Rivera", given: str = "Ana") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": family, "given": [given]}],
        "birthDate": "1980-04-02",
        "gender": "female",
    }


def coverage(member_id: str, pid: str, *, start: str = "2026-01-01", end: str | None = "2026-12-31") -> dict[str, Any]:
    period = {"start": start} | ({"end": end} if end else {})
    return {
        "resourceType": "Coverage",
        "id": f"cov-{member_id}",
        "status": "active",
        "identifier": [
            {"type": MB, "system": "urn:plan:member", "value": member_id},
            {"system": "urn:plan:coverage", "value": f"C-{member_id}"},
        ],
        "subscriberId": member_id,
        "beneficiary": {"reference": f"Patient/{pid}"},
        "relationship": {"coding": [{"code": "self"}]},
        "period": period,
        "payor": [{"display": "Test Health Plan"}],
        "class": [
            {"type": {"coding": [{"code": "group"}]}, "value": "G-100"},
            {"type": {"coding": [{"code": "plan"}]}, "value": "PPO-GOLD"},
        ],
    }


def bundle(*resources: dict[str, Any]) -> bytes:
    return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]})


def ndjson(*resources: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in resources) + b"\n"


def post_feed(client: AuthClient, body: bytes, media: str = "application/fhir+json") -> Any:
    return client.post("/um/members/$import", content=body, headers={"Content-Type": media})


def test_a_bundle_feed_is_loaded_and_the_member_read_back(client: AuthClient) -> None:
    loaded = post_feed(
        client, bundle(patient("p1"), coverage("M-100", "p1"), patient("p2", "Okafor", "Ben"), coverage("M-200", "p2"))
    )

    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == {"members": 2, "coverages": 2}
    assert client.get("/um/members/M-100").json() == {
        "id": "M-100",
        "name": "Ana Rivera",
        "birth_date": "1980-04-02",
        "gender": "female",
        "coverages": [
            {
                "coverage": "urn:plan:coverage|C-M-100",
                "status": "active",
                "start": "2026-01-01",
                "end": "2026-12-31",
                "payor": "Test Health Plan",
                "group": "G-100",
                "plan": "PPO-GOLD",
                "relationship": "self",
                "type": None,
            }
        ],
    }
    assert client.get("/um/members/M-999").status_code == 404


def test_the_same_feed_again_changes_nothing_and_a_newer_one_moves_periods(
    client: AuthClient, database: Any, clock: Clock
) -> None:
    feed = ndjson(patient("p1"), coverage("M-100", "p1", end="2026-06-30"))
    assert post_feed(client, feed, FHIR_NDJSON).status_code == 200

    def rows() -> list[tuple[str, str | None, Any]]:
        with database.transaction() as session:
            return [(c.start, c.end, c.updated_at) for c in session.scalars(select(MemberCoverage))]

    first = rows()
    clock.now = clock.now.replace(day=24)
    assert post_feed(client, feed, FHIR_NDJSON).status_code == 200
    assert rows() == first

    assert (
        post_feed(client, ndjson(patient("p1"), coverage("M-100", "p1", end="2027-06-30")), FHIR_NDJSON).status_code
        == 200
    )
    [(start, end, updated)] = rows()
    assert (start, end) == ("2026-01-01", "2027-06-30")
    assert updated == clock.now


def test_a_bad_feed_is_refused_whole_with_every_line_named(client: AuthClient) -> None:
    no_member = coverage("", "p1")
    no_member["identifier"] = []
    del no_member["subscriberId"]
    no_period = coverage("M-300", "p1")
    del no_period["period"]
    bad_date = coverage("M-400", "p1", start="2026-02-30")
    orphan = coverage("M-500", "nobody")
    lines = ndjson(patient("p1"), coverage("M-100", "p1"), no_member, no_period, bad_date, orphan) + b"not json\n"

    refused = post_feed(client, lines, FHIR_NDJSON)

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/fhir+json"
    where = [(i["expression"][0], i["code"]) for i in refused.json()["issue"]]
    assert where == [
        ("body line 3", "required"),
        ("body line 4: Coverage.period.start", "required"),
        ("body line 5: Coverage.period.start", "value"),
        ("body line 6: Coverage.beneficiary", "not-found"),
        ("body line 7", "structure"),
    ]
    assert client.get("/um/members/M-100").status_code == 404


def test_the_cli_imports_files_each_all_or_nothing(
    migrated: str, database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from um_service.settings import get_settings

    good = tmp_path / "enrollment.ndjson"
    good.write_bytes(ndjson(patient("p1"), coverage("M-100", "p1"), patient("p2"), coverage("M-200", "p2")))
    bad = tmp_path / "broken.json"
    bad.write_bytes(bundle(patient("p3"), coverage("M-300", "p3"), {"resourceType": "Organization", "id": "x"}))
    monkeypatch.setenv("UM_DATABASE_URL", migrated)
    get_settings.cache_clear()
    try:
        assert cli(["members", "import", str(good), str(bad)]) == 1
        assert cli(["members", "import", str(good)]) == 0
    finally:
        get_settings.cache_clear()

    err = capsys.readouterr().err
    assert f"{good}: 2 member(s), 2 coverage(s)" in err
    assert f"{bad} entry 3: 'Organization' is not a Patient or a Coverage." in err
    assert f"{bad}: not imported (1 problem(s))" in err
    with database.transaction() as session:
        assert sorted(c.member_id for c in session.scalars(select(MemberCoverage))) == ["M-100", "M-200"]


def test_with_an_empty_registry_any_member_is_accepted(client: AuthClient) -> None:
    answer = submit(client, request_bundle(member_id="NOT-ENROLLED"))

    assert answer.status_code == 200
    assert review_codes(answer.json()) == {1: "A4"}


def test_once_the_registry_holds_members_an_unknown_member_is_refused_and_only_the_refusal_stored(
    client: AuthClient, counts: Any
) -> None:
    assert post_feed(client, bundle(patient("p1"), coverage("MBR-1001", "p1"))).status_code == 200
    before = counts()

    refused = submit(client, request_bundle(identifier="REQ-UNKNOWN", member_id="MBR-9999"))

    claim_response = assert_response_bundle(refused.json())
    assert claim_response["outcome"] == "error"
    assert claim_response["error"][0]["code"]["coding"][0]["code"] == "75"
    assert claim_response["disposition"] == (
        "No member of this plan has the member id given (MBR-9999). Check the member id on the card and send the "
        "request again."
    )
    after = counts()
    grew = {table for table in after if after[table] != before[table]}
    assert grew == {"refusals", "audit_events"}
    assert after["refusals"] - before["refusals"] == 1

    accepted = submit(client, request_bundle(identifier="REQ-KNOWN", member_id="MBR-1001"))
    assert review_codes(accepted.json()) == {1: "A4"}


def test_a_registry_filled_while_the_service_runs_is_checked_from_the_next_request(client: AuthClient) -> None:
    # Workers remember that the registry holds members, never that it is empty.
    before = submit(client, request_bundle(identifier="REQ-EARLY", member_id="MBR-9999"))
    assert review_codes(before.json()) == {1: "A4"}
    assert post_feed(client, bundle(patient("p1"), coverage("MBR-1001", "p1"))).status_code == 200

    after = submit(client, request_bundle(identifier="REQ-LATE", member_id="MBR-9999"))

    assert after.json()["entry"][0]["resource"]["error"][0]["code"]["coding"][0]["code"] == "75"
    assert review_codes(submit(client, request_bundle(identifier="REQ-MEMBER", member_id="MBR-1001")).json()) == {
        1: "A4"
    }


def test_eligibility_required_refuses_even_with_an_empty_registry(database: Any, migrated: str, clock: Clock) -> None:
    from um_service.app import create_app
    from um_service.settings import Settings

    settings = Settings(database_url=migrated, dispatcher=False, eligibility="required")
    with AuthClient(create_app(settings, clock=clock, database=database), clock) as client:
        refused = submit(client, request_bundle(member_id="MBR-1001"))

    assert refused.json()["entry"][0]["resource"]["error"][0]["code"]["coding"][0]["code"] == "75"
