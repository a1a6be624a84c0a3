"""The plain-Python shortcuts of common rule conditions (decision/shortcuts.py) answer exactly as fhirpathpy does, over
every request of the rule pack's own test cases, every item, and variants of each request with the data the
conditions look at removed or changed."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson
import yaml

from um_service.decision import engine, expressions, load_directory, shortcuts
from um_service.decision.ruleset import RuleSet
from um_service.decision.testcases import CaseFile, build_request
from um_service.fhir.envelope import Limits
from um_service.fhir.pas_request import PasRequest, read_submit_request
from um_service.settings import REPO_ROOT

RULES = REPO_ROOT / "rules"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"


def _requests() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((RULES / "tests").glob("*.yaml")):
        for case in CaseFile.model_validate(yaml.safe_load(path.read_text())).cases:
            yield f"{path.name}: {case.name}", build_request(case.request, RULES / "tests" / "bundles")


def _variants(bundle: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The request, and copies without (or with changed) diagnoses, extensions and codings."""
    yield "as written", bundle
    claim = bundle["entry"][0]["resource"]
    for name, change in (
        ("no diagnosis", lambda c: c.pop("diagnosis", None)),
        ("empty diagnosis", lambda c: c.__setitem__("diagnosis", [])),
        ("no claim extension", lambda c: c.pop("extension", None)),
        ("a foreign claim extension", lambda c: c.setdefault("extension", []).append({"url": PAS + "x"})),
        ("diagnosis by reference", lambda c: [d.pop("diagnosisCodeableConcept", None) for d in c.get("diagnosis", [])]),
        ("diagnosis codes without system", lambda c: [_drop_systems(d) for d in c.get("diagnosis", [])]),
        ("no item extension", lambda c: [i.pop("extension", None) for i in c.get("item", [])]),
    ):
        changed = copy.deepcopy(bundle)
        change(changed["entry"][0]["resource"])
        if changed["entry"][0]["resource"] != claim:
            yield name, changed


def _drop_systems(diagnosis: dict[str, Any]) -> None:
    for coding in diagnosis.get("diagnosisCodeableConcept", {}).get("coding", []):
        coding.pop("system", None)


def _readable(bundle: dict[str, Any]) -> PasRequest | None:
    try:
        return read_submit_request(orjson.dumps(bundle), limits=Limits())
    except Exception:
        return None  # a variant the gate refuses is never evaluated


def _compare(rule_set: RuleSet, request: PasRequest, where: str) -> tuple[int, list[str]]:
    answered, differences = 0, []
    for compiled in rule_set.rules:
        for condition in compiled.conditions:
            text = condition.condition.expression
            fast = shortcuts.shortcut(text)
            if fast is None:
                continue
            general = expressions.general_evaluation(text)
            for item in request.items:
                variables = engine.condition_variables(item, request)
                within = expressions.Scope(request.index, request.claim_entry, rule_set.valueset_coverage)
                with expressions.scope(request.index, request.claim_entry, rule_set.valueset_coverage):
                    quick = fast(variables, within)
                    slow = general({}, variables)
                    through_engine = condition.evaluate({}, variables)
                if quick is None:
                    continue
                answered += 1
                if quick != slow or through_engine != slow:
                    differences.append(f"{where}, item {item.sequence}, {text}: {quick} != {slow}")
    return answered, differences


def test_shortcuts_answer_as_fhirpathpy_over_the_rule_pack_cases() -> None:
    rule_set = load_directory(RULES)
    answered, differences, requests = 0, [], 0
    for name, bundle in _requests():
        for variant, changed in _variants(bundle):
            request = _readable(changed)
            if request is None:
                continue
            requests += 1
            count, found = _compare(rule_set, request, f"{name} ({variant})")
            answered += count
            differences += found
    assert differences == []
    assert requests > 50
    assert answered > 100  # the shortcuts did answer, not only hand over to fhirpathpy


def test_the_common_shapes_have_shortcuts_and_others_do_not() -> None:
    assert shortcuts.shortcut("%claim.diagnosis.exists()") is not None
    assert shortcuts.shortcut("%claim.diagnosis.diagnosis.coding.where(memberOf('x')).exists()") is not None
    assert shortcuts.shortcut("%claim.extension.where(url = 'http://x').exists()") is not None
    assert (
        shortcuts.shortcut(
            "%item.extension.where(url = 'http://x')\n  .value.resolve().ofType(ServiceRequest).exists()"
        )
        is not None
    )
    assert (
        shortcuts.shortcut("%item.extension.where(url = 'http://x').value.resolve().ofType(Resource).exists()") is None
    )
    assert shortcuts.shortcut("%claim.diagnosis.where(url = 'http://x').exists()") is None
    assert shortcuts.shortcut("%claim.diagnosis.exists() and %patient.exists()") is None
    assert shortcuts.shortcut("answer('homebound') = true") is None
    assert shortcuts.shortcut("%ageYears < 18") is None


def test_a_primitive_extension_is_left_to_fhirpathpy() -> None:
    fast = shortcuts.shortcut("%patient.birthDate.exists()")
    assert fast is not None
    assert fast({"patient": {"resourceType": "Patient", "_birthDate": {"extension": []}}}, None) is None
    assert fast({"patient": {"resourceType": "Patient", "birthDate": "2000-01-01"}}, None) is None  # a primitive
    assert fast({"patient": []}, None) == [False]
