"""Requests we cannot read, or that break the PAS profiles: a 4xx OperationOutcome naming every problem and
where it is, and nothing stored."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from builders import claim_of, item, request_bundle
from conftest import FHIR_JSON
from pas_checks import assert_operation_outcome

CLAIM = "Bundle.entry[0].resource"


def mutate(change: Callable[[dict[str, Any]], object]) -> bytes:
    bundle = request_bundle(items=[item(1), item(2)])
    change(bundle)
    return orjson.dumps(bundle)


def _drop(field: str) -> Callable[[dict[str, Any]], object]:
    return lambda b: claim_of(b).pop(field)


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], object]:
    return lambda b: claim_of(b).__setitem__(field, value)


def _duplicate_resource(bundle: dict[str, Any]) -> None:
    bundle["entry"].append(copy.deepcopy(bundle["entry"][1]))


def _duplicate_resource_other_url(bundle: dict[str, Any]) -> None:
    twin = copy.deepcopy(bundle["entry"][1])
    twin["fullUrl"] = "urn:uuid:00000000-0000-0000-0000-00000000abcd"
    bundle["entry"].append(twin)


def _duplicate_item_sequence(bundle: dict[str, Any]) -> None:
    claim_of(bundle)["item"][1]["sequence"] = 1


def _duplicate_supporting_info(bundle: dict[str, Any]) -> None:
    info = {"sequence": 1, "category": {"coding": [{"code": "freeFormMessage"}]}, "valueString": "x"}
    claim_of(bundle)["supportingInfo"] = [info, dict(info)]


def _dangling_reference(bundle: dict[str, Any]) -> None:
    claim_of(bundle)["careTeam"] = [{"sequence": 1, "provider": {"reference": "Practitioner/missing"}}]


def _first_entry_not_claim(bundle: dict[str, Any]) -> None:
    bundle["entry"].append(bundle["entry"].pop(0))


def _provider_is_a_patient(bundle: dict[str, Any]) -> None:
    claim_of(bundle)["provider"] = dict(claim_of(bundle)["patient"])


def _empty_entries(bundle: dict[str, Any]) -> None:
    bundle["entry"] = []


# (name, body, expected status, FHIRPath expressions that must be reported)
CASES: list[tuple[str, bytes, int, list[str]]] = [
    ("not JSON", b"{this is not json", 400, []),
    ("JSON but not an object", b"[1, 2, 3]", 400, []),
    ("not a Bundle", orjson.dumps({"resourceType": "Claim", "id": "x"}), 400, []),
    ("empty Bundle", mutate(_empty_entries), 422, ["Bundle.entry"]),
    ("first entry not a Claim", mutate(_first_entry_not_claim), 422, ["Bundle.entry[0].resource"]),
    ("Claim.use claim", mutate(_set("use", "claim")), 422, [f"{CLAIM}.use"]),
    ("Claim.use outside its value set", mutate(_set("use", "bogus")), 400, [f"{CLAIM}.use"]),
    (
        "Bundle.type outside its value set",
        mutate(lambda b: b.__setitem__("type", "bogus")),
        400,
        ["Bundle.type"],
    ),
    ("Bundle.type not collection", mutate(lambda b: b.__setitem__("type", "batch")), 422, ["Bundle.type"]),
    (
        "reference does not resolve",
        mutate(_dangling_reference),
        422,
        [f"{CLAIM}.careTeam[0].provider.reference"],
    ),
    ("resource present twice", mutate(_duplicate_resource), 422, ["Bundle.entry[5].fullUrl"]),
    (
        "same resource under two fullUrls",
        mutate(_duplicate_resource_other_url),
        422,
        ["Bundle.entry[5].resource"],
    ),
    ("duplicate item.sequence", mutate(_duplicate_item_sequence), 422, [f"{CLAIM}.item[1].sequence"]),
    (
        "duplicate supportingInfo.sequence",
        mutate(_duplicate_supporting_info),
        422,
        [f"{CLAIM}.supportingInfo[1].sequence"],
    ),
    ("missing patient", mutate(_drop("patient")), 400, [f"{CLAIM}.patient"]),
    ("missing insurer", mutate(_drop("insurer")), 422, [f"{CLAIM}.insurer"]),
    ("missing provider", mutate(_drop("provider")), 400, [f"{CLAIM}.provider"]),
    ("missing priority", mutate(_drop("priority")), 400, [f"{CLAIM}.priority"]),
    ("missing insurance", mutate(_drop("insurance")), 400, [f"{CLAIM}.insurance"]),
    ("missing item", mutate(_drop("item")), 422, [f"{CLAIM}.item"]),
    ("provider is a Patient", mutate(_provider_is_a_patient), 422, [f"{CLAIM}.provider"]),
    ("unknown element", mutate(_set("colour", "blue")), 400, [f"{CLAIM}.colour"]),
    ("malformed date", mutate(_set("created", "2026-13-45")), 400, [f"{CLAIM}.created"]),
    (
        "unknown resource type",
        mutate(lambda b: b["entry"].append({"fullUrl": "urn:uuid:0000", "resource": {"resourceType": "Spaceship"}})),
        400,
        ["Bundle.entry[5].resource.resourceType"],
    ),
    (
        "unknown modifier extension",
        mutate(
            lambda b: claim_of(b)["item"][0].__setitem__(
                "modifierExtension", [{"url": "urn:test:negation", "valueBoolean": True}]
            )
        ),
        422,
        [f"{CLAIM}.item[0].modifierExtension[0]"],
    ),
    ("no Bundle.identifier", mutate(lambda b: b.pop("identifier")), 422, ["Bundle.identifier"]),
]


@pytest.mark.parametrize(("name", "body", "status", "where"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_with_an_operation_outcome_and_nothing_stored(
    client: Any, counts: Any, name: str, body: bytes, status: int, where: list[str]
) -> None:
    before = counts()

    response = client.post("/fhir/Claim/$submit", content=body, headers={"Content-Type": FHIR_JSON})

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    issues = assert_operation_outcome(response.json())
    reported = {e for issue in issues for e in issue.get("expression", [])}
    for expression in where:
        assert expression in reported, f"{expression} not in {reported}"
    assert counts() == before


def test_every_problem_is_reported_at_once(client: Any, counts: Any) -> None:
    bundle = request_bundle(items=[item(1), item(1)])
    claim = claim_of(bundle)
    claim["use"] = "claim"
    del claim["insurer"]
    claim["careTeam"] = [{"sequence": 1, "provider": {"reference": "Practitioner/nobody"}}]

    response = client.post("/fhir/Claim/$submit", content=orjson.dumps(bundle), headers={"Content-Type": FHIR_JSON})

    assert response.status_code == 422
    reported = {e for issue in response.json()["issue"] for e in issue.get("expression", [])}
    assert {
        f"{CLAIM}.use",
        f"{CLAIM}.insurer",
        f"{CLAIM}.item[1].sequence",
        f"{CLAIM}.careTeam[0].provider.reference",
    } <= reported
    assert counts()["cases"] == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/fhir+xml", "application/xml", "text/plain", "application/x-www-form-urlencoded", ""],
)
def test_other_content_types_get_415(client: Any, counts: Any, content_type: str) -> None:
    before = counts()
    headers = {"Content-Type": content_type} if content_type else {}

    response = client.post("/fhir/Claim/$submit", content=b"<Bundle xmlns='http://hl7.org/fhir'/>", headers=headers)

    assert response.status_code == 415
    assert_operation_outcome(response.json())
    assert counts() == before


def test_json_content_types_are_all_accepted(client: Any) -> None:
    for position, content_type in enumerate(
        ["application/fhir+json; charset=utf-8", "application/json", "application/json+fhir"]
    ):
        body = orjson.dumps(request_bundle(identifier=f"CT-{position}"))
        response = client.post("/fhir/Claim/$submit", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 200, (content_type, response.text)


def test_a_body_over_the_limit_gets_413(client: Any, counts: Any) -> None:
    before = counts()
    huge = orjson.dumps(request_bundle()) + b" " * (5 * 1024 * 1024)

    response = client.post("/fhir/Claim/$submit", content=huge, headers={"Content-Type": FHIR_JSON})

    assert response.status_code == 413
    assert_operation_outcome(response.json())
    assert counts() == before


def test_absurdly_deep_json_is_refused(client: Any, counts: Any) -> None:
    before = counts()
    for depth in (100, 100_000):
        body = b'{"resourceType": "Bundle", "x": ' + b"[" * depth + b"]" * depth + b"}"
        response = client.post("/fhir/Claim/$submit", content=body, headers={"Content-Type": FHIR_JSON})
        assert response.status_code == 400
        issues = assert_operation_outcome(response.json())
        assert issues[0]["code"] == "too-costly"
    assert counts() == before


def test_an_xml_only_accept_header_gets_406(client: Any) -> None:
    response = client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"})

    assert response.status_code == 406
    assert_operation_outcome(response.json())


def test_the_empty_bundle_the_test_kit_posts_is_refused_on_both_operations(client: Any) -> None:
    from conftest import example

    body = example("testkit-fixtures/invalid-request-bundle-empty-entries-v221-server-test.json")
    for operation in ("$submit", "$inquire"):
        response = client.post(
            f"/fhir/Claim/{operation}", content=orjson.dumps(body), headers={"Content-Type": FHIR_JSON}
        )
        assert 400 <= response.status_code < 500
        assert_operation_outcome(response.json())


def test_unknown_fhir_routes_answer_with_an_operation_outcome(client: Any) -> None:
    response = client.get("/fhir/Patient/123")

    assert response.status_code == 404
    assert_operation_outcome(response.json())


def test_limits_are_configurable_and_answered_clearly(migrated: str, database: Any) -> None:
    from um_service.app import create_app
    from um_service.settings import Settings

    from conftest import AuthClient, Clock

    clock = Clock()
    settings = Settings(
        database_url=migrated,
        dispatcher=False,
        max_bundle_entries=3,
        max_claim_items=1,
        max_string_length=200,
        max_body_bytes=20_000,
    )
    with AuthClient(create_app(settings, clock=clock), clock) as client:

        def refused(bundle: dict[str, Any]) -> list[str]:
            response = client.post(
                "/fhir/Claim/$submit", content=orjson.dumps(bundle), headers={"Content-Type": FHIR_JSON}
            )
            assert 400 <= response.status_code < 500, response.text
            return [issue["diagnostics"] for issue in response.json()["issue"]]

        assert "at most 3" in refused(request_bundle())[0]
        small = request_bundle(items=[item(1), item(2)])
        small["entry"] = small["entry"][:1]
        assert any("at most 1" in d for d in refused(small))
        long_string = request_bundle()
        long_string["entry"][1]["resource"]["name"][0]["family"] = "x" * 201
        assert "at most 200" in refused(long_string)[0]


def test_a_nul_character_is_refused_on_every_database(client: Any, counts: Any) -> None:
    before = counts()
    bundle = request_bundle()
    bundle["entry"][1]["resource"]["name"][0]["family"] = "Doe\x00"

    response = client.post("/fhir/Claim/$submit", content=orjson.dumps(bundle), headers={"Content-Type": FHIR_JSON})
    searched = client.get("/fhir/ClaimResponse", params={"identifier": "x\x00y"})

    assert response.status_code == 400
    assert "NUL" in response.json()["issue"][0]["diagnostics"]
    assert searched.status_code in (200, 400)
    assert counts() == before
