"""Fixtures: a real database (SQLite by default, PostgreSQL when UM_TEST_DATABASE_URL names one), migrated once
by Alembic, emptied after every test; the app served through FastAPI's test client."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from um_service.app import create_app
from um_service.db import models, repository
from um_service.db.migrate import upgrade
from um_service.db.session import Database
from um_service.settings import REPO_ROOT, Settings

SHARED = Path(os.environ.get("UM_SHARED_DIR", REPO_ROOT.parent / "shared"))
EXAMPLES = SHARED / "examples" / "pas"
FHIR_JSON = "application/fhir+json"
TABLES = list(reversed(models.Base.metadata.sorted_tables))


def pytest_sessionstart(session: pytest.Session) -> None:
    if not EXAMPLES.is_dir():
        pytest.exit(
            f"PAS examples not found at {EXAMPLES}: check out ../shared beside the repository or set UM_SHARED_DIR",
            returncode=2,
        )


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


@pytest.fixture
def database(migrated: str) -> Iterator[Database]:
    db = Database(migrated)
    yield db
    with db.transaction() as session:
        if db.engine.dialect.name == "postgresql":
            session.execute(text("TRUNCATE " + ", ".join(t.name for t in TABLES) + " RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                session.execute(table.delete())
    db.dispose()


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


@pytest.fixture
def client(database: Database, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def counts(database: Database) -> Callable[[], dict[str, int]]:
    """Row counts of every table, to prove what a request stored (or did not)."""

    def snapshot() -> dict[str, int]:
        with database.transaction() as session:
            return {table.name: repository.count_rows(session, table) for table in TABLES}  # type: ignore[arg-type]

    return snapshot


def example(relative: str) -> dict[str, Any]:
    """A JSON file from ../shared/examples/pas."""
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
    from um_service.fhir.response import review_code_of

    claim_response = response_bundle["entry"][0]["resource"]
    return {item["itemSequence"]: review_code_of(item) for item in claim_response.get("item", [])}
