"""One policy, two faces: every rule-pack test case (rules/tests/*.yaml) goes through PAS `$submit` and, as orders,
through CRD order-sign, and the answers must agree item by item:

- CRD `no-auth` exactly when PAS answers NA; `auth-needed` exactly when PAS answers A1 or A4;
- CRD names documents (doc-needed clinical, the LOINC codes in its reason) exactly when PAS asks for documents, and
  the same codes;
- CRD `not-covered` exactly when PAS denies administratively (A3), tried with members of the registry.

An order carries what a clinician orders (service, quantity, date, diagnoses, patient, coverage), not attachments,
observations, form answers or PAS-only extensions, so each case is compared with those left out of both faces' facts.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_crd import call, information
from test_members import bundle, coverage, patient, post_feed

from um_service.decision.testcases import CaseFile, build_request

from conftest import AuthClient, Clock, review_codes, submit

RULES = Path(__file__).parents[1] / "rules"
pytestmark = pytest.mark.commits  # the EHR client is registered with the CLI, in its own transaction


def _cases() -> list[Any]:
    found = []
    for path in sorted((RULES / "tests").glob("*.yaml")):
        for case in CaseFile.model_validate(yaml.safe_load(path.read_text())).cases:
            found.append(pytest.param(case, id=f"{path.stem}: {case.name}"))
    return found


def orders_of(pas: dict[str, Any], patient_ref: str) -> dict[str, Any]:
    """An order-sign hook body with one draft ServiceRequest per Claim item, as an EHR would send for that request."""
    resources = [e["resource"] for e in pas["entry"]]
    claim = next(r for r in resources if r["resourceType"] == "Claim")
    reasons = [d["diagnosisCodeableConcept"] for d in claim.get("diagnosis", []) if "diagnosisCodeableConcept" in d]
    orders = []
    for item in claim["item"]:
        order = {
            "resourceType": "ServiceRequest",
            "id": f"order-{item['sequence']}",
            "status": "draft",
            "intent": "order",
            "code": item["productOrService"],
            "subject": {"reference": patient_ref},
            "reasonCode": reasons,
        }
        if "servicedDate" in item:
            order["occurrenceDateTime"] = item["servicedDate"]
        elif "servicedPeriod" in item:
            order["occurrencePeriod"] = item["servicedPeriod"]
        if "quantity" in item:
            order["quantityQuantity"] = item["quantity"]
        orders.append({"resource": order})
    prefetch = {
        "patient": next(r for r in resources if r["resourceType"] == "Patient"),
        "coverage": next(r for r in resources if r["resourceType"] == "Coverage"),
    }
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/1",
            "patientId": prefetch["patient"]["id"],
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": orders},
        },
        "prefetch": prefetch,
    }


def pas_answer(response: dict[str, Any]) -> dict[int, tuple[str | None, tuple[str, ...]]]:
    """itemSequence -> (X12 review action, LOINC codes PAS asks for on that line)."""
    claim_response = response["entry"][0]["resource"]
    asked: dict[int, list[str]] = {}
    for request in claim_response.get("contained", []):
        if request["resourceType"] != "CommunicationRequest":
            continue
        [line] = [e["valuePositiveInt"] for e in request["extension"] if e["url"].endswith("serviceLineNumber")]
        asked.setdefault(line, []).extend(p["contentString"] for p in request["payload"])
    return {seq: (code, tuple(sorted(asked.get(seq, [])))) for seq, code in review_codes(response).items()}


def crd_answer(answer: dict[str, Any]) -> dict[int, tuple[str, str | None, tuple[str, ...]]]:
    """order number -> (covered, pa-needed, LOINC codes named)."""
    found = {}
    for action in answer["systemActions"]:
        sequence = int(action["resource"]["id"].removeprefix("order-"))
        info = information({"systemActions": [action]})
        reasons = " ".join(r.get("text", "") for r in info.get("reason", []))
        codes = tuple(sorted(re.findall(r"LOINC ([0-9]+-[0-9])", reasons))) if info.get("doc-needed") else ()
        found[sequence] = (info["covered"][0], (info.get("pa-needed") or [None])[0], codes)
    return found


def agree(pas: dict[int, tuple[str | None, tuple[str, ...]]], crd: dict[int, Any]) -> list[str]:
    """What does not agree, in words (empty when everything does)."""
    expected = {"NA": ("covered", "no-auth"), "A1": ("covered", "auth-needed"), "A4": ("covered", "auth-needed")}
    problems = []
    assert set(pas) == set(crd), (pas, crd)
    for sequence, (action, asked) in sorted(pas.items()):
        covered, pa_needed, named = crd[sequence]
        if action == "A3":
            if covered != "not-covered":
                problems.append(f"item {sequence}: PAS A3 (administrative) but CRD says covered={covered}")
        elif (covered, pa_needed) != expected.get(str(action)):
            problems.append(f"item {sequence}: PAS {action} but CRD says covered={covered}, pa-needed={pa_needed}")
        if named != asked:
            problems.append(f"item {sequence}: PAS asks for {asked or 'nothing'}, CRD names {named or 'nothing'}")
    return problems


@pytest.mark.parametrize("case", _cases())
def test_crd_and_pas_agree_on_every_rule_pack_test_case(
    client: AuthClient, clock: Clock, ehr_key: Any, case: Any
) -> None:
    facts = case.request.model_copy(
        update={"documents": (), "observations": (), "answers": {}, "home_health_information": False, "patch": ()}
    )
    pas_request = build_request(facts, RULES / "tests" / "bundles")
    clock.now = case.received
    hook = orders_of(pas_request, f"Patient/{_patient_id(pas_request)}")

    crd = call(client, ehr_key, clock, "order-sign-crd", hook)
    pas = submit(client, pas_request)

    assert crd.status_code == 200, crd.text
    assert pas.status_code == 200, pas.text
    assert agree(pas_answer(pas.json()), crd_answer(crd.json())) == []


def test_crd_and_pas_agree_on_members_of_the_registry(client: AuthClient, clock: Clock, ehr_key: Any) -> None:
    silver = coverage("MBR-SILVER", "p-s")
    silver["class"][1]["value"] = "HMO-SILVER"
    ended = coverage("MBR-ENDED", "p-e", end="2026-11-30")
    gold = coverage("MBR-GOLD", "p-g")
    assert post_feed(client, bundle(patient("p-s"), silver, patient("p-e"), ended, patient("p-g"), gold)).status_code
    facts = (
        CaseFile.model_validate(
            {
                "cases": [
                    {
                        "name": "x",
                        "request": {
                            "items": [
                                {"sequence": 1, "code": "81162"},
                                {"sequence": 2, "code": "72148"},
                                {"sequence": 3, "code": "97161"},
                            ],
                            "diagnoses": ["M54.16"],
                        },
                        "expect": {1: "pend"},
                    }
                ]
            }
        )
        .cases[0]
        .request
    )
    seen = []
    for member, pid, cov in (("MBR-SILVER", "p-s", silver), ("MBR-ENDED", "p-e", ended), ("MBR-GOLD", "p-g", gold)):
        pas_request = build_request(facts, RULES / "tests" / "bundles")
        for entry in pas_request["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Coverage":
                entry["resource"] = cov | {"id": resource["id"], "beneficiary": resource["beneficiary"]}
            if resource["resourceType"] == "Claim":
                resource["identifier"][0]["value"] = f"CONSISTENCY-{member}"
        hook = orders_of(pas_request, f"Patient/{_patient_id(pas_request)}")

        crd = crd_answer(call(client, ehr_key, clock, "order-sign-crd", hook).json())
        pas = pas_answer(submit(client, pas_request).json())

        assert agree(pas, crd) == [], member
        seen.append((member, pid, {seq: code for seq, (code, _) in pas.items()}))

    assert seen == [
        ("MBR-SILVER", "p-s", {1: "A3", 2: "A4", 3: "NA"}),
        ("MBR-ENDED", "p-e", {1: "A3", 2: "A3", 3: "A3"}),
        ("MBR-GOLD", "p-g", {1: "A4", 2: "A4", 3: "NA"}),
    ]


def test_the_public_list_is_what_crd_says_needs_authorization(client: AuthClient, clock: Clock, ehr_key: Any) -> None:
    listed = client.get("/prior-authorization/services").json()["services"]
    needing: set[tuple[str, str]] = set()
    for entry in listed:
        for include in entry["codes"]:
            needing |= {(include["system"], code) for code in include["codes"]}
    probes = {(s, c) for s, c in needing} | {
        ("http://www.ama-assn.org/go/cpt", code) for code in ("97161", "99213", "72100", "71046")
    }

    said = {}
    for system, code in sorted(probes):
        body = orders_of(_single(system, code), "Patient/p-list")
        said[(system, code)] = crd_answer(call(client, ehr_key, clock, "order-sign-crd", body).json())[1][1]

    assert {key for key, pa_needed in said.items() if pa_needed == "auth-needed"} == needing
    assert needing, "the shipped pack lists services"


def _single(system: str, code: str) -> dict[str, Any]:
    facts = (
        CaseFile.model_validate(
            {"cases": [{"name": "x", "request": {"items": [{"sequence": 1, "code": code}]}, "expect": {1: "pend"}}]}
        )
        .cases[0]
        .request
    )
    request = build_request(facts, RULES / "tests" / "bundles")
    for entry in request["entry"]:
        if entry["resource"]["resourceType"] == "Claim":
            entry["resource"]["item"][0]["productOrService"] = {"coding": [{"system": system, "code": code}]}
    return request


def _patient_id(pas_request: dict[str, Any]) -> str:
    return str(next(e["resource"]["id"] for e in pas_request["entry"] if e["resource"]["resourceType"] == "Patient"))
