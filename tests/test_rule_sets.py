"""Rule sets are all-or-nothing: every problem reported with file, rule and field; reload swaps the whole set or
keeps the old one; the service refuses to start on an invalid set; stored cases replay under their old rules."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from um_service.app import create_app
from um_service.cli import main as cli
from um_service.decision import RuleSetError, load_directory, load_files
from um_service.decision.active import ActiveRules
from um_service.settings import REPO_ROOT, Settings

from builders import item, request_bundle
from conftest import AuthClient, review_codes, submit

GOOD = """
rules:
  - id: office-visits
    description: Office visits need no prior authorization at all.
    services:
      - system: cpt
        range: {from: "99202", to: "99215"}
    effective: {from: 2026-01-01}
    outcome: {decision: not_required}
"""


def problems_of(files: dict[str, str]) -> list[str]:
    with pytest.raises(RuleSetError) as raised:
        load_files(files)
    return [str(p) for p in raised.value.rule_problems]


def rule(body: str, rule_id: str = "r1") -> str:
    return f"""
rules:
  - id: {rule_id}
    description: A rule written for this test case only.
    services:
      - system: cpt
        codes: ["72148"]
    effective: {{from: 2026-01-01}}
{body}
"""


def test_bad_yaml_is_reported_with_its_line() -> None:
    (problem,) = problems_of({"broken.yaml": "rules:\n  - id: [unclosed\n"})

    assert problem.startswith("error: broken.yaml, line 3")
    assert "not valid YAML" in problem


def test_an_unknown_field_is_reported_with_file_rule_and_field() -> None:
    (problem,) = problems_of({"imaging.yaml": rule("    outcome: {decision: pend, queue: q}\n    colour: blue")})

    assert problem == "error: imaging.yaml, rule r1, colour: unknown field"


def test_a_denial_outcome_is_refused() -> None:
    (problem,) = problems_of({"deny.yaml": rule("    outcome: {decision: deny}")})

    assert "rule r1, outcome" in problem
    assert "automation never denies" in problem


def test_fhirpath_that_does_not_compile_is_reported() -> None:
    files = {
        "x.yaml": rule("""    when:
      - id: broken
        description: unbalanced parenthesis
        expression: "%claim.item.where(sequence = 1"
      - id: unknown-function
        description: not a FHIRPath function
        expression: "%claim.frobnicate()"
      - id: unknown-variable
        description: not one of ours
        expression: "%member.exists()"
    outcome: {decision: approve}""")
    }

    found = problems_of(files)

    assert len(found) == 3
    assert "when.0.expression (broken): does not parse" in found[0]
    assert "unknown function(s): frobnicate" in found[1]
    assert "unknown variable(s): %member" in found[2]


def test_questions_are_checked_with_the_conditions_that_read_them() -> None:
    files = {
        "form.yaml": rule("""    questions:
      - link_id: weeks
        text: How many weeks of therapy?
        type: integer
      - link_id: flag
        text: Any red flag present?
        type: choice
    when:
      - id: reads-an-undeclared-question
        description: asks for an answer nobody asked
        expression: "answer('weeks') >= 6 and answer('months') > 1"
    outcome: {decision: approve}""")
    }

    found = problems_of(files)

    assert found == [
        "error: form.yaml, rule r1, questions.1: a 'choice' question lists its 'options' "
        "(code and display of each answer)"
    ]
    files["form.yaml"] = files["form.yaml"].replace("type: choice", "type: boolean")
    assert problems_of(files) == [
        "error: form.yaml, rule r1, when.0.expression (reads-an-undeclared-question): answer() reads 'months', "
        "not a question of this rule"
    ]
    files["form.yaml"] = files["form.yaml"].replace(" and answer('months') > 1", "")
    warnings = [str(w) for w in load_files(files).warnings]
    assert warnings == [
        "warning: form.yaml, rule r1, questions.1: question 'flag' is read by no condition (answer('flag'))"
    ]


def test_an_unknown_value_set_is_reported() -> None:
    files = {
        "x.yaml": """
rules:
  - id: r1
    description: A rule written for this test case only.
    services:
      - valueset: no-such-set
    effective: {from: 2026-01-01}
    when:
      - id: c
        description: also an unknown set
        expression: "%claim.diagnosis.diagnosis.coding.where(memberOf('nor-this-one')).exists()"
    outcome: {decision: approve}
"""
    }

    found = problems_of(files)

    assert "rule r1, services.0.valueset: unknown value set 'no-such-set'" in found[0]
    assert "memberOf names unknown value set 'nor-this-one'" in found[1]


def test_overlapping_ranges_that_conflict_are_reported() -> None:
    files = {
        "a.yaml": """
rules:
  - id: spine-imaging-review
    description: Spine imaging is reviewed by a nurse.
    services:
      - {system: cpt, range: {from: "72141", to: "72158"}}
    effective: {from: 2026-01-01}
    outcome: {decision: pend, queue: imaging-review}
""",
        "b.yaml": """
rules:
  - id: spine-imaging-approve
    description: Spine imaging is approved without review.
    services:
      - {system: cpt, range: {from: "72150", to: "72170"}}
    effective: {from: 2026-01-01}
    outcome: {decision: approve}
""",
    }

    (problem,) = problems_of(files)

    assert problem.startswith("error: b.yaml, rule spine-imaging-review") or problem.startswith(
        "error: a.yaml, rule spine-imaging-review"
    )
    assert "conflicts with rule spine-imaging-approve" in problem
    assert "on 72150" in problem


def test_rules_with_different_priorities_do_not_conflict_and_a_shadowed_rule_is_a_warning() -> None:
    files = {
        "a.yaml": """
rules:
  - id: everything-pends
    description: Every spine MRI is reviewed by a nurse.
    priority: 200
    services:
      - {system: cpt, range: {from: "72141", to: "72158"}}
    effective: {from: 2026-01-01}
    outcome: {decision: pend, queue: imaging-review}
  - id: lumbar-approve
    description: Lumbar MRI approved when the diagnosis says so.
    services:
      - {system: cpt, codes: ["72148"]}
    effective: {from: 2026-01-01}
    when:
      - {id: dx, description: any diagnosis, expression: "%claim.diagnosis.exists()"}
    outcome: {decision: approve}
"""
    }

    rule_set = load_files(files)

    (warning,) = rule_set.warnings
    assert warning.rule == "lumbar-approve"
    assert "unreachable: rule everything-pends" in warning.reason


def test_a_rule_set_is_never_half_loaded() -> None:
    files = {"good.yaml": GOOD, "bad.yaml": rule("    outcome: {decision: pend}")}

    found = problems_of(files)

    assert found == ["error: bad.yaml, rule r1, outcome: a 'pend' outcome names the 'queue' that reviews the item"]


def test_the_version_is_a_content_hash() -> None:
    assert load_files({"a.yaml": GOOD}).version == load_files({"a.yaml": GOOD}).version
    assert load_files({"a.yaml": GOOD}).version != load_files({"a.yaml": GOOD + "\n# changed\n"}).version


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", target)
    return target


def test_the_service_refuses_to_start_on_an_invalid_rule_set(
    tmp_path: Path, migrated: str, capsys: Any, monkeypatch: Any
) -> None:
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "broken.yaml").write_text(rule("    outcome: {decision: deny}"))

    with pytest.raises(RuleSetError):
        create_app(Settings(database_url=migrated, rules_dir=rules_dir))
    monkeypatch.setenv("UM_RULES_DIR", str(rules_dir))
    from um_service.settings import get_settings

    get_settings.cache_clear()
    try:
        assert cli(["serve", "--no-upgrade"]) == 1
    finally:
        get_settings.cache_clear()
    assert "broken.yaml, rule r1, outcome: automation never denies" in capsys.readouterr().err


def test_rules_check_and_rules_test_commands(capsys: Any, tmp_path: Path) -> None:
    assert cli(["rules", "check"]) == 0
    assert "rules, " in capsys.readouterr().out
    assert cli(["rules", "test"]) == 0
    assert " 0 failed" in capsys.readouterr().out
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "tests" / "extra.yaml").write_text("""
cases:
  - name: a wrong expectation fails
    request: {items: [{sequence: 1, code: "99213"}]}
    expect: {1: approve}
""")
    assert cli(["rules", "test", "--dir", str(rules_dir)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_reload_swaps_the_whole_set_and_refuses_an_invalid_one(
    tmp_path: Path, database: Any, migrated: str, clock: Any
) -> None:
    rules_dir = copy_rules(tmp_path)
    app = create_app(Settings(database_url=migrated, rules_dir=rules_dir), clock=clock)
    with AuthClient(app, clock) as client:
        before = client.get("/um/admin/rules").json()["version"]
        assert review_codes(submit(client, request_bundle(identifier="A", items=[item(1, "99213")])).json()) == {
            1: "NA"
        }

        (rules_dir / "no-auth.yaml").write_text(
            (rules_dir / "no-auth.yaml")
            .read_text()
            .replace('range: {from: "99202", to: "99215"}', 'range: {from: "99202", to: "99205"}')
        )
        reloaded = client.post("/um/admin/rules/reload").json()
        assert reloaded["previous_version"] == before
        assert reloaded["changed"] is True
        assert review_codes(submit(client, request_bundle(identifier="B", items=[item(1, "99213")])).json()) == {
            1: "A4"
        }

        (rules_dir / "broken.yaml").write_text(rule("    outcome: {decision: deny}"))
        refused = client.post("/um/admin/rules/reload")
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["problems"][0]["where"].startswith("broken.yaml, rule ")
        assert client.get("/um/admin/rules").json()["version"] == reloaded["version"]


def test_a_request_in_flight_keeps_the_rule_set_it_started_with(tmp_path: Path) -> None:
    rules_dir = copy_rules(tmp_path)
    active = ActiveRules.load(rules_dir)
    taken = active.current
    (rules_dir / "no-auth.yaml").unlink()

    old, new = active.reload()

    assert old is taken
    assert taken.by_id("office-visits-no-auth") is not None
    assert new.by_id("office-visits-no-auth") is None
    assert active.current is new


def test_replay_shows_what_the_current_rules_would_decide(
    tmp_path: Path, database: Any, migrated: str, clock: Any
) -> None:
    rules_dir = copy_rules(tmp_path)
    app = create_app(Settings(database_url=migrated, rules_dir=rules_dir), clock=clock)
    with AuthClient(app, clock) as client:
        case_id = submit(client, request_bundle(items=[item(1, "99213"), item(2, "27447")])).json()["entry"][0][
            "resource"
        ]["id"]
        then = client.get("/um/admin/rules").json()["version"]
        (rules_dir / "no-auth.yaml").unlink()
        client.post("/um/admin/rules/reload")

        replay = client.get(f"/um/cases/{case_id}/replay").json()

    assert replay["then_version"] == then
    assert replay["now_version"] != then
    first, second = replay["items"]
    assert first["then"]["action"] == "NA"
    assert first["now"]["action"] == "A4"
    assert first["changed"] is True
    assert second["changed"] is False


def test_an_expression_that_fails_on_odd_data_counts_as_missing() -> None:
    files = {
        "x.yaml": """
rules:
  - id: many-values
    description: A condition that yields several values where one boolean is expected.
    services:
      - {system: cpt, codes: ["72148"]}
    effective: {from: 2026-01-01}
    when:
      - {id: codes, description: returns every diagnosis code, expression: "%claim.diagnosis.diagnosis.coding.code"}
    outcome: {decision: approve}
"""
    }
    from datetime import UTC, datetime

    import orjson

    from um_service.decision import decide
    from um_service.fhir.envelope import Limits
    from um_service.fhir.pas_request import read_submit_request

    bundle = request_bundle(items=[item(1, "72148")])
    bundle["entry"][0]["resource"]["diagnosis"].append(
        {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": "x", "code": "Y"}]}}
    )
    request = read_submit_request(orjson.dumps(bundle), limits=Limits())

    outcome = decide(request, rule_set=load_files(files), received=datetime(2026, 11, 23, tzinfo=UTC))[1]

    assert outcome.action.value == "A4"
    step = next(s for s in outcome.trace if s.get("condition") == "codes")
    assert "error" in step
    assert step["holds"] is False


def test_the_shipped_rules_directory_loads(tmp_path: Path) -> None:
    assert load_directory(REPO_ROOT / "rules").version


PLANS = """
lines_of_business:
  - {id: commercial, description: Commercial plans., coverage_types: [EHCPOL]}
plans:
  - id: GOLD
    name: Gold
    line_of_business: commerical
    excludes:
      - description: Nothing that exists
        services: [{valueset: no-such-set}]
    limits:
      - {id: pt, description: PT visits, services: [{system: cpt, codes: ["97110"]}], quantity: 20}
      - {id: pt, description: PT again, services: [{system: cpt, codes: ["97112"]}], quantity: 0}
  - {id: GOLD, name: Gold again, line_of_business: commercial}
"""


def test_plan_files_are_checked_with_the_rules_and_every_problem_named() -> None:
    found = problems_of({"office.yaml": GOOD, "plans/plans.yaml": PLANS})

    assert found == [
        "error: plans/plans.yaml, plan GOLD, limits.1.quantity: Input should be greater than 0",
    ]
    fixed = PLANS.replace("quantity: 0}", "quantity: 5}")
    assert problems_of({"office.yaml": GOOD, "plans/plans.yaml": fixed}) == [
        "error: plans/plans.yaml, plan GOLD, line_of_business: unknown line of business 'commerical' (declared: "
        "['commercial'])",
        "error: plans/plans.yaml, plan GOLD, excludes.0: unknown value set 'no-such-set'",
        "error: plans/plans.yaml, plan GOLD, limits.1.id: limit id 'pt' used twice",
        "error: plans/plans.yaml, plan GOLD, id: plan also defined in plans/plans.yaml",
    ]


def test_a_rule_naming_an_undeclared_line_of_business_is_a_warning_and_plans_resolve_lines() -> None:
    plans = PLANS.split("plans:")[0] + "plans:\n  - {id: GOLD, name: Gold, line_of_business: commercial}\n"
    rule_set = load_files(
        {
            "r.yaml": rule("    lines_of_business: [comercial]\n    outcome: {decision: pend, queue: q}"),
            "plans/p.yaml": plans,
        }
    )

    assert [str(w) for w in rule_set.warnings] == [
        "warning: r.yaml, rule r1, lines_of_business: line of business 'comercial' is not declared in plans/; the "
        "rule never applies"
    ]
    assert rule_set.plans.line_of_business("GOLD", ["anything"]) == "commercial"
    assert rule_set.plans.line_of_business("UNLISTED", ["EHCPOL"]) == "commercial"
    assert rule_set.plans.line_of_business(None, ["medicaid"]) == "medicaid"
    assert rule_set.plans.line_of_business(None, []) is None


def test_the_admin_api_shows_the_plan_book(client: AuthClient) -> None:
    shown = client.get("/um/admin/rules").json()

    assert [line["id"] for line in shown["lines_of_business"]] == [
        "commercial",
        "medicare-advantage",
        "medicaid",
        "chip",
    ]
    silver = next(plan for plan in shown["plans"] if plan["id"] == "HMO-SILVER")
    assert silver["line_of_business"] == "commercial"
    assert silver["limits"][0]["quantity"] == 20
    assert shown["administrative_reasons"]["coverage_inactive"]["code"] == "0W"
    assert "plans/plans.yaml" in shown["files"]
