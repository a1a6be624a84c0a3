"""Hostile and malformed input: schemathesis over every operation of openapi/openapi.json and hypothesis over PAS
Bundles. Bounded example counts; the property is always the same: no 500, every FHIR error an OperationOutcome,
every staff error a JSON problem, and a refused request stores nothing."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from um_service.app import create_app
from um_service.db.session import Database
from um_service.settings import REPO_ROOT, Settings

from builders import item, request_bundle
from conftest import FHIR_JSON, TABLES, AuthClient, Clock, empty_tables

EXAMPLES = int(os.environ.get("UM_FUZZ_EXAMPLES", "25"))
SCHEMA = schemathesis.openapi.from_path(str(REPO_ROOT / "openapi" / "openapi.json"))


@pytest.fixture(scope="module")
def fuzz_client(migrated: str) -> Iterator[AuthClient]:
    clock = Clock()
    with AuthClient(create_app(Settings(database_url=migrated, dispatcher=False), clock=clock), clock) as client:
        yield client
    database = Database(migrated)
    empty_tables(database)
    database.dispose()


def counts(client: AuthClient) -> dict[str, int]:
    database: Database = client.app.state.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        return {t.name: int(session.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES}


def assert_well_formed_answer(path: str, response: Any) -> None:
    assert response.status_code < 500, (path, response.status_code, response.text[:500])
    if response.status_code >= 400 and response.status_code != 405:
        body = response.json()
        sent_fhir = response.request.headers.get("content-type", "").startswith("application/fhir+")
        if path.startswith(("/fhir", "/cds-services/")) or sent_fhir:
            # The FHIR face, CDS Hooks calls (CRD hook-10), and a FHIR body sent to the staff face (an enrollment
            # feed) answer in FHIR.
            assert body["resourceType"] == "OperationOutcome", body
            assert body["issue"]
        elif "error" in body:
            assert response.request.url.path == "/auth/token", body  # OAuth errors
        else:
            assert response.headers["content-type"] == "application/problem+json", body
            assert body["title"], body
            assert body["detail"], body


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_survives_generated_input(case: Any, fuzz_client: AuthClient) -> None:
    call = case.as_transport_kwargs()
    headers = {
        k: v for k, v in (call.get("headers") or {}).items() if k.lower() not in ("authorization", "x-reviewer-id")
    }
    content = call.get("content")
    if content is None and call.get("json") is not None:
        content = json.dumps(call["json"]).encode()
    if case.path.startswith("/fhir") and case.method.upper() == "POST":
        headers["Content-Type"] = FHIR_JSON
    response = fuzz_client.request(
        case.method, case.formatted_path, params=call.get("params"), content=content, headers=headers
    )

    assert_well_formed_answer(case.path, response)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for position, value in enumerate(node):
            found += _paths(value, (*prefix, position))
    return found


BASE = request_bundle(items=[item(1), item(2, "97110")])
PATHS = _paths(BASE)


@given(
    changes=st.lists(
        st.tuples(st.sampled_from(PATHS), st.sampled_from(["delete", "replace"]), JSON), min_size=1, max_size=4
    )
)
@settings(max_examples=EXAMPLES * 4, deadline=None, suppress_health_check=list(HealthCheck))
def test_mutated_pas_bundles_never_break_submit(
    changes: list[tuple[tuple[Any, ...], str, Any]], fuzz_client: AuthClient
) -> None:
    bundle = copy.deepcopy(BASE)
    for path, action, value in changes:
        parent: Any = bundle
        try:
            for step in path[:-1]:
                parent = parent[step]
            if action == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    before = counts(fuzz_client)

    response = fuzz_client.post(
        "/fhir/Claim/$submit",
        content=json.dumps(bundle).encode(),
        headers={
            "Content-Type": FHIR_JSON,
            "Authorization": f"Bearer {fuzz_client.token('provider', org='1234567893')}",
        },
    )

    assert_well_formed_answer("/fhir/Claim/$submit", response)
    if response.status_code >= 400:
        assert counts(fuzz_client) == before


@given(raw=st.binary(max_size=300))
@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
def test_arbitrary_bytes_get_an_operation_outcome(raw: bytes, fuzz_client: AuthClient) -> None:
    for operation in ("$submit", "$inquire"):
        response = fuzz_client.post(f"/fhir/Claim/{operation}", content=raw, headers={"Content-Type": FHIR_JSON})
        assert 400 <= response.status_code < 500
        assert response.json()["resourceType"] == "OperationOutcome"
