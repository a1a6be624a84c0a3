"""Who may do what: SMART-style client credentials, short-lived tokens checked for audience, expiry and scope, one
access policy walked for every route and role, and providers confined to their own organisation."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from test_review_flow import subscription

from um_service.app import create_app
from um_service.auth import policy
from um_service.auth.clients import DisabledClients, disable
from um_service.cli import main as cli
from um_service.db.session import Database
from um_service.settings import Settings

from builders import item, request_bundle
from conftest import FHIR_JSON, AuthClient, Clock, example

TOKEN_URL = "http://testserver/auth/token"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def keypair(kind: str = "rsa") -> tuple[Any, str]:
    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP384R1())
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def assertion(
    private: Any,
    client_id: str,
    clock: Clock,
    *,
    audience: str = TOKEN_URL,
    lifetime: int = 240,
    algorithm: str = "RS384",
    jti: str | None = None,
) -> str:
    now = int(clock.now.timestamp())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "exp": now + lifetime,
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, private, algorithm=algorithm)


def token_request(client: AuthClient, **form: str) -> Any:
    return client.post(
        "/auth/token",
        content="&".join(f"{k}={v}" for k, v in form.items()),
        headers={"Authorization": "", "Content-Type": "application/x-www-form-urlencoded"},
    )


def register(client: AuthClient, client_id: str, **body: Any) -> None:
    response = client.put(f"/um/clients/{client_id}", json=body)
    assert response.status_code == 200, response.text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON}


def test_smart_discovery_is_public(client: AuthClient) -> None:
    found = client.get("/.well-known/smart-configuration", headers={"Authorization": ""}).json()

    assert found["token_endpoint"] == TOKEN_URL
    assert "private_key_jwt" in found["token_endpoint_auth_methods_supported"]
    assert "RS384" in found["token_endpoint_auth_signing_alg_values_supported"]


@pytest.mark.parametrize(("kind", "algorithm"), [("rsa", "RS384"), ("ec", "ES384")])
def test_a_provider_gets_a_token_with_a_signed_assertion_and_submits(
    client: AuthClient, clock: Clock, kind: str, algorithm: str
) -> None:
    private, public = keypair(kind)
    register(client, "ehr-1", role="provider", organization="1234567893", public_key=public)
    signed = assertion(private, "ehr-1", clock, algorithm=algorithm)

    issued = token_request(
        client,
        grant_type="client_credentials",
        client_assertion_type=ASSERTION,
        client_assertion=signed,
        scope="system/Claim.c system/ClaimResponse.rs um/admin",
    )

    assert issued.status_code == 200, issued.text
    granted = issued.json()
    assert granted["token_type"] == "bearer"
    assert granted["expires_in"] == 300
    assert granted["scope"] == "system/Claim.c system/ClaimResponse.rs"
    submitted = client.post(
        "/fhir/Claim/$submit", content=orjson.dumps(request_bundle()), headers=bearer(granted["access_token"])
    )
    assert submitted.status_code == 200
    replayed = token_request(
        client, grant_type="client_credentials", client_assertion_type=ASSERTION, client_assertion=signed
    )
    assert replayed.status_code == 401
    assert "replay" in replayed.json()["error_description"]


def test_bad_assertions_are_refused(client: AuthClient, clock: Clock) -> None:
    private, public = keypair()
    other, _ = keypair()
    register(client, "ehr-2", role="provider", organization="1234567893", public_key=public)
    cases = {
        "wrong audience": assertion(private, "ehr-2", clock, audience="https://elsewhere/token"),
        "expired": assertion(private, "ehr-2", clock, lifetime=-120),
        "too long-lived": assertion(private, "ehr-2", clock, lifetime=3600),
        "wrong key": assertion(other, "ehr-2", clock),
        "unknown client": assertion(private, "nobody", clock),
        "not a JWT": "not-a-jwt",
    }
    for name, signed in cases.items():
        response = token_request(
            client, grant_type="client_credentials", client_assertion_type=ASSERTION, client_assertion=signed
        )
        assert response.status_code == 401, name
        assert response.json()["error"] == "invalid_client", name


def test_client_secret_basic_and_the_oauth_errors(client: AuthClient) -> None:
    register(client, "portal-1", role="portal", secret="a-long-portal-secret-value")
    import base64

    basic = base64.b64encode(b"portal-1:a-long-portal-secret-value").decode()
    good = client.post(
        "/auth/token", content="grant_type=client_credentials", headers={"Authorization": f"Basic {basic}"}
    )
    wrong = client.post(
        "/auth/token",
        content="grant_type=client_credentials",
        headers={"Authorization": "Basic " + base64.b64encode(b"portal-1:nope").decode()},
    )
    grant_type = client.post("/auth/token", content="grant_type=password", headers={"Authorization": f"Basic {basic}"})
    scope = client.post(
        "/auth/token",
        content="grant_type=client_credentials&scope=um/admin",
        headers={"Authorization": f"Basic {basic}"},
    )

    assert good.status_code == 200
    assert good.json()["scope"] == "system/Claim.r system/ClaimResponse.rs"
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (grant_type.status_code, grant_type.json()["error"]) == (400, "unsupported_grant_type")
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")


def test_tokens_are_checked_for_signature_audience_expiry_and_scope(client: AuthClient, clock: Clock) -> None:
    body = orjson.dumps(request_bundle())
    good = client.token("provider", org="1234567893")
    forged = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}), "a-guessed-key-of-thirty-two-bytes!", algorithm="HS256"
    )
    foreign = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}) | {"aud": "other-service"},
        client.app.state.token_key,
        algorithm="HS256",
    )  # type: ignore[attr-defined]
    portal = client.token("portal")

    assert client.post("/fhir/Claim/$submit", content=body, headers=bearer(forged)).status_code == 401
    assert client.post("/fhir/Claim/$submit", content=body, headers=bearer(foreign)).status_code == 401
    assert client.post("/fhir/Claim/$submit", content=body, headers=bearer(portal)).status_code == 403
    clock.now += dt.timedelta(minutes=6)
    expired = client.post("/fhir/Claim/$submit", content=body, headers=bearer(good))
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"].startswith("Bearer")
    assert expired.json()["resourceType"] == "OperationOutcome"


def dummy(path: str) -> str:
    return (
        path.replace("{claim_response_id}", "x")
        .replace("{case_id}", "x")
        .replace("{subscription_id}", "x")
        .replace("{reviewer_id}", "x")
        .replace("{name}", "x")
        .replace("{client_id}", "x")
    )


def api_routes(app: Any) -> list[tuple[str, Any]]:
    """(path, route) of every route, looking inside included routers."""
    found = []
    for route in app.routes:
        if hasattr(route, "original_router"):
            prefix = route.include_context.prefix
            found += [(prefix + inner.path, inner) for inner in route.original_router.routes]
        else:
            found.append((route.path, route))
    return found


ROLES = ("provider", "portal", "nurse", "medical_director", "admin")


# Who may call what, written out: a wrong role in the access policy fails here, whatever the policy says.
MATRIX = """
GET    /fhir/metadata                            public
POST   /fhir/Claim/$submit                       provider
POST   /fhir/Claim/$inquire                      provider portal
GET    /fhir/ClaimResponse/{claim_response_id}   provider portal
GET    /fhir/ClaimResponse                       provider portal
POST   /fhir/Subscription                        provider
GET    /fhir/Subscription/{subscription_id}      provider
DELETE /fhir/Subscription/{subscription_id}      provider
POST   /fhir/Questionnaire/$questionnaire-package provider
POST   /fhir/$questionnaire-package              provider
POST   /fhir/Questionnaire/$next-question        provider
POST   /fhir/$submit-attachment                  provider
GET    /um/cases/{case_id}/attachments           nurse medical_director admin
GET    /um/cases/{case_id}/attachments/{attachment_id} nurse medical_director admin
GET    /um/cases/{case_id}/notices               nurse medical_director admin
GET    /um/cases/{case_id}/notices/{notice_id}   nurse medical_director admin
GET    /um/referrals                             nurse medical_director admin
GET    /um/worklist                              nurse medical_director admin
GET    /um/cases/{case_id}/actions               nurse medical_director
GET    /um/reasons                               nurse medical_director admin
POST   /um/work/next                             nurse medical_director
POST   /um/cases/{case_id}/take                  nurse medical_director
POST   /um/cases/{case_id}/approve               nurse medical_director
POST   /um/cases/{case_id}/request-info          nurse medical_director
POST   /um/cases/{case_id}/escalate              nurse medical_director
POST   /um/cases/{case_id}/deny                  medical_director
POST   /um/cases/{case_id}/p2p                   nurse medical_director
POST   /um/cases/{case_id}/p2p/reschedule        nurse medical_director
POST   /um/cases/{case_id}/p2p/cancel            nurse medical_director
POST   /um/cases/{case_id}/p2p/result            nurse medical_director
POST   /um/availability                          medical_director
GET    /um/availability                          nurse medical_director
DELETE /um/availability/{slot_id}                medical_director
GET    /um/p2p                                   nurse medical_director
POST   /um/cases/{case_id}/extend                nurse medical_director
GET    /um/cases/{case_id}/request               nurse medical_director admin
GET    /um/cases/{case_id}/history               nurse medical_director admin
GET    /um/reports/cms-0057                      nurse medical_director admin
POST   /um/cases/{case_id}/appeals               nurse medical_director
POST   /um/appeals/{appeal_id}/decision          medical_director
GET    /um/operations                            nurse medical_director admin
GET    /um/dashboard                             nurse medical_director admin
GET    /um/dashboard/charts                      nurse medical_director admin
GET    /metrics                                  admin
GET    /ui                                       public
GET    /ui/app.js                                public
GET    /ui/dashboard                             public
GET    /ui/dashboard.js                          public
GET    /um/cases/{case_id}                       nurse medical_director admin
GET    /um/cases/{case_id}/replay                nurse medical_director admin
GET    /um/admin/rules                           nurse medical_director admin
POST   /um/admin/rules/reload                    admin
GET    /um/reviewers                             nurse medical_director admin
PUT    /um/reviewers/{reviewer_id}               admin
PATCH  /um/reviewers/{reviewer_id}               admin
GET    /um/queues                                nurse medical_director admin
PUT    /um/queues/{name}                         admin
POST   /um/admin/clocks/sweep                    admin
GET    /um/admin/outbox                          admin
GET    /health/live                              public
GET    /health/ready                             public
GET    /.well-known/smart-configuration          public
POST   /auth/token                               public
GET    /um/clients                               admin
PUT    /um/clients/{client_id}                   admin
PATCH  /um/clients/{client_id}                   admin
POST   /um/members/$import                       admin
GET    /um/members/{member_id}                   nurse medical_director admin
GET    /cds-services                             public
GET    /prior-authorization/services             public
POST   /cds-services/{service_id}                cds-hooks-jwt
"""


CDS_HOOKS_JWT = frozenset({"cds-hooks-jwt"})


def _matrix() -> dict[tuple[str, str], frozenset[str] | None]:
    """(method, path) -> roles allowed, or None for a public route."""
    found: dict[tuple[str, str], frozenset[str] | None] = {}
    for line in MATRIX.strip().splitlines():
        method, path, *roles = line.split()
        found[(method, path)] = None if roles == ["public"] else frozenset(roles)
    return found


def test_every_route_with_every_role(client: AuthClient) -> None:
    expected = _matrix()
    served = {
        (method, path)
        for path, route in api_routes(client.app)
        if getattr(route, "methods", None)
        and route.name not in ("openapi", "swagger_ui_html", "swagger_ui_redirect", "redoc_html")
        for method in route.methods - {"HEAD", "OPTIONS"}
    }
    assert served == set(expected)
    reviewers = {"nurse": "nurse-ada", "medical_director": "md-diaz"}
    checked = 0
    for (method, route_path), allowed_roles in sorted(expected.items()):
        path = dummy(route_path)
        for role in (None, *ROLES):
            headers = {"Content-Type": "application/json"}
            if role is None:
                headers["Authorization"] = ""
            else:
                token = client.token(
                    role, org="1234567893" if role == "provider" else None, reviewer=reviewers.get(role)
                )
                headers["Authorization"] = f"Bearer {token}"
            status = client.request(method, path, content=b"{}", headers=headers).status_code
            if allowed_roles == CDS_HOOKS_JWT:
                # Hook calls are trusted by the EHR's CDS Hooks JWT only: none of our access tokens opens them.
                assert status == 401, (method, path, role, status)
            elif allowed_roles is None or role in allowed_roles:
                assert status not in (401, 403), (method, path, role, status)
            elif role is None:
                assert status == 401, (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)
            checked += 1
    assert checked > 200


def test_every_route_has_an_access_rule(client: AuthClient) -> None:
    names = {r.name for _, r in api_routes(client.app) if getattr(r, "methods", None)}
    assert names - policy.PUBLIC <= set(policy.POLICY)
    assert set(policy.POLICY) <= names, "rules for routes that do not exist"


def test_providers_see_only_their_own_requests(client: AuthClient) -> None:
    mine = request_bundle(identifier="MINE", provider_npi="1111111111")
    theirs = request_bundle(identifier="THEIRS", provider_npi="2222222222")
    a, b = client.token("provider", org="1111111111"), client.token("provider", org="2222222222")
    mine_id = client.post("/fhir/Claim/$submit", content=orjson.dumps(mine), headers=bearer(a)).json()["entry"][0][
        "resource"
    ]["id"]
    client.post("/fhir/Claim/$submit", content=orjson.dumps(theirs), headers=bearer(b))

    assert client.get(f"/fhir/ClaimResponse/{mine_id}", headers=bearer(a)).status_code == 200
    assert client.get(f"/fhir/ClaimResponse/{mine_id}", headers=bearer(b)).status_code == 404
    assert client.get("/fhir/ClaimResponse", headers=bearer(b)).json()["total"] == 1
    assert client.get("/fhir/ClaimResponse", headers=bearer(client.token("portal"))).json()["total"] == 2
    inquiry = client.post("/fhir/Claim/$inquire", content=orjson.dumps(mine), headers=bearer(b)).json()
    assert "parameter" not in inquiry
    foreign = client.post(
        "/fhir/Claim/$submit",
        content=orjson.dumps(request_bundle(identifier="X", provider_npi="1111111111")),
        headers=bearer(b),
    )
    assert foreign.status_code == 403


def test_providers_subscribe_only_for_themselves(client: AuthClient) -> None:
    a, b = client.token("provider", org="1234567893"), client.token("provider", org="9999999999")
    created = client.post("/fhir/Subscription", content=orjson.dumps(subscription()), headers=bearer(a))
    assert created.status_code == 201
    subscription_id = created.json()["id"]

    assert client.post("/fhir/Subscription", content=orjson.dumps(subscription()), headers=bearer(b)).status_code == 403
    assert client.get(f"/fhir/Subscription/{subscription_id}", headers=bearer(b)).status_code == 404
    assert client.delete(f"/fhir/Subscription/{subscription_id}", headers=bearer(b)).status_code == 404
    assert client.get(f"/fhir/Subscription/{subscription_id}", headers=bearer(a)).json()["status"] == "requested"


def test_refusals_are_logged_with_the_client_id(client: AuthClient, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="um_service.api.deps"):
        client.post("/um/admin/rules/reload", headers={"Authorization": f"Bearer {client.token('portal')}"})

    (record,) = [r for r in caplog.records if r.getMessage() == "access refused"]
    assert record.client_id == "test-portal-x"  # type: ignore[attr-defined]
    assert record.route == "reload_rules"  # type: ignore[attr-defined]


def test_clients_add_command(migrated: str, database: Any, monkeypatch: Any, tmp_path: Any, capsys: Any) -> None:
    from um_service.review import staff
    from um_service.settings import get_settings

    _, public = keypair()
    (tmp_path / "key.pem").write_text(public)
    with database.transaction() as session:
        staff.save_reviewer(session, staff.ReviewerSpec(id="nurse-carmen", name="Carmen Ruiz", role="nurse"))
    monkeypatch.setenv("UM_DATABASE_URL", migrated)
    get_settings.cache_clear()
    try:
        assert (
            cli(
                [
                    "clients",
                    "add",
                    "ehr-cli",
                    "--role",
                    "provider",
                    "--org",
                    "1234567893",
                    "--public-key",
                    str(tmp_path / "key.pem"),
                ]
            )
            == 0
        )
        assert cli(["clients", "add", "portal-cli", "--role", "portal", "--generate-secret"]) == 0
        secret = capsys.readouterr().out.strip()
        assert len(secret) >= 32
        assert cli(["clients", "add", "bad", "--role", "provider", "--secret", "a-long-enough-secret"]) == 2
        org_for_portal = ["clients", "add", "portal-2", "--role", "portal", "--org", "1234567893", "--generate-secret"]
        assert cli(org_for_portal) == 2
        assert "only provider clients have an organisation" in capsys.readouterr().err
        assert cli(["clients", "add", "nurse-carmen", "--role", "nurse", "--secret", "a-long-enough-secret"]) == 0
        assert cli(["clients", "disable", "portal-cli"]) == 0
        assert cli(["clients", "disable", "nobody"]) == 2
        capsys.readouterr()
        assert cli(["clients", "list"]) == 0
        listed = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert listed.splitlines() == [
        "client\trole\torganisation\treviewer\tcredential\tactive",
        "ehr-cli\tprovider\t1234567893\t-\tkey\tyes",
        "nurse-carmen\tnurse\t-\tnurse-carmen\tsecret\tyes",
        "portal-cli\tportal\t-\t-\tsecret\tno",
    ]


def test_a_disabled_client_gets_no_token_and_its_tokens_are_refused(client: AuthClient) -> None:
    register(client, "portal-9", role="portal", secret="a-long-enough-secret")
    issued = token_request(
        client, grant_type="client_credentials", client_id="portal-9", client_secret="a-long-enough-secret"
    )
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    assert client.get("/fhir/ClaimResponse", headers=bearer(token)).status_code == 200

    assert client.patch("/um/clients/portal-9", json={"active": False}).status_code == 200

    refused = client.get("/fhir/ClaimResponse", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["issue"][0]["diagnostics"] == (
        "Client portal-9 was disabled; its tokens are no longer accepted."
    )
    again = token_request(
        client, grant_type="client_credentials", client_id="portal-9", client_secret="a-long-enough-secret"
    )
    assert again.status_code == 401


def test_a_client_disabled_by_another_process_is_refused_once_the_remembered_answer_is_a_few_seconds_old(
    client: AuthClient, database: Database
) -> None:
    now = [100.0]
    client.app.state.disabled_clients = DisabledClients(seconds=2.0, clock=lambda: now[0])  # type: ignore[attr-defined]
    register(client, "portal-8", role="portal", secret="a-long-enough-secret")
    issued = token_request(
        client, grant_type="client_credentials", client_id="portal-8", client_secret="a-long-enough-secret"
    )
    token = issued.json()["access_token"]
    assert client.get("/fhir/ClaimResponse", headers=bearer(token)).status_code == 200

    with database.transaction() as session:  # as `um-service clients disable` does, outside this worker
        assert disable(session, "portal-8")
    now[0] += 1.0
    assert client.get("/fhir/ClaimResponse", headers=bearer(token)).status_code == 200  # remembered as active
    now[0] += 1.5
    refused = client.get("/fhir/ClaimResponse", headers=bearer(token))
    assert refused.status_code == 401
    assert "was disabled" in refused.json()["issue"][0]["diagnostics"]


def test_commands_outside_a_checkout_name_the_database_setting_and_create_nothing(
    tmp_path: Any, monkeypatch: Any, capsys: Any
) -> None:
    from um_service.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert cli(["clients", "list"]) == 2
    finally:
        get_settings.cache_clear()

    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        "no database at ./um-service.db (sqlite:///./um-service.db): set UM_DATABASE_URL to the service's "
        "database, or create it with `um-service db upgrade`"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_reload_reaches_every_worker(migrated: str, database: Any, tmp_path: Any) -> None:
    import shutil

    from um_service.settings import REPO_ROOT

    rules_dir = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules_dir)
    clock = Clock()
    # Workers check the active version on every request here (the default interval is a few seconds).
    settings = Settings(database_url=migrated, dispatcher=False, rules_dir=rules_dir, rules_follow_seconds=0)
    with (
        AuthClient(create_app(settings, clock=clock), clock) as first,
        AuthClient(create_app(settings, clock=clock), clock) as second,
    ):
        (rules_dir / "no-auth.yaml").unlink()
        new_version = first.post("/um/admin/rules/reload").json()["version"]
        submitted = second.post(
            "/fhir/Claim/$submit",
            content=orjson.dumps(request_bundle(items=[item(1, "99213")])),
            headers={"Content-Type": FHIR_JSON},
        )
        assert second.get("/um/admin/rules").json()["version"] == new_version
        assert (
            submitted.json()["entry"][0]["resource"]["item"][0]["adjudication"][0]["extension"][0]["extension"][0][
                "valueCodeableConcept"
            ]["coding"][0]["code"]
            == "A4"
        )


def test_the_kit_example_subscription_needs_the_senders_own_token(client: AuthClient) -> None:
    kit = example("testkit-2.2.1/server-suite-requests/subscription-request.json")
    body = orjson.dumps(kit)
    other = client.post("/fhir/Subscription", content=body, headers=bearer(client.token("provider", org="1234567893")))
    assert other.status_code == 403
    assert other.json()["issue"][0]["expression"] == ["Subscription._criteria"]
    own = client.post("/fhir/Subscription", content=body, headers=bearer(client.token("provider", org="8189991234")))
    assert own.status_code == 201
