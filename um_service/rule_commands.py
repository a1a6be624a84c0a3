"""The `um-service rules ...` commands: check a rule set, run its test cases, replay a stored case."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from .decision import RuleSetError, load_directory
from .decision.testcases import run
from .settings import Settings


def check(directory: Path, *, quiet: bool = False) -> int:
    """Report every problem of the rule set in `directory`; 0 when it can be used."""
    try:
        rule_set = load_directory(directory)
    except RuleSetError as exc:
        print(f"rule set in {directory} is invalid; nothing of it is used:", file=sys.stderr)
        for problem in exc.rule_problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    for warning in rule_set.warnings:
        print(f"  {warning}", file=sys.stderr)
    if not quiet:
        print(
            f"rule set {rule_set.version}: {len(rule_set.rules)} rules, {len(rule_set.valuesets)} value sets, "
            f"{len(rule_set.plans.plans)} plans, {len(rule_set.files)} files, {len(rule_set.warnings)} warnings"
        )
    return 0


def test(directory: Path) -> int:
    """Run rules/tests against the rule set and print a pass/fail table; 0 when every case passes."""
    try:
        rule_set = load_directory(directory)
    except RuleSetError:
        return check(directory)
    results = run(directory / "tests", rule_set)
    width = max((len(r.case) for r in results), default=10)
    print(f"{'result':<6}  {'file':<18}  {'case':<{width}}  item  expected -> actual")
    for r in results:
        verdict = "pass" if r.passed else "FAIL"
        print(f"{verdict:<6}  {r.file:<18}  {r.case:<{width}}  {r.sequence:>4}  {r.expected} -> {r.actual}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed (rule set {rule_set.version})")
    return 1 if failed or not results else 0


def replay(settings: Settings, case_id: str) -> int:
    """Print a stored case decided under its original rule set and under the current one."""
    from .case.replay import replay as replay_case
    from .db.session import Database

    database = Database(settings.database_url)
    with database.transaction() as session:
        result = replay_case(session, case_id, current=load_directory(settings.rules_dir))
    database.dispose()
    if result is None:
        print(f"no case {case_id}", file=sys.stderr)
        return 1
    print(orjson.dumps(result.__dict__, option=orjson.OPT_INDENT_2).decode())
    return 0
