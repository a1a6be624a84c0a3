"""CMS-0057-F figures from a year of synthetic cases with known outcomes, built through the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from um_service.cli import main as cli

from builders import item, request_bundle
from conftest import submit

MD = {"X-Reviewer-Id": "md-diaz"}
JAN = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def bundle(
    name: str, code: str, *, quantity: int = 1, priority: str = "normal", lob: str = "commercial"
) -> dict[str, Any]:
    # Dated after every moment the tests move the clock to: these are prospective requests (not retrospective).
    request = request_bundle(
        identifier=name, items=[item(1, code, quantity=quantity, date="2027-12-31")], priority=priority
    )
    request["entry"][2]["resource"]["type"] = {"coding": [{"code": lob}]}
    return request


class Year:
    """Builds cases through HTTP, moving the service clock between actions."""

    def __init__(self, client: Any, clock: Any):
        self.client = client
        self.clock = clock
        self.day = 0

    def submit(self, name: str, code: str, **kwargs: Any) -> str:
        self.day += 20
        self.clock.now = JAN + dt.timedelta(days=self.day)
        case_id: str = submit(self.client, bundle(name, code, **kwargs)).json()["entry"][0]["resource"]["id"]
        return case_id

    def nurse_of(self, case_id: str) -> dict[str, str]:
        return {"X-Reviewer-Id": self.client.get(f"/um/cases/{case_id}").json()["assignee"]}

    def at(self, case_id: str, hours: float) -> None:
        received = dt.datetime.fromisoformat(self.client.get(f"/um/cases/{case_id}").json()["received_at"])
        self.clock.now = received + dt.timedelta(hours=hours)

    def approve(self, case_id: str, hours: float, **approval: Any) -> None:
        nurse = self.nurse_of(case_id)
        assert self.client.post(f"/um/cases/{case_id}/take", headers=nurse).status_code == 200
        self.at(case_id, hours)
        response = self.client.post(
            f"/um/cases/{case_id}/approve", headers=nurse, json={"items": [{"sequence": 1, **approval}]}
        )
        assert response.status_code == 200, response.text

    def deny(self, case_id: str, hours: float) -> None:
        nurse = self.nurse_of(case_id)
        self.client.post(f"/um/cases/{case_id}/take", headers=nurse)
        self.client.post(f"/um/cases/{case_id}/escalate", headers=nurse, json={"note": "Does not meet criteria."})
        self.client.post(f"/um/cases/{case_id}/take", headers=MD)
        self.at(case_id, hours)
        response = self.client.post(
            f"/um/cases/{case_id}/deny",
            headers=MD,
            json={"items": [1], "reason_code": "0U", "reason_text": "Criteria not met."},
        )
        assert response.json()["status"] == "decided", response.text

    def appeal(self, case_id: str, hours: float, outcome: str) -> None:
        self.at(case_id, hours)
        filed = self.client.post(
            f"/um/cases/{case_id}/appeals", headers=MD, json={"items": [1], "reason": "New evidence."}
        )
        assert filed.status_code == 200, filed.text
        decided = self.client.post(f"/um/appeals/{filed.json()['id']}/decision", headers=MD, json={"outcome": outcome})
        assert decided.json()["outcome"] == outcome


@pytest.fixture
def year(client: Any, clock: Any) -> Year:
    built = Year(client, clock)
    for n in range(4):  # standard, approved by the rules at once
        built.submit(f"S-AUTO-{n}", "97110", quantity=6)
    built.approve(built.submit("S-24", "27447"), 24)
    built.approve(built.submit("S-48", "27447"), 48)
    built.deny(built.submit("S-DENY", "27447"), 72)
    appealed = built.submit("S-DENY-APPEAL", "27447")
    built.deny(appealed, 96)
    built.appeal(appealed, 300, "approved")
    extended = built.submit("S-EXTEND", "27447")
    nurse = built.nurse_of(extended)
    built.client.post(f"/um/cases/{extended}/extend", headers=nurse, json={"reason": "Waiting for records", "days": 14})
    built.approve(extended, 200)
    built.approve(built.submit("S-MODIFIED", "27447", quantity=2), 10, quantity=1)
    built.submit("S-NO-AUTH", "99213")
    cancelled = built.submit("S-CANCELLED", "27447")
    from builders import cancelled as cancel_item
    from builders import update_of

    original = bundle("S-CANCELLED", "27447")
    submit(
        built.client,
        update_of(
            original, claim_id="c2", items=[cancel_item(original["entry"][0]["resource"]["item"][0])], cancel_all=True
        ),
    )
    assert built.client.get(f"/um/cases/{cancelled}").json()["status"] == "cancelled"
    built.submit("E-AUTO", "97110", quantity=6, priority="stat")
    built.approve(built.submit("E-12", "27447", priority="stat"), 12)
    denied = built.submit("E-DENY", "27447", priority="stat")
    built.deny(denied, 60)
    built.appeal(denied, 100, "upheld")
    built.submit("M-AUTO", "97110", quantity=6, lob="medicaid")
    return built


def figures(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in report["figures"]}


def test_the_nine_figures_for_a_year(client: Any, year: Year) -> None:
    report = client.get(
        "/um/reports/cms-0057", params={"from": "2026-01-01", "to": "2027-01-01", "entity": "commercial"}
    ).json()

    found = figures(report)
    expected = {
        "standard_approved": (80.0, 8, 10),
        "standard_denied": (20.0, 2, 10),
        "approved_after_appeal": (50.0, 1, 2),
        "extended_then_approved": (7.69, 1, 13),
        "expedited_approved": (66.67, 2, 3),
        "expedited_denied": (33.33, 1, 3),
        "standard_hours_average": (45.0, 450.0, 10),
        "standard_hours_median": (17.0, 17.0, 10),
        "expedited_hours_average": (24.0, 72.0, 3),
        "expedited_hours_median": (12.0, 12.0, 3),
    }
    assert {k: (f["value"], f["numerator"], f["denominator"]) for k, f in found.items()} == expected
    listed = {entry["rule"] for entry in report["services_requiring_prior_authorization"]}
    assert "imaging-lumbar-mri-review" in listed
    assert "office-visits-no-auth" not in listed


def test_partial_approvals_can_count_elsewhere(migrated: str, database: Any, clock: Any, year: Year) -> None:
    from um_service.app import create_app
    from um_service.settings import Settings

    from conftest import AuthClient

    settings = Settings(database_url=migrated, dispatcher=False, report_partial_as="neither")
    with AuthClient(create_app(settings, clock=clock), clock) as client:
        report = client.get(
            "/um/reports/cms-0057", params={"from": "2026-01-01", "to": "2027-01-01", "entity": "commercial"}
        ).json()

    assert report["partial_approvals_counted_as"] == "neither"
    assert (figures(report)["standard_approved"]["numerator"], figures(report)["standard_approved"]["denominator"]) == (
        7,
        10,
    )


def test_the_entity_and_the_period_select_requests(client: Any, year: Year) -> None:
    everyone = figures(client.get("/um/reports/cms-0057", params={"from": "2026-01-01", "to": "2027-01-01"}).json())
    medicaid = figures(
        client.get(
            "/um/reports/cms-0057", params={"from": "2026-01-01", "to": "2027-01-01", "entity": "medicaid"}
        ).json()
    )
    empty = figures(client.get("/um/reports/cms-0057", params={"from": "2025-01-01", "to": "2026-01-01"}).json())

    assert everyone["standard_approved"]["denominator"] == 11
    assert (medicaid["standard_approved"]["numerator"], medicaid["standard_approved"]["denominator"]) == (1, 1)
    assert empty["standard_approved"] == {**empty["standard_approved"], "value": None, "denominator": 0}


def test_csv_and_spreadsheet_downloads(client: Any, year: Year) -> None:
    params = {"from": "2026-01-01", "to": "2027-01-01", "entity": "commercial"}
    as_csv = client.get("/um/reports/cms-0057", params=params | {"format": "csv"})
    as_xlsx = client.get("/um/reports/cms-0057", params=params | {"format": "xlsx"})

    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {r["key"]: r["value"] for r in rows}["standard_approved"] == "80.0"
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(as_xlsx.content))
    values = {row[0]: row[2] for row in book["CMS-0057-F figures"].iter_rows(min_row=3, values_only=True)}
    assert values["expedited_denied"] == 33.33
    assert book["Requires prior authorization"].max_row > 10


def test_the_report_command_writes_the_same_files(year: Year, migrated: str, tmp_path: Any, monkeypatch: Any) -> None:
    from um_service.settings import get_settings

    monkeypatch.setenv("UM_DATABASE_URL", migrated)
    get_settings.cache_clear()
    try:
        assert (
            cli(
                [
                    "report",
                    "cms-0057",
                    "--from",
                    "2026-01-01",
                    "--to",
                    "2027-01-01",
                    "--entity",
                    "commercial",
                    "--out",
                    str(tmp_path),
                ]
            )
            == 0
        )
    finally:
        get_settings.cache_clear()
    import json

    written = json.loads((tmp_path / "cms-0057-commercial-2026-01-01-2027-01-01.json").read_text())
    assert figures(written)["standard_denied"]["value"] == 20.0
    assert (tmp_path / "cms-0057-commercial-2026-01-01-2027-01-01.xlsx").stat().st_size > 0


def test_operational_figures_and_prometheus_metrics(client: Any, year: Year, clock: Any) -> None:
    late = year.submit("OPEN-LATE", "27447")
    clock.now = dt.datetime.fromisoformat(client.get(f"/um/cases/{late}").json()["due_at"]) + dt.timedelta(hours=1)
    submit(client, bundle("OPEN-FRESH", "27447"))
    decided = submit(client, bundle("DECIDED-NOW", "27447")).json()["entry"][0]["resource"]["id"]
    nurse = year.nurse_of(decided)["X-Reviewer-Id"]
    year.approve(decided, 5)

    figures_now = client.get("/um/operations").json()
    scraped = client.get("/metrics")

    assert figures_now["open_cases_by_queue"] == {"general-um": 2}
    assert figures_now["overdue_cases"] == 1
    assert figures_now["decisions_by_reviewer"] == {nurse: 1}
    assert figures_now["median_decision_hours_by_queue"]["general-um"] == 5.0
    assert scraped.status_code == 200
    assert 'um_open_cases{queue="general-um"} 2.0' in scraped.text
    assert "um_overdue_cases 1.0" in scraped.text
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 401
