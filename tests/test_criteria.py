"""A nurse reads each item's rule trace as a criteria checklist (GET /um/cases/{id}, `criteria`): the deciding rule's
conditions met, not met or missing, its documents present or missing, the quantity and benefit limits checked,
then the rules tried before it; in the rule pack's words, or the expression evaluated when the rule has changed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from test_benefits import register

from um_service.app import create_app
from um_service.decision.testcases import ItemSpec, RequestSpec, build_request
from um_service.settings import REPO_ROOT, Settings

from builders import item, request_bundle
from conftest import AuthClient, Clock, submit

BUNDLES = REPO_ROOT / "rules" / "tests" / "bundles"
LUMBAR_MRI = (ItemSpec(sequence=1, code="72148"),)
DECIDING = "imaging-lumbar-mri-conservative-therapy"
LOW_BACK_PAIN = "A diagnosis on the request is low back pain, lumbar radiculopathy or a lumbar disc disorder."
PROGRESS_NOTES = "Progress notes documenting at least six weeks of conservative therapy"
NO_BIRTH_DATE = {"op": "remove", "path": "/entry/1/resource/birthDate"}
# The lumbar MRI rules tried before the conservative-therapy rule, by priority, whose conditions did not hold.
TRIED_FIRST = [
    ("imaging-pediatric-advanced", "under-18", "The patient is younger than 18 on the date of service.", "not met"),
    (
        "imaging-lumbar-mri-red-flags",
        "red-flag-diagnosis",
        "A diagnosis on the request is a spinal red flag.",
        "not met",
    ),
    (
        "imaging-lumbar-mri-form",
        "six-weeks-or-red-flag",
        "The form reports six or more weeks of conservative therapy, or a red flag.",
        "missing",
    ),
]


def submitted(client: AuthClient, spec: RequestSpec, identifier: str = "CRIT-1") -> str:
    bundle = build_request(spec, BUNDLES)
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = identifier
    return str(submit(client, bundle).json()["entry"][0]["resource"]["id"])


def criteria_of(client: AuthClient, spec: RequestSpec) -> list[dict[str, Any]]:
    (case_item,) = client.get(f"/um/cases/{submitted(client, spec)}").json()["items"]
    return list(case_item["criteria"])


def lines(criteria: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(c["rule"], c["id"], c["description"], c["status"]) for c in criteria]


def test_an_approved_lumbar_mri_lists_its_conditions_and_the_progress_notes_present(client: AuthClient) -> None:
    criteria = criteria_of(client, RequestSpec(items=LUMBAR_MRI, diagnoses=("M54.16",), documents=("11506-3",)))

    assert lines(criteria) == [
        (DECIDING, "low-back-pain", LOW_BACK_PAIN, "met"),
        (DECIDING, "11506-3", PROGRESS_NOTES, "present"),
        *TRIED_FIRST,
    ]
    assert criteria[0] == {
        "kind": "condition",
        "id": "low-back-pain",
        "description": LOW_BACK_PAIN,
        "status": "met",
        "holds": True,
        "rule": DECIDING,
        "deciding": True,
        "value": True,
        "expression": "%claim.diagnosis.diagnosis.coding.where(memberOf('low-back-pain-diagnoses')).exists()",
    }
    assert [(c["kind"], c["deciding"], c["holds"]) for c in criteria[1:]] == [
        ("document", True, True),
        ("condition", False, False),
        ("condition", False, False),
        ("condition", False, False),
    ]
    assert [c["value"] for c in criteria[2:]] == [False, False, None]  # the form was not sent: no value


def test_a_pended_lumbar_mri_lists_the_progress_notes_missing(client: AuthClient) -> None:
    criteria = criteria_of(client, RequestSpec(items=LUMBAR_MRI, diagnoses=("M54.16",)))

    assert lines(criteria) == [
        (DECIDING, "low-back-pain", LOW_BACK_PAIN, "met"),
        (DECIDING, "11506-3", PROGRESS_NOTES, "missing"),
        *TRIED_FIRST,
    ]


def test_a_lumbar_mri_without_a_diagnosis_or_birth_date_shows_what_was_missing(client: AuthClient) -> None:
    criteria = criteria_of(client, RequestSpec(items=LUMBAR_MRI, diagnoses=(), patch=(NO_BIRTH_DATE,)))

    assert lines(criteria) == [
        ("imaging-pediatric-advanced", "under-18", "The patient is younger than 18 on the date of service.", "missing"),
        (
            "imaging-lumbar-mri-red-flags",
            "red-flag-diagnosis",
            "A diagnosis on the request is a spinal red flag.",
            "not met",
        ),
        TRIED_FIRST[2],
        (DECIDING, "low-back-pain", LOW_BACK_PAIN, "not met"),
    ]
    assert not any(c["deciding"] for c in criteria)  # no condition held: the catch-all review rule decided


def test_a_completed_form_meets_the_form_rules_condition(client: AuthClient) -> None:
    answers = {"conservative-therapy-weeks": 8, "red-flag": "none"}

    criteria = criteria_of(client, RequestSpec(items=LUMBAR_MRI, diagnoses=("M54.16",), answers=answers))

    assert lines(criteria) == [
        (
            "imaging-lumbar-mri-form",
            "six-weeks-or-red-flag",
            "The form reports six or more weeks of conservative therapy, or a red flag.",
            "met",
        ),
        *TRIED_FIRST[:2],
    ]
    assert criteria[0]["deciding"] is True


def test_more_units_than_automation_approves_is_an_unmet_quantity_limit(client: AuthClient) -> None:
    spec = RequestSpec(items=(ItemSpec(sequence=1, code="97110", quantity=30),), diagnoses=("M54.16",))

    criteria = criteria_of(client, spec)

    assert [(c["kind"], c["description"], c["status"], c["value"]) for c in criteria] == [
        ("condition", "The request names at least one diagnosis.", "met", True),
        ("quantity", "Automation approves at most 12 units; 30 requested.", "not met", 30),
    ]


def test_a_benefit_limit_reached_is_a_line_of_the_checklist(client: AuthClient) -> None:
    register(client, "M-PT-CRIT")
    answer = submit(
        client,
        request_bundle(member_id="M-PT-CRIT", items=[item(1, "97110", quantity=12), item(2, "97112", quantity=12)]),
    ).json()

    second = client.get(f"/um/cases/{answer['entry'][0]['resource']['id']}").json()["items"][1]

    assert [(c["kind"], c["rule"], c["description"], c["status"]) for c in second["criteria"]] == [
        ("condition", "pt-initial-course", "The request names at least one diagnosis.", "met"),
        ("quantity", "pt-initial-course", "Automation approves at most 12 units; 12 requested.", "met"),
        (
            "benefit_limit",
            None,
            "Physical therapy, 20 visits per calendar year: at most 20 from 2026-01-01 to 2026-12-31; 0 approved "
            "before, 24 requested.",
            "not met",
        ),
    ]


def test_a_condition_changed_since_the_decision_shows_the_expression_that_was_evaluated(
    tmp_path: Path, database: Any, migrated: str, clock: Clock
) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules_dir)
    app = create_app(Settings(database_url=migrated, rules_dir=rules_dir), clock=clock)
    imaging = rules_dir / "imaging.yaml"
    with AuthClient(app, clock) as client:
        case_id = submitted(client, RequestSpec(items=LUMBAR_MRI, diagnoses=("M54.16",)))
        before = client.get(f"/um/cases/{case_id}").json()["items"][0]["criteria"]
        imaging.write_text(imaging.read_text().replace('expression: "%ageYears < 18"', 'expression: "%ageYears < 21"'))
        client.post("/um/admin/rules/reload")

        after = client.get(f"/um/cases/{case_id}").json()["items"][0]["criteria"]

    under_18 = [c["description"] for c in before if c["id"] == "under-18"]
    assert under_18 == ["The patient is younger than 18 on the date of service."]
    assert [c["description"] for c in after if c["id"] == "under-18"] == ["%ageYears < 18"]
    assert [c["description"] for c in after if c["id"] == "low-back-pain"] == [LOW_BACK_PAIN]
