"""The shipped rule pack: it loads without warnings, its own test cases pass, and every rule is tested for each
of its outcomes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from um_service.decision import load_directory
from um_service.decision.testcases import run
from um_service.settings import REPO_ROOT

RULES = REPO_ROOT / "rules"


def test_the_shipped_rule_pack_loads_cleanly() -> None:
    rule_set = load_directory(RULES)

    assert len(rule_set.rules) >= 15
    assert rule_set.warnings == ()
    for rule in rule_set.rules:
        assert len(rule.rule.description.split()) >= 6, f"{rule.id} needs a plain-language description"


def test_the_rule_pack_test_cases_pass() -> None:
    results = run(RULES / "tests", load_directory(RULES))

    failures = [r for r in results if not r.passed]
    assert results
    assert failures == []


def test_every_rule_is_tested_for_each_of_its_outcomes() -> None:
    rule_set = load_directory(RULES)
    seen: dict[str, set[str]] = defaultdict(set)
    for result in run(RULES / "tests", rule_set):
        actual = result.actual.split(" ")
        if "by" in actual:
            seen[actual[actual.index("by") + 1]].add(actual[0])

    for compiled in rule_set.rules:
        rule = compiled.rule
        wanted = {rule.outcome.decision}
        # An approval that can fall back (too many units, missing documents) also pends.
        if rule.outcome.decision == "approve" and (rule.outcome.max_quantity or rule.documents):
            wanted.add("pend")
        assert wanted <= seen[rule.id], f"{rule.id}: tested {sorted(seen[rule.id])}, needs {sorted(wanted)}"


def test_every_rule_pack_case_gets_its_outcome_through_http(client: Any, clock: Any) -> None:
    import json

    import yaml

    from um_service.decision.testcases import CaseFile, Expected, build_request

    from conftest import review_codes, submit

    wanted_codes = {"approve": "A1", "not_required": "NA", "pend": "A4"}
    checked = 0
    for path in sorted((RULES / "tests").glob("*.yaml")):
        for number, case in enumerate(CaseFile.model_validate(yaml.safe_load(path.read_text())).cases):
            bundle = build_request(case.request, RULES / "tests" / "bundles")
            bundle["entry"][0]["resource"]["identifier"][0]["value"] = f"{path.stem}-{number}"
            # A member per case: the plan's benefit limits count a member's approvals across requests.
            bundle = json.loads(json.dumps(bundle).replace("MBR-TEST-1", f"MBR-{path.stem}-{number}"))
            clock.now = case.received

            codes = review_codes(submit(client, bundle).json())

            expected = {
                sequence: wanted_codes[e.decision if isinstance(e, Expected) else e]
                for sequence, e in case.expect.items()
            }
            assert codes == expected, case.name
            checked += 1
    assert checked >= 30
