"""Rule-pack test cases (rules/tests/*.yaml): a request and the outcome each item must get.

A case starts from a base request Bundle (rules/tests/bundles/base.json unless it names another) and describes
what to change in a few keys (items, diagnoses, documents, observations, patient, coverage, claim extensions),
with JSON Patch operations for anything else. See rules/README.md, "Testing rules".
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidRequest
from ..fhir.codes import ReviewAction
from ..fhir.envelope import Limits
from ..fhir.pas_request import read_submit_request
from .engine import evaluate
from .model import system_url
from .ruleset import RuleSet

DECISIONS = {
    ReviewAction.CERTIFIED: "approve",
    ReviewAction.NO_ACTION_REQUIRED: "not_required",
    ReviewAction.PENDED: "pend",
}
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
DEFAULT_RECEIVED = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemSpec(_Strict):
    """One requested item."""

    sequence: int = Field(ge=1)
    code: str
    system: str = "cpt"
    quantity: float = 1
    date: str = "2026-12-01"
    requested: Literal["ServiceRequest", "DeviceRequest"] | None = None


class ObservationSpec(_Strict):
    """A supporting Observation (e.g. a sleep study result) cited from Claim.supportingInfo."""

    code: str
    system: str = "loinc"
    value: float
    unit: str = ""


class CoverageSpec(_Strict):
    """Line of business (Coverage.type) and plan (Coverage.class plan)."""

    line_of_business: str | None = None
    plan: str | None = None


class RequestSpec(_Strict):
    """How a case's request differs from its base."""

    base: str = "base.json"
    items: tuple[ItemSpec, ...] = ()
    diagnoses: tuple[str, ...] | None = None
    documents: tuple[str, ...] = ()
    observations: tuple[ObservationSpec, ...] = ()
    birth_date: str | None = None
    coverage: CoverageSpec | None = None
    home_health_information: bool = False
    # Answers a completed DTR form gives (link id -> value), carried as a QuestionnaireResponse.
    answers: dict[str, bool | int | float | str] = Field(default_factory=dict)
    patch: tuple[dict[str, Any], ...] = ()


class Expected(_Strict):
    """The outcome one item must get."""

    decision: Literal["approve", "not_required", "pend"]
    rule: str | None = None
    queue: str | None = None
    documents: tuple[str, ...] | None = None


class Case(_Strict):
    """One test case."""

    name: str
    received: dt.datetime = DEFAULT_RECEIVED
    request: RequestSpec
    expect: dict[int, Expected | Literal["approve", "not_required", "pend"]]


class CaseFile(_Strict):
    """A file under rules/tests/."""

    cases: tuple[Case, ...]


@dataclass(frozen=True)
class Result:
    """The verdict on one item of one case."""

    file: str
    case: str
    sequence: int
    expected: str
    actual: str
    passed: bool


def run(directory: Path, rule_set: RuleSet) -> list[Result]:
    """Run every case under `directory` (rules/tests) against the rule set."""
    results: list[Result] = []
    for path in sorted(directory.glob("*.yaml")):
        name = path.name
        try:
            case_file = CaseFile.model_validate(yaml.safe_load(path.read_text()))
        except (yaml.YAMLError, ValidationError) as exc:
            results.append(Result(name, "(file)", 0, "a valid test file", f"invalid: {exc}".splitlines()[0], False))
            continue
        for case in case_file.cases:
            results += _run_case(name, case, directory / "bundles", rule_set)
    return results


def _run_case(file: str, case: Case, bundles: Path, rule_set: RuleSet) -> list[Result]:
    try:
        bundle = build_request(case.request, bundles)
        request = read_submit_request(orjson.dumps(bundle), limits=Limits())
    except (InvalidRequest, OSError, ValueError, KeyError) as exc:
        return [Result(file, case.name, 0, "a valid request", f"not built: {exc}", False)]
    outcomes = evaluate(request, rule_set, received=case.received)
    results = []
    for sequence, expectation in sorted(case.expect.items()):
        expected = expectation if isinstance(expectation, Expected) else Expected(decision=expectation)
        outcome = outcomes.get(sequence)
        if outcome is None:
            results.append(Result(file, case.name, sequence, _describe(expected), "no such item", False))
            continue
        actual = Expected(
            decision=DECISIONS.get(outcome.action, "pend"),
            rule=outcome.rule_id,
            queue=outcome.queue,
            documents=tuple(d.loinc for d in outcome.documents),
        )
        passed = (
            actual.decision == expected.decision
            and (expected.rule is None or expected.rule == actual.rule)
            and (expected.queue is None or expected.queue == actual.queue)
            and (expected.documents is None or expected.documents == actual.documents)
        )
        results.append(Result(file, case.name, sequence, _describe(expected), _describe(actual), passed))
    return results


def _describe(outcome: Expected) -> str:
    text: str = outcome.decision
    if outcome.rule:
        text += f" by {outcome.rule}"
    if outcome.queue:
        text += f" to {outcome.queue}"
    if outcome.documents:
        text += f" asking for {', '.join(outcome.documents)}"
    return text


def build_request(spec: RequestSpec, bundles: Path) -> dict[str, Any]:
    """The request Bundle a case describes."""
    bundle: dict[str, Any] = orjson.loads((bundles / spec.base).read_bytes())
    claim = bundle["entry"][0]["resource"]
    patient_url = claim["patient"]["reference"]
    if spec.items:
        claim["item"] = [_item(item, bundle, patient_url) for item in spec.items]
    if spec.diagnoses is not None:
        claim["diagnosis"] = [
            {"sequence": n, "diagnosisCodeableConcept": {"coding": [{"system": system_url("icd10cm"), "code": code}]}}
            for n, code in enumerate(spec.diagnoses, start=1)
        ]
        if not claim["diagnosis"]:
            del claim["diagnosis"]
    infos = claim.setdefault("supportingInfo", [])
    for code in spec.documents:
        url = _add(
            bundle,
            {
                "resourceType": "DocumentReference",
                "status": "current",
                "subject": {"reference": patient_url},
                "type": {"coding": [{"system": system_url("loinc"), "code": code}]},
                "content": [{"attachment": {"contentType": "text/plain", "data": "bm90ZQ=="}}],
            },
        )
        infos.append(
            {
                "sequence": len(infos) + 1,
                "category": _category("additionalInformation"),
                "valueReference": {"reference": url},
            }
        )
    for observation in spec.observations:
        url = _add(
            bundle,
            {
                "resourceType": "Observation",
                "status": "final",
                "subject": {"reference": patient_url},
                "code": {"coding": [{"system": system_url(observation.system), "code": observation.code}]},
                "valueQuantity": {"value": observation.value, "unit": observation.unit},
            },
        )
        infos.append(
            {
                "sequence": len(infos) + 1,
                "category": _category("additionalInformation"),
                "valueReference": {"reference": url},
            }
        )
    if spec.answers:
        url = _add(bundle, questionnaire_response(spec.answers, patient_url))
        infos.append(
            {
                "sequence": len(infos) + 1,
                "category": _category("additionalInformation"),
                "valueReference": {"reference": url},
            }
        )
    if not infos:
        del claim["supportingInfo"]
    patient = _resource_at(bundle, patient_url)
    if spec.birth_date is not None:
        patient["birthDate"] = spec.birth_date
    coverage = _resource_at(bundle, claim["insurance"][0]["coverage"]["reference"])
    if spec.coverage is not None:
        if spec.coverage.line_of_business is not None and spec.coverage.plan is None:
            coverage.pop("class", None)  # the base request's plan belongs to another line of business
        if spec.coverage.line_of_business is not None:
            coverage["type"] = {
                "coding": [
                    {
                        "system": "http://example-health-plan.org/fhir/CodeSystem/line-of-business",
                        "code": spec.coverage.line_of_business,
                    }
                ]
            }
        if spec.coverage.plan is not None:
            coverage["class"] = [
                {
                    "type": {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]
                    },
                    "value": spec.coverage.plan,
                }
            ]
    if spec.home_health_information:
        claim.setdefault("extension", []).append(
            {
                "url": PAS + "extension-homeHealthCareInformation",
                "extension": [
                    {
                        "url": "prognosis",
                        "valueCodeableConcept": {
                            "coding": [{"system": "https://codesystem.x12.org/005010/923", "code": "1"}]
                        },
                    },
                    {"url": "date", "valueDate": "2026-11-01"},
                ],
            }
        )
    for operation in spec.patch:
        _apply_patch(bundle, operation)
    return bundle


def questionnaire_response(answers: dict[str, bool | int | float | str], patient_url: str) -> dict[str, Any]:
    """A completed QuestionnaireResponse with one answer per link id (a text answer is a coded one; YYYY-MM-DD is
    a date)."""
    items = []
    for link_id, value in answers.items():
        if isinstance(value, bool):
            answer: dict[str, Any] = {"valueBoolean": value}
        elif isinstance(value, int):
            answer = {"valueInteger": value}
        elif isinstance(value, float):
            answer = {"valueDecimal": value}
        elif _DATE.fullmatch(value):
            answer = {"valueDate": value}
        else:
            answer = {"valueCoding": {"code": value}}
        items.append({"linkId": link_id, "answer": [answer]})
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"reference": patient_url},
        "authored": "2026-11-20",
        "item": items,
    }


def _item(spec: ItemSpec, bundle: dict[str, Any], patient_url: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "extension": [
            {
                "url": PAS + "extension-serviceItemRequestType",
                "valueCodeableConcept": {
                    "coding": [{"system": "https://codesystem.x12.org/005010/1525", "code": "HS"}]
                },
            },
            {
                "url": PAS + "extension-certificationType",
                "valueCodeableConcept": {"coding": [{"system": "https://codesystem.x12.org/005010/1322", "code": "I"}]},
            },
        ],
        "sequence": spec.sequence,
        "category": {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "1"}]},
        "productOrService": {"coding": [{"system": system_url(spec.system), "code": spec.code}]},
        "servicedDate": spec.date,
        "quantity": {"value": spec.quantity},
    }
    if spec.requested is not None:
        order: dict[str, Any] = {
            "resourceType": spec.requested,
            "status": "active",
            "intent": "order",
            "subject": {"reference": patient_url},
        }
        coding = {"coding": [{"system": system_url(spec.system), "code": spec.code}]}
        order["code" if spec.requested == "ServiceRequest" else "codeCodeableConcept"] = coding
        url = _add(bundle, order)
        element["extension"].append({"url": PAS + "extension-requestedService", "valueReference": {"reference": url}})
    return element


def _category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes", "code": code}]}


def _add(bundle: dict[str, Any], resource: dict[str, Any]) -> str:
    url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, orjson.dumps(resource, option=orjson.OPT_SORT_KEYS).decode() + str(len(bundle['entry'])))}"
    resource = {"id": url.rsplit(":", 1)[1], **resource}
    bundle["entry"].append({"fullUrl": url, "resource": resource})
    return url


def _resource_at(bundle: dict[str, Any], url: str) -> dict[str, Any]:
    for entry in bundle["entry"]:
        if entry["fullUrl"] == url:
            resource: dict[str, Any] = entry["resource"]
            return resource
    raise KeyError(f"no entry {url} in the base bundle")


def _apply_patch(document: dict[str, Any], operation: dict[str, Any]) -> None:
    """One JSON Patch (RFC 6902) add / replace / remove operation."""
    op, path = operation.get("op"), str(operation.get("path", ""))
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    parent: Any = document
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, value)
        elif op == "replace":
            parent[index] = value
        elif op == "remove":
            del parent[index]
        else:
            raise ValueError(f"unsupported patch op {op!r}")
    elif op in ("add", "replace"):
        parent[last] = value
    elif op == "remove":
        del parent[last]
    else:
        raise ValueError(f"unsupported patch op {op!r}")
