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
import respx
from cryptography.hazmat.primitives.asymmetric import ec
from test_members import bundle, coverage, patient, post_feed

from um_service.auth.cds_hooks import EhrClients
from um_service.auth.clients import disable
from um_service.cli import main as cli
from um_service.decision.testcases import ItemSpec, RequestSpec, build_request

from conftest import ISSUER, AuthClient, Clock, submit

FIXTURES = Path(__file__).parent / "fixtures" / "crd" / "testkit-requests"
CI = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
pytestmark = pytest.mark.commits  # the EHR client is registered with the CLI, in its own transaction


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


def test_an_approved_authorization_of_ours_satisfies_the_same_order(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    from test_crd_consistency import RULES, orders_of

    facts = RequestSpec(items=(ItemSpec(sequence=1, code="72148"),), diagnoses=("G83.4",))
    approved = submit(client, build_request(facts, RULES / "tests" / "bundles")).json()
    preauth = approved["entry"][0]["resource"]["preAuthRef"]
    hook = orders_of(build_request(facts, RULES / "tests" / "bundles"), "Patient/p-1")

    found = information(call(client, ehr_key, clock, "order-sign-crd", hook).json())

    assert found["pa-needed"] == ["satisfied"]
    assert found["satisfied-pa-id"] == [preauth]
    assert "doc-needed" not in found


def test_a_secondary_hook_answers_with_cards_and_never_asks_for_documents(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    body = order_sign("72148")
    body["hook"] = "order-select"
    body["context"]["selections"] = ["ServiceRequest/sr-1"]

    answer = call(client, ehr_key, clock, "order-select-crd", body).json()

    assert answer["systemActions"] == []
    card = answer["cards"][0]
    assert card["summary"].endswith("prior authorization needed")
    assert "LOINC" not in card["detail"]


def test_each_answer_is_kept_with_who_asked_about_which_codes_for_which_member(
    client: AuthClient, clock: Clock, ehr_key: Any, database: Any
) -> None:
    from um_service.db.models import CrdAssertion

    answer = call(client, ehr_key, clock, "order-sign-crd", order_sign("72148"))
    [assertion_id] = information(answer.json())["coverage-assertion-id"]

    with database.transaction() as session:
        kept = session.get(CrdAssertion, assertion_id)
        assert kept is not None
        assert (kept.client_id, kept.hook, kept.member_id, kept.order) == (
            "ehr-1",
            "order-sign",
            "MBR-CRD-1",
            "ServiceRequest/sr-1",
        )
        assert kept.codes == ["http://www.ama-assn.org/go/cpt|72148"]
        assert {"url": "pa-needed", "valueCode": "auth-needed"} in kept.answer["extension"]


def test_an_ehr_registered_by_jwks_url_is_trusted_with_rotated_keys_and_no_other_jku(
    client: AuthClient, clock: Clock, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from um_service.settings import get_settings

    url = "https://ehr.example.org/.well-known/jwks.json"
    monkeypatch.setenv("UM_DATABASE_URL", migrated)
    get_settings.cache_clear()
    try:
        assert cli(["clients", "add", "ehr-1", "--role", "ehr", "--issuer", ISSUER, "--jwks-url", url]) == 0
    finally:
        get_settings.cache_clear()
    first, second = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP384R1())

    def jwk(key: Any, kid: str) -> dict[str, Any]:
        return json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())) | {"kid": kid, "use": "sig"}

    def signed_with(key: Any, kid: str, **header: str) -> dict[str, str]:
        now = int(clock.now.timestamp())
        claims = {"iss": ISSUER, "aud": "http://testserver/cds-services/order-sign-crd", "iat": now, "exp": now + 300}
        token = jwt.encode(claims | {"jti": str(uuid.uuid4())}, key, algorithm="ES384", headers={"kid": kid} | header)
        return {"Authorization": f"Bearer {token}"}

    with respx.mock() as ehr:
        keys = ehr.get(url).respond(200, json={"keys": [jwk(first, "k1")]})
        before = client.post("/cds-services/order-sign-crd", json=order_sign("97161"), headers=signed_with(first, "k1"))
        keys.respond(200, json={"keys": [jwk(first, "k1"), jwk(second, "k2")]})
        rotated = client.post(
            "/cds-services/order-sign-crd", json=order_sign("97161"), headers=signed_with(second, "k2", jku=url)
        )
        elsewhere = client.post(
            "/cds-services/order-sign-crd",
            json=order_sign("97161"),
            headers=signed_with(second, "k2", jku="https://attacker.example/jwks.json"),
        )

    assert (before.status_code, rotated.status_code) == (200, 200)
    assert keys.call_count == 2  # cached once, fetched again for the unknown kid
    assert elsewhere.status_code == 401
    assert "jku is not the registered JWK Set URL" in elsewhere.text


def test_an_ehr_client_disabled_here_is_refused_at_its_next_hook_call(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    assert call(client, ehr_key, clock, "order-sign-crd", order_sign("97161")).status_code == 200  # now remembered

    assert client.patch("/um/clients/ehr-1", json={"active": False}).status_code == 200

    refused = call(client, ehr_key, clock, "order-sign-crd", order_sign("97161"))
    assert refused.status_code == 401
    assert "is not a registered EHR client" in refused.text


def test_an_ehr_client_disabled_by_another_process_is_refused_once_it_was_read_a_few_seconds_ago(
    client: AuthClient, clock: Clock, ehr_key: Any, database: Any
) -> None:
    now = [100.0]
    client.app.state.ehr_clients = EhrClients(seconds=2.0, clock=lambda: now[0])  # type: ignore[attr-defined]
    assert call(client, ehr_key, clock, "order-sign-crd", order_sign("97161")).status_code == 200

    with database.transaction() as session:  # as `um-service clients disable ehr-1` does, outside this worker
        assert disable(session, "ehr-1")
    now[0] += 1.0
    assert call(client, ehr_key, clock, "order-sign-crd", order_sign("97161")).status_code == 200  # still remembered
    now[0] += 1.5
    refused = call(client, ehr_key, clock, "order-sign-crd", order_sign("97161"))
    assert refused.status_code == 401
    assert "is not a registered EHR client" in refused.text
