"""CRD through HTTP: discovery, hook calls trusted by real ES384-signed CDS Hooks JWTs of an EHR client registered
with the CLI, coverage information decided by the shipped rule pack and the member registry, and the test kit's
request bodies (tests/fixtures/crd, see its README) answered 200."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from test_members import bundle, coverage, patient, post_feed

from um_service.cli import main as cli

from conftest import AuthClient, Clock

FIXTURES = Path(__file__).parent / "fixtures" / "crd" / "testkit-requests"
CI = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
ISSUER = "https://ehr.example.org"
pytestmark = pytest.mark.commits  # the EHR client is registered with the CLI, in its own transaction


@pytest.fixture
def ehr_key(migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ec.EllipticCurvePrivateKey:
    from um_service.settings import get_settings

    key = ec.generate_private_key(ec.SECP384R1())
    pem = tmp_path / "ehr.pem"
    pem.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    monkeypatch.setenv("UM_DATABASE_URL", migrated)
    get_settings.cache_clear()
    try:
        assert cli(["clients", "add", "ehr-1", "--role", "ehr", "--issuer", ISSUER, "--public-key", str(pem)]) == 0
    finally:
        get_settings.cache_clear()
    return key


def signed(key: Any, service: str, clock: Clock, **changes: Any) -> str:
    now = int(clock.now.timestamp())
    claims = {
        "iss": ISSUER,
        "sub": "ehr-1",
        "aud": f"http://testserver/cds-services/{service}",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    } | changes
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "ehr-1", "typ": "JWT"})


def call(client: AuthClient, key: Any, clock: Clock, service: str, body: dict[str, Any], **claims: Any) -> Any:
    token = signed(key, service, clock, **claims)
    return client.post(f"/cds-services/{service}", json=body, headers={"Authorization": f"Bearer {token}"})


def order_sign(
    code: str, *, member_id: str = "MBR-CRD-1", system: str = "http://www.ama-assn.org/go/cpt"
) -> dict[str, Any]:
    order = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p-crd"},
        "occurrenceDateTime": "2026-12-01",
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.16"}]}],
    }
    member = coverage(member_id, "p-crd")
    member["id"] = "cov-1"
    member["beneficiary"] = {"reference": "Patient/p-crd"}
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p-crd",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]},
        },
        "prefetch": {"patient": patient("p-crd"), "coverage": member},
    }


def information(answer: dict[str, Any]) -> dict[str, list[Any]]:
    [action] = answer["systemActions"]
    assert action["type"] == "update"
    [extension] = [e for e in action["resource"]["extension"] if e["url"] == CI]
    found: dict[str, list[Any]] = {}
    for part in extension["extension"]:
        value = next(v for k, v in part.items() if k.startswith("value"))
        found.setdefault(part["url"], []).append(value)
    return found


def test_discovery_lists_a_service_per_hook_with_the_crd_extensions(client: AuthClient) -> None:
    services = client.get("/cds-services").json()["services"]

    assert [(s["hook"], s["id"]) for s in services] == [
        ("appointment-book", "appointment-book-crd"),
        ("order-sign", "order-sign-crd"),
        ("order-dispatch", "order-dispatch-crd"),
        ("order-select", "order-select-crd"),
        ("encounter-start", "encounter-start-crd"),
        ("encounter-discharge", "encounter-discharge-crd"),
    ]
    assert all(s["extension"]["davinci-crd.version"] == ["2.2", "2.0"] for s in services)
    assert {o["code"] for o in services[0]["extension"]["davinci-crd.configuration-options"]} == {
        "coverage-info",
        "max-cards",
    }


def test_order_sign_says_authorization_and_the_documents_the_rules_want(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    answer = call(client, ehr_key, clock, "order-sign-crd", order_sign("72148"))

    assert answer.status_code == 200, answer.text
    found = information(answer.json())
    assert found["covered"] == ["covered"]
    assert found["pa-needed"] == ["auth-needed"]
    assert found["doc-needed"] == ["clinical"]
    assert found["doc-purpose"] == ["withpa"]
    assert "LOINC 11506-3" in found["reason"][0]["text"]
    assert found["coverage"] == [{"reference": "Coverage/cov-1"}]
    assert len(found["coverage-assertion-id"][0]) == 36
    reference = answer.json()["cards"][1]
    [link] = reference["links"]
    assert (link["type"], link["url"]) == ("absolute", "http://testserver/prior-authorization/services")
    listed = client.get("/prior-authorization/services").json()["services"]
    assert "imaging-lumbar-mri-conservative-therapy" in {s["rule"] for s in listed}
    card = answer.json()["cards"][0]
    assert card["indicator"] == "info"
    assert card["source"]["label"] == "Test Health Plan"


def test_order_sign_says_no_authorization_for_a_service_the_rules_do_not_require_it_for(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    found = information(call(client, ehr_key, clock, "order-sign-crd", order_sign("97161")).json())

    assert (found["covered"], found["pa-needed"]) == (["covered"], ["no-auth"])
    assert "doc-needed" not in found


def test_with_a_registry_an_unknown_member_and_an_excluded_service_are_not_covered(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    silver = coverage("MBR-SILVER", "p-s")
    silver["class"][1]["value"] = "HMO-SILVER"
    assert post_feed(client, bundle(patient("p-s"), silver)).status_code == 200

    unknown = information(
        call(client, ehr_key, clock, "order-sign-crd", order_sign("72148", member_id="NOBODY")).json()
    )
    excluded = information(
        call(client, ehr_key, clock, "order-sign-crd", order_sign("81162", member_id="MBR-SILVER")).json()
    )

    assert unknown["covered"] == ["not-covered"]
    assert unknown["reason"][0]["coding"][0]["code"] == "no-member-found"
    assert "pa-needed" not in unknown
    assert excluded["covered"] == ["not-covered"]
    assert "Not a covered benefit of plan Silver HMO (HMO-SILVER)" in excluded["reason"][0]["text"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"aud": "http://testserver/cds-services/order-select-crd"}, "Audience doesn't match"),
        ({"iss": "https://someone-else.example"}, "not a registered EHR client"),
        ({"exp": 4_000_000_000}, "at most 5 minutes"),
    ],
)
def test_a_hook_jwt_that_does_not_hold_is_refused_with_401(
    client: AuthClient, clock: Clock, ehr_key: Any, change: dict[str, Any], why: str
) -> None:
    answer = call(client, ehr_key, clock, "order-sign-crd", order_sign("72148"), **change)

    assert answer.status_code == 401
    assert why in answer.text


def test_a_replayed_or_unsigned_jwt_is_refused(client: AuthClient, clock: Clock, ehr_key: Any) -> None:
    token = signed(ehr_key, "order-sign-crd", clock)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/cds-services/order-sign-crd", json=order_sign("97161"), headers=headers).status_code == 200
    again = client.post("/cds-services/order-sign-crd", json=order_sign("97161"), headers=headers)
    assert again.status_code == 401
    assert "replay" in again.text

    claims = jwt.decode(token, options={"verify_signature": False})
    unsigned = jwt.encode(claims | {"jti": "other"}, "a-shared-secret-nobody-registered", algorithm="HS256")
    refused = client.post(
        "/cds-services/order-sign-crd", json=order_sign("97161"), headers={"Authorization": f"Bearer {unsigned}"}
    )
    assert refused.status_code == 401
    assert client.post("/cds-services/order-sign-crd", json=order_sign("97161")).status_code == 401


def test_a_malformed_hook_request_gets_400_with_the_reason(client: AuthClient, clock: Clock, ehr_key: Any) -> None:
    body = order_sign("72148")
    del body["context"]["patientId"]

    answer = call(client, ehr_key, clock, "order-sign-crd", body)

    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert "context.patientId is required" in answer.text


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_test_kit_request_body_gets_200_and_cards(
    client: AuthClient, clock: Clock, ehr_key: Any, name: str
) -> None:
    body = json.loads((FIXTURES / name).read_text())
    service = f"{body['hook']}-crd"

    answer = call(client, ehr_key, clock, service, body)

    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["cards"], list)
    assert isinstance(answer.json()["systemActions"], list)
    if body["hook"] in ("order-sign", "appointment-book", "order-dispatch") and body.get("prefetch", {}).get(
        "coverage"
    ):
        assert answer.json()["systemActions"], "a primary hook with a Coverage answers with coverage information"
