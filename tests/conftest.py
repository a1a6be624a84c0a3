"""Fixtures: a real database (SQLite by default, PostgreSQL when UM_TEST_DATABASE_URL names one), migrated once
by Alembic; the app served through FastAPI's test client.

Each test runs inside one transaction on one connection that is rolled back at its end: the app's units of work
commit to savepoints inside it. Tests that need real commits (several connections, threads racing, other processes,
a second app, the CLI) are marked `commits`, or take the `migrated` URL themselves; they run on committed data and
their tables are emptied afterwards."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from um_service.app import create_app
from um_service.db import models
from um_service.db.migrate import upgrade
from um_service.db.session import Database, make_engine
from um_service.settings import REPO_ROOT, Settings

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = FIXTURES / "pas"
FHIR_JSON = "application/fhir+json"
TABLES = list(reversed(models.Base.metadata.sorted_tables))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("UM_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'um-test.db'}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    upgrade(database_url, REPO_ROOT / "migrations")
    return database_url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "commits: the test needs real commits (threads, processes, other connections)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and "migrated" in inspect.signature(function).parameters:
            item.add_marker("commits")  # it opens its own connections to the database


@pytest.fixture
def database(migrated: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.node.get_closest_marker("commits") is not None:
        db = Database(migrated)
        yield db
        empty_tables(db)
        db.dispose()
        return
    engine = make_engine(migrated)
    with engine.connect() as connection:
        outer = connection.begin()
        yield Database(migrated, connection=connection)
        outer.rollback()
    engine.dispose()


def empty_tables(db: Database) -> None:
    """Delete every row the tests wrote (the schema and Alembic's version stay)."""
    with db.transaction() as session:
        if db.engine.dialect.name == "postgresql":
            session.execute(text("TRUNCATE " + ", ".join(t.name for t in TABLES) + " RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                session.execute(table.delete())


class Clock:
    """A settable clock for the app (due times, timestamps)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(migrated: str) -> Settings:
    # The dispatcher thread is off: tests deliver the outbox themselves, with their own clock.
    return Settings(database_url=migrated, dispatcher=False)


class AuthClient(TestClient):
    """The test client, signing each request with a real access token for the caller it implies.

    FHIR writes act as the provider organisation the body names (the Claim's provider, the Subscription's filter);
    ClaimResponse reads as a payer portal; staff routes as the reviewer named in an `X-Reviewer-Id` test header,
    else as an administrator. A request that already carries an Authorization header (even empty) is sent as is.
    Tokens are issued with the app's own key; tests of the token endpoint itself use it over HTTP.
    """

    def __init__(self, app: Any, clock: Clock):
        super().__init__(app, base_url="http://testserver")
        self.clock = clock
        self.subscription_org: str | None = None

    def token(self, role: str, *, org: str | None = None, reviewer: str | None = None) -> str:
        from um_service.auth import tokens
        from um_service.auth.clients import Identity

        identity = Identity(f"test-{role}-{org or reviewer or 'x'}", role, org, reviewer)
        return tokens.issue(
            identity,
            tokens.grant(identity, None),
            key=self.app.state.token_key,  # type: ignore[attr-defined]
            now=self.clock.now,
            lifetime=dt.timedelta(minutes=5),
        )

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        if any(k.lower() == "authorization" for k in headers):
            return super().request(method, url, headers=headers, **kwargs)
        path = str(url).split("?", 1)[0].replace("http://testserver", "")
        reviewer = headers.pop("X-Reviewer-Id", None)
        token = None
        if path.startswith("/um/") or path == "/metrics":
            token = self._staff_token(reviewer)
        elif path.startswith("/fhir/ClaimResponse"):
            token = self.token("portal")
        elif path.startswith("/fhir/Subscription/"):
            token = self.token("provider", org=self.subscription_org or "unknown-org")
        elif path.startswith("/fhir/") and method.upper() == "POST":
            org = _organisation_of(kwargs.get("content"), kwargs.get("json"))
            if path == "/fhir/Subscription":
                self.subscription_org = org
            token = self.token("provider", org=org or "unknown-org")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return super().request(method, url, headers=headers, **kwargs)

    def _staff_token(self, reviewer: str | None) -> str:
        if reviewer is None:
            return self.token("admin")
        database: Database = self.app.state.database  # type: ignore[attr-defined]
        with database.transaction() as session:
            from um_service.db.models import Reviewer

            found = session.get(Reviewer, reviewer)
            role = found.role if found is not None else "nurse"
        return self.token(role, reviewer=reviewer)


def _organisation_of(content: Any, document: Any) -> str | None:
    """The provider organisation a PAS Bundle or Subscription body speaks for (first identifier value)."""
    try:
        body = document if document is not None else orjson.loads(content)
    except (orjson.JSONDecodeError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    if body.get("resourceType") == "Subscription":
        for extension in body.get("_criteria", {}).get("extension", []):
            value = str(extension.get("valueString", ""))
            if "=" in value:
                return value.split("=", 1)[1].split(",")[0].strip()
        return None
    from um_service.fhir.references import BundleIndex

    try:
        index = BundleIndex.of(body)
        claim = index.entries[0]
        provider = index.resolve_in(claim.resource.get("provider"), from_entry=claim)
        if provider is not None and provider.resource_type == "PractitionerRole":
            provider = index.resolve_in(provider.resource.get("organization"), from_entry=provider) or provider
        if provider is None:
            return None
        for identifier in provider.resource.get("identifier", []):
            if isinstance(identifier, dict) and identifier.get("value"):
                return str(identifier["value"])
    except (AttributeError, IndexError, TypeError, KeyError):
        return None
    return None


@pytest.fixture
def client(database: Database, settings: Settings, clock: Clock) -> Iterator[AuthClient]:
    app = create_app(settings, clock=clock, database=database)
    with AuthClient(app, clock) as test_client:
        yield test_client


@pytest.fixture
def counts(database: Database) -> Callable[[], dict[str, int]]:
    """Row counts of every table, to prove what a request stored (or did not)."""

    def snapshot() -> dict[str, int]:
        with database.transaction() as session:
            return {table.name: int(session.scalar(select(func.count()).select_from(table)) or 0) for table in TABLES}

    return snapshot


def example(relative: str) -> dict[str, Any]:
    """A JSON file from tests/fixtures/pas (published PAS examples and test-kit bodies; see its README)."""
    loaded: dict[str, Any] = json.loads((EXAMPLES / relative).read_text())
    return loaded


def post_fhir(client: TestClient, path: str, document: Any) -> Any:
    """POST a FHIR JSON document."""
    return client.post(path, content=orjson.dumps(document), headers={"Content-Type": FHIR_JSON})


def submit(client: TestClient, document: Any) -> Any:
    """POST to /fhir/Claim/$submit."""
    return post_fhir(client, "/fhir/Claim/$submit", document)


def review_codes(response_bundle: dict[str, Any]) -> dict[int, str | None]:
    """itemSequence -> X12 306 code of the ClaimResponse in a response Bundle."""
    from pas_checks import review_code_of

    claim_response = response_bundle["entry"][0]["resource"]
    return {item["itemSequence"]: review_code_of(item) for item in claim_response.get("item", [])}


ISSUER = "https://ehr.example.org"  # the EHR client the CRD tests register


def register_ehr(migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[int, Any]:
    """Register EHR client ehr-1 (issuer ISSUER) with the CLI and a new P-384 key: (exit code, private key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from um_service.cli import main as cli
    from um_service.settings import get_settings

    key = ec.generate_private_key(ec.SECP384R1())
    pem = tmp_path / "ehr.pem"
    pem.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    monkeypatch.setenv("UM_DATABASE_URL", migrated)
    get_settings.cache_clear()
    try:
        code = cli(["clients", "add", "ehr-1", "--role", "ehr", "--issuer", ISSUER, "--public-key", str(pem), *extra])
    finally:
        get_settings.cache_clear()
    return code, key


@pytest.fixture
def ehr_key(migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    code, key = register_ehr(migrated, tmp_path, monkeypatch)
    assert code == 0
    return key
