"""CRD reading what a hook call did not prefetch from the EHR's FHIR server: only a base registered for that EHR
client, with its fhirAuthorization token, bounded in time and size, no redirects, never a non-public address; what
cannot be read is said on a warning card (200, never a 500). The EHR server is mocked with respx; the address guard
is tried against a real socket on this machine."""

from __future__ import annotations

import copy
import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from test_crd import call, information, order_sign

from um_service.crd.ehr_fhir import EhrFhir

from conftest import AuthClient, Clock, register_ehr

BASE = "https://ehr.example.org/fhir"
TOKEN = "ehr-access-token-1"
pytestmark = pytest.mark.commits  # the EHR client is registered with the CLI, in its own transaction


@pytest.fixture
def ehr_key(migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    code, key = register_ehr(migrated, tmp_path, monkeypatch, "--fhir-server", BASE + "/")
    assert code == 0
    return key


def without_coverage(code: str, server: str = BASE) -> dict[str, Any]:
    body = order_sign(code)
    del body["prefetch"]["coverage"]
    body["fhirServer"] = server
    body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 30, "subject": "crd"}
    return body


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def warning(answer: httpx.Response) -> str:
    [card] = [c for c in answer.json()["cards"] if c["indicator"] == "warning"]
    assert card["summary"] == "Coverage requirements could not be checked"
    return str(card["detail"])


def test_a_missing_coverage_is_read_from_the_registered_fhir_server_with_the_ehr_token(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    member = copy.deepcopy(order_sign("72148")["prefetch"]["coverage"])
    with respx.mock(assert_all_called=True) as ehr:
        search = ehr.get(f"{BASE}/Coverage", params={"patient": "p-crd", "status": "active"}).respond(
            200, json=searchset(member)
        )
        answer = call(client, ehr_key, clock, "order-sign-crd", without_coverage("72148"))

    assert answer.status_code == 200, answer.text
    found = information(answer.json())
    assert (found["covered"], found["pa-needed"], found["coverage"]) == (
        ["covered"],
        ["auth-needed"],
        [{"reference": "Coverage/cov-1"}],
    )
    assert search.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert search.calls.last.request.headers["Accept"] == "application/fhir+json"


@pytest.mark.parametrize(
    "server",
    [
        "https://attacker.example/fhir",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8080/fhir",
        "https://ehr.example.org/fhir-other",
    ],
)
def test_a_fhir_server_not_registered_for_the_ehr_is_never_contacted(
    client: AuthClient, clock: Clock, ehr_key: Any, server: str
) -> None:
    with respx.mock(assert_all_called=False) as anywhere:
        route = anywhere.route().respond(200, json=searchset())
        answer = call(client, ehr_key, clock, "order-sign-crd", without_coverage("72148", server))

    assert route.call_count == 0
    assert answer.status_code == 200
    assert answer.json()["systemActions"] == []
    assert f"its FHIR server {server} is not one registered for it; it was not contacted" in warning(answer)


def test_a_redirect_off_the_registered_base_is_not_followed(client: AuthClient, clock: Clock, ehr_key: Any) -> None:
    with respx.mock(assert_all_called=False) as ehr:
        ehr.get(f"{BASE}/Coverage").respond(302, headers={"Location": "https://attacker.example/fhir/Coverage"})
        elsewhere = ehr.get(url__startswith="https://attacker.example").respond(200, json=searchset())
        answer = call(client, ehr_key, clock, "order-sign-crd", without_coverage("72148"))

    assert elsewhere.call_count == 0
    assert answer.status_code == 200
    assert f"The Coverage could not be read from the EHR: {BASE} answered HTTP 302." in warning(answer)


@pytest.mark.parametrize(
    ("respond", "why"),
    [
        ({"side_effect": httpx.ReadTimeout("slow")}, "did not answer in time"),
        ({"side_effect": httpx.ConnectError("refused")}, "could not be reached (refused)"),
        ({"return_value": httpx.Response(200, content=b"{" + b" " * (3 * 1024 * 1024) + b"}")}, "sent more than 2 MB"),
        ({"return_value": httpx.Response(401, json={"resourceType": "OperationOutcome"})}, "answered HTTP 401"),
        ({"return_value": httpx.Response(200, content=b"<html/>")}, "did not send JSON"),
    ],
)
def test_a_fhir_server_that_fails_leaves_a_warning_and_a_200(
    client: AuthClient, clock: Clock, ehr_key: Any, respond: dict[str, Any], why: str
) -> None:
    with respx.mock() as ehr:
        ehr.get(f"{BASE}/Coverage").mock(**respond)
        answer = call(client, ehr_key, clock, "order-sign-crd", without_coverage("72148"))

    assert answer.status_code == 200, answer.text
    assert answer.json()["systemActions"] == []
    assert warning(answer) == f"The Coverage could not be read from the EHR: {BASE} {why}."


def test_a_dispatched_order_not_prefetched_is_read_from_the_ehr(client: AuthClient, clock: Clock, ehr_key: Any) -> None:
    body = order_sign("72148")
    order = body["context"].pop("draftOrders")["entry"][0]["resource"]
    order["id"] = "sr-9"
    body |= {"hook": "order-dispatch", "fhirServer": BASE, "fhirAuthorization": {"access_token": TOKEN}}
    body["context"] |= {"dispatchedOrders": ["ServiceRequest/sr-9"], "performer": "Organization/imaging"}
    with respx.mock() as ehr:
        ehr.get(f"{BASE}/ServiceRequest/sr-9").respond(200, json=order)
        answer = call(client, ehr_key, clock, "order-dispatch-crd", body)

    assert answer.status_code == 200, answer.text
    [action] = answer.json()["systemActions"]
    assert action["resource"]["id"] == "sr-9"
    assert information(answer.json())["pa-needed"] == ["auth-needed"]


def test_an_order_without_a_code_is_indeterminate_with_the_reason(
    client: AuthClient, clock: Clock, ehr_key: Any
) -> None:
    body = order_sign("72148")
    del body["context"]["draftOrders"]["entry"][0]["resource"]["code"]
    older = call(client, ehr_key, clock, "order-sign-crd", body).json()  # a CRD 2.0 client: no such code
    body["extension"] = {"davinci-crd.requestedVersion": "2.2"}

    found = information(call(client, ehr_key, clock, "order-sign-crd", body).json())

    assert (found["covered"], found["pa-needed"]) == (["indeterminate"], ["indeterminate"])
    assert found["reason"][0]["text"].startswith("The order names no service code")
    assert older["systemActions"] == []
    assert older["cards"][0]["summary"] == "ServiceRequest: coverage requirements unknown"
    assert older["cards"][0]["detail"].startswith("The order names no service code")


@pytest.mark.parametrize(
    ("base", "why"),
    [
        ("http://127.0.0.1/fhir", "non-public address"),
        ("https://10.1.2.3/fhir", "non-public address"),
        ("http://[::1]:8080/fhir", "non-public address"),
        ("http://localhost:8080/fhir", "on this machine"),
        ("https://user:secret@ehr.example.org/fhir", "credentials"),
        ("ftp://ehr.example.org/fhir", "not an http(s) URL"),
    ],
)
def test_a_fhir_server_on_a_private_address_cannot_be_registered(
    migrated: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    base: str,
    why: str,
) -> None:
    code, _ = register_ehr(migrated, tmp_path, monkeypatch, "--fhir-server", base)

    assert code != 0
    assert why in capsys.readouterr().err


def test_the_reader_never_connects_to_a_name_that_resolves_to_this_machine() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    try:
        resource, why = EhrFhir().read(f"http://localhost:{port}/fhir/Patient/{uuid.uuid4()}", TOKEN)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever knocked
    finally:
        listener.close()

    assert resource is None
    assert why == "could not be reached (localhost is at 127.0.0.1, not a public address)"
