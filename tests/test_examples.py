"""What ships in examples/ works as the README says: the key-pair line, get_token.py, and the request Bundle a
provider can send as is (also the $submit example of the OpenAPI document)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from um_service.settings import REPO_ROOT

from conftest import FHIR_JSON, AuthClient, Clock, review_codes

EXAMPLES = REPO_ROOT / "examples"


def _get_token_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("get_token", EXAMPLES / "get_token.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _openssl_line() -> str:
    lines = [line.strip() for line in (EXAMPLES / "README.md").read_text().splitlines()]
    return next(line for line in lines if line.startswith("openssl "))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the key-pair line needs the openssl command")
def test_the_readme_walk_through_submits_the_example(client: AuthClient, clock: Clock, tmp_path: Path) -> None:
    subprocess.run(_openssl_line(), shell=True, check=True, cwd=tmp_path, capture_output=True)
    public = (tmp_path / "ehr-1.pub.pem").read_text()
    registered = client.put(
        "/um/clients/ehr-1", json={"role": "provider", "organization": "1234567893", "public_key": public}
    )
    assert registered.status_code == 200, registered.text

    token = _get_token_module().get_token(
        "http://testserver", "ehr-1", (tmp_path / "ehr-1.key.pem").read_bytes(), http=client, now=clock.now
    )
    answer = client.post(
        "/fhir/Claim/$submit",
        content=(EXAMPLES / "pas-request.json").read_bytes(),
        headers={"Content-Type": FHIR_JSON, "Authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 200, answer.text
    claim_response = answer.json()["entry"][0]["resource"]
    assert claim_response["resourceType"] == "ClaimResponse"
    assert review_codes(answer.json()) == {1: "A4"}
    asked = claim_response["contained"][0]
    assert asked["resourceType"] == "CommunicationRequest"
    assert "11506-3" in orjson.dumps(asked).decode()


def test_the_openapi_submit_example_is_the_shipped_bundle() -> None:
    document = json.loads((REPO_ROOT / "openapi" / "openapi.json").read_text())
    body = document["paths"]["/fhir/Claim/$submit"]["post"]["requestBody"]["content"][FHIR_JSON]

    assert body["example"] == json.loads((EXAMPLES / "pas-request.json").read_text())


def test_the_readme_walk_through_uses_the_shipped_files() -> None:
    readme: Any = (REPO_ROOT / "README.md").read_text()

    assert "examples/get_token.py" in readme
    assert "examples/pas-request.json" in readme
