"""Staff read codes in words: ICD-10-CM diagnoses, HCPCS and X12 services, LOINC documents from the tables the service
ships, CPT services in the rule pack's own words (`displays:`); and each item shows what was asked: quantity,
dates and the practitioners of its care team."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from um_service.app import create_app
from um_service.decision import RuleSetError, load_files
from um_service.decision.testcases import ItemSpec, RequestSpec, build_request
from um_service.settings import REPO_ROOT, Settings

from conftest import AuthClient, Clock, submit

BUNDLES = REPO_ROOT / "rules" / "tests" / "bundles"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
CLAIM_SCOPE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-careTeamClaimScope"


def request_for(*items: ItemSpec, diagnoses: tuple[str, ...] = ("M54.16",), identifier: str = "TERM-1") -> Any:
    bundle = build_request(RequestSpec(items=items, diagnoses=diagnoses), BUNDLES)
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = identifier
    return bundle


def case_of(client: AuthClient, bundle: dict[str, Any]) -> str:
    return str(submit(client, bundle).json()["entry"][0]["resource"]["id"])


def test_a_lumbar_mri_shows_its_service_diagnosis_and_requested_document_in_words(client: AuthClient) -> None:
    case_id = case_of(client, request_for(ItemSpec(sequence=1, code="72148")))

    (item,) = client.get(f"/um/cases/{case_id}").json()["items"]
    asked = client.get(f"/um/cases/{case_id}/request").json()

    assert item["service"] == {"system": CPT, "code": "72148", "display": "MRI lumbar spine without contrast"}
    assert item["documents_requested"] == [
        {
            "loinc": "11506-3",
            "description": "Progress notes documenting at least six weeks of conservative therapy",
            "report_type": "09",
            "display": "Progress note",
        }
    ]
    assert asked["diagnosis_codes"] == [
        {"system": ICD10CM, "code": "M54.16", "display": "Radiculopathy, lumbar region"}
    ]
    assert asked["diagnoses"] == ["http://hl7.org/fhir/sid/icd-10-cm|M54.16"]
    assert asked["items"][0]["service_codes"] == [
        {"system": CPT, "code": "72148", "display": "MRI lumbar spine without contrast"}
    ]


def test_hcpcs_x12_and_icd_codes_with_or_without_their_dot_are_described(client: AuthClient) -> None:
    bundle = request_for(
        ItemSpec(sequence=1, code="E0601", system="hcpcs"),
        ItemSpec(sequence=2, code="48", system="x12-1365"),
        diagnoses=("G47.33", "S32009A", "M54.99"),
    )

    case_id = case_of(client, bundle)
    items = client.get(f"/um/cases/{case_id}").json()["items"]
    asked = client.get(f"/um/cases/{case_id}/request").json()

    assert [i["service"]["display"] for i in items] == [
        "Continuous positive airway pressure (CPAP) device",
        "Hospital - Inpatient",
    ]
    assert [d["display"] for d in asked["diagnosis_codes"]] == [
        "Obstructive sleep apnea (adult) (pediatric)",
        "Unspecified fracture of unspecified lumbar vertebra, initial encounter for closed fracture",
        None,  # no such ICD-10-CM code
    ]


def test_an_item_shows_its_quantity_dates_and_care_team(client: AuthClient) -> None:
    bundle = with_care_team(
        request_for(ItemSpec(sequence=1, code="72148"), ItemSpec(sequence=2, code="97110", quantity=8))
    )

    case_id = case_of(client, bundle)
    first, second = client.get(f"/um/cases/{case_id}").json()["items"]
    asked = client.get(f"/um/cases/{case_id}/request").json()

    assert (first["quantity"], first["serviced_date"], first["serviced_period"]) == (1, "2026-12-01", None)
    assert (second["quantity"], second["serviced_date"]) == (8, None)
    assert second["serviced_period"] == {"start": "2026-12-01", "end": "2026-12-31"}
    assert first["practitioners"] == [
        {"name": "Ana Rivera", "role": "Primary provider"},
        {"name": "Sam Okafor", "role": None},
    ]
    assert second["practitioners"] == [{"name": "Sam Okafor", "role": None}]
    assert [i["practitioners"] for i in asked["items"]] == [first["practitioners"], second["practitioners"]]


def with_care_team(bundle: dict[str, Any]) -> dict[str, Any]:
    """Item 1 cites an ordering practitioner; a radiologist's PractitionerRole applies to every item (claim scope);
    item 2 asks for a period of service."""
    claim = bundle["entry"][0]["resource"]
    people = {
        "urn:uuid:9a1e0000-0000-4000-8000-000000000010": {
            "resourceType": "Practitioner",
            "id": "ordering",
            "name": [{"family": "Rivera", "given": ["Ana"]}],
        },
        "urn:uuid:9a1e0000-0000-4000-8000-000000000011": {
            "resourceType": "PractitionerRole",
            "id": "radiologist-role",
            "practitioner": {"reference": "urn:uuid:9a1e0000-0000-4000-8000-000000000012"},
        },
        "urn:uuid:9a1e0000-0000-4000-8000-000000000012": {
            "resourceType": "Practitioner",
            "id": "radiologist",
            "name": [{"family": "Okafor", "given": ["Sam"]}],
        },
    }
    bundle["entry"] += [{"fullUrl": url, "resource": resource} for url, resource in people.items()]
    claim["careTeam"] = [
        {
            "sequence": 1,
            "provider": {"reference": "urn:uuid:9a1e0000-0000-4000-8000-000000000010"},
            "role": {"coding": [{"system": CARE_TEAM_ROLE, "code": "primary", "display": "Primary provider"}]},
        },
        {
            "extension": [{"url": CLAIM_SCOPE, "valueBoolean": True}],
            "sequence": 2,
            "provider": {"reference": "urn:uuid:9a1e0000-0000-4000-8000-000000000011"},
        },
    ]
    claim["item"][0]["careTeamSequence"] = [1]
    del claim["item"][1]["servicedDate"]
    claim["item"][1]["servicedPeriod"] = {"start": "2026-12-01", "end": "2026-12-31"}
    return bundle


def test_a_display_added_to_the_rule_pack_is_shown_after_a_reload(
    tmp_path: Path, database: Any, migrated: str, clock: Clock
) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules_dir)
    app = create_app(Settings(database_url=migrated, rules_dir=rules_dir), clock=clock)
    with AuthClient(app, clock) as client:
        case_id = case_of(client, request_for(ItemSpec(sequence=1, code="72141")))
        before = client.get(f"/um/cases/{case_id}").json()["items"][0]["service"]["display"]
        (rules_dir / "local.yaml").write_text(
            'displays:\n  - {system: cpt, code: "72141", display: "MRI neck (cervical spine) without contrast"}\n'
        )
        client.post("/um/admin/rules/reload")

        after = client.get(f"/um/cases/{case_id}").json()["items"][0]["service"]["display"]

    assert (before, after) == (None, "MRI neck (cervical spine) without contrast")


def test_a_code_given_two_displays_is_refused() -> None:
    twice = 'displays:\n  - {system: cpt, code: "72148", display: "Lumbar MRI"}\n'

    with pytest.raises(RuleSetError) as raised:
        load_files({"a.yaml": twice, "b.yaml": twice})

    assert [str(p) for p in raised.value.rule_problems] == [
        "error: b.yaml, rule 72148, displays: cpt 72148 already has a display in a.yaml"
    ]
