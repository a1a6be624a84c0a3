"""The UM lead's dashboard through HTTP: a week of requests built by moving the service clock (automatic approvals, a
request needing no authorization, a nurse's approval, a medical director's denial, an administrative denial, open
cases past or near their due time, and a request before the period), then its figures and its charts."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from test_benefits import register

from builders import item, request_bundle
from conftest import AuthClient, Clock, submit

NURSE = {"X-Reviewer-Id": "nurse-carmen"}
MD = {"X-Reviewer-Id": "md-diaz"}
SVG = "{http://www.w3.org/2000/svg}"


def at(clock: Clock, when: str) -> None:
    clock.now = dt.datetime.fromisoformat(when)


def request(client: AuthClient, name: str, code: str, *, priority: str = "normal", member: str = "MBR-1001") -> str:
    bundle = request_bundle(identifier=name, items=[item(1, code, quantity=6)], priority=priority, member_id=member)
    answer = submit(client, bundle)
    assert answer.status_code == 200, answer.text
    case_id: str = answer.json()["entry"][0]["resource"]["id"]
    return case_id


def approve(client: AuthClient, case_id: str) -> None:
    assert client.post(f"/um/cases/{case_id}/take", headers=NURSE).status_code == 200
    approved = client.post(f"/um/cases/{case_id}/approve", headers=NURSE, json={"items": [{"sequence": 1}]})
    assert approved.json()["status"] == "decided", approved.text


def deny(client: AuthClient, clock: Clock, case_id: str, when: str) -> None:
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={"note": "Does not meet criteria."})
    client.post(f"/um/cases/{case_id}/take", headers=MD)
    at(clock, when)
    denied = client.post(
        f"/um/cases/{case_id}/deny", headers=MD, json={"items": [1], "reason_code": "0U", "reason_text": "Not met."}
    )
    assert denied.json()["status"] == "decided", denied.text


@pytest.fixture
def week(client: AuthClient, clock: Clock) -> AuthClient:
    build_week(client, clock)
    return client


def build_week(client: AuthClient, clock: Clock) -> None:
    """Requests over the week up to 2026-11-23 09:00 UTC (where it leaves the clock), and one before it."""
    at(clock, "2026-11-10T09:00:00+00:00")
    request(client, "BEFORE", "97110")  # before the 7-day period: counted nowhere but in a 30-day one
    at(clock, "2026-11-16T12:00:00+00:00")
    request(client, "NEAR", "27447")  # standard, due 2026-11-23 12:00: near breach now, received before the period
    # Early in the UTC day (the evening before in the Americas): days are UTC days whatever the database's time zone.
    at(clock, "2026-11-19T03:00:00+00:00")
    request(client, "LATE", "27447", priority="stat")  # expedited, due 2026-11-22 03:00: overdue now
    at(clock, "2026-11-21T08:00:00+00:00")
    request(client, "AUTO-1", "97110")
    request(client, "AUTO-2", "97110")
    request(client, "NO-AUTH", "99213")
    pended = request(client, "NURSE", "27447")
    at(clock, "2026-11-21T13:00:00+00:00")
    approve(client, pended)
    at(clock, "2026-11-22T10:00:00+00:00")
    escalated = request(client, "DENY", "27447", priority="stat")
    deny(client, clock, escalated, "2026-11-23T06:00:00+00:00")
    # Last: once the registry holds a member, eligibility is checked for every request.
    at(clock, "2026-11-22T11:00:00+00:00")
    register(client, "M-OLD", end="2026-06-30")
    request(client, "ADMIN", "72148", member="M-OLD")  # coverage ended: not certified at intake
    at(clock, "2026-11-23T09:00:00+00:00")


def test_the_figures_of_a_week(week: AuthClient) -> None:
    figures = week.get("/um/dashboard", params={"days": 7}).json()

    assert figures["period"] == {
        "days": 7,
        "start": "2026-11-17T00:00:00+00:00",
        "end": "2026-11-23T09:00:00+00:00",
        "dates": ["2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"],
    }
    assert figures["open"] == {"open": 2, "overdue": 1, "near_breach": 1}
    assert figures["received"] == {
        "total": 7,
        "by_day": [0, 0, 1, 0, 4, 2, 0],
        "by_queue": {"no review": 4, "general-um": 2, "medical-director-review": 1},
    }
    assert figures["automation"] == {
        "decided": 6,
        "automated": 3,
        "rate": 0.5,
        "decided_by_day": [0, 0, 0, 0, 4, 1, 1],
        "automated_by_day": [0, 0, 0, 0, 3, 0, 0],
        "rate_by_day": [None, None, None, None, 0.75, 0.0, 0.0],
    }
    assert figures["results"] == {
        "approved": 3,
        "approved_with_changes": 0,
        "denied_clinical": 1,
        "denied_administrative": 1,
        "not_required": 1,
        "pended": 1,
        "cancelled": 0,
    }
    assert figures["time_to_decision"] == {
        "bins": ["0-1", "1-24", "24-48", "48-72", "72-120", "120-168", "168+"],
        "expedited": {
            "clock_hours": 72,
            "decided": 1,
            "within_clock": 1,
            "share_within_clock": 1.0,
            "median_hours": 20.0,
            "p90_hours": 20.0,
            "histogram": [0, 1, 0, 0, 0, 0, 0],
        },
        "standard": {
            "clock_hours": 168,
            "decided": 4,
            "within_clock": 4,
            "share_within_clock": 1.0,
            "median_hours": 0.0,
            "p90_hours": 5.0,
            "histogram": [3, 1, 0, 0, 0, 0, 0],
        },
    }
    assert figures["reviewers"] == [
        {"reviewer": "nurse-carmen", "role": "nurse", "decisions": 2, "by_action": {"approved": 1, "escalated": 1}},
        {"reviewer": "md-diaz", "role": "medical_director", "decisions": 1, "by_action": {"denied": 1}},
    ]


def test_a_longer_period_reaches_further_back_and_the_period_is_bounded(week: AuthClient) -> None:
    month = week.get("/um/dashboard", params={"days": 30}).json()

    assert month["period"]["start"] == "2026-10-25T00:00:00+00:00"
    assert month["received"]["total"] == 9
    assert month["received"]["by_day"][16] == 1  # 2026-11-10
    assert month["automation"]["decided"] == 7
    assert month["open"] == {"open": 2, "overdue": 1, "near_breach": 1}
    assert week.get("/um/dashboard", params={"days": 6}).status_code == 422
    assert week.get("/um/dashboard", params={"days": 91}).status_code == 422


def test_an_empty_period(client: AuthClient) -> None:
    figures = client.get("/um/dashboard/charts", params={"days": 7}).json()

    assert figures["received"] == {"total": 0, "by_day": [0, 0, 0, 0, 0, 0, 0], "by_queue": {}}
    assert figures["automation"]["rate"] is None
    assert figures["time_to_decision"]["standard"]["median_hours"] is None
    assert figures["reviewers"] == []
    for chart in figures["charts"]:
        svg = ET.fromstring(chart["svg"])
        assert "No data in this period" in "".join(svg.itertext()), chart["id"]


def chart_of(answer: dict[str, Any], chart_id: str) -> dict[str, Any]:
    (found,) = [c for c in answer["charts"] if c["id"] == chart_id]
    return found


def test_the_charts_are_svg_with_a_title_and_the_table_of_their_numbers(week: AuthClient) -> None:
    answer = week.get("/um/dashboard/charts", params={"days": 7}).json()

    assert [c["id"] for c in answer["charts"]] == [
        "received-by-day",
        "received-by-queue",
        "automation-rate",
        "results",
        "within-clock",
        "decision-hours",
        "reviewers",
    ]
    assert answer["open"] == {"open": 2, "overdue": 1, "near_breach": 1}
    for chart in answer["charts"]:
        svg = ET.fromstring(chart["svg"])  # well-formed XML
        assert svg.tag == f"{SVG}svg"
        assert svg.get("role") == "img"
        assert svg.get("aria-labelledby") == f"{chart['id']}-title {chart['id']}-desc"
        assert svg.find(f"{SVG}title").text == chart["title"]  # type: ignore[union-attr]
        assert svg.find(f"{SVG}desc").text  # type: ignore[union-attr]
    assert chart_of(answer, "received-by-day")["table"] == {
        "columns": ["Day", "Requests"],
        "rows": [
            ["2026-11-17", 0],
            ["2026-11-18", 0],
            ["2026-11-19", 1],
            ["2026-11-20", 0],
            ["2026-11-21", 4],
            ["2026-11-22", 2],
            ["2026-11-23", 0],
        ],
    }
    assert chart_of(answer, "automation-rate")["table"]["rows"][4:] == [
        ["2026-11-21", 4, 3, "75%"],
        ["2026-11-22", 1, 0, "0%"],
        ["2026-11-23", 1, 0, "0%"],
    ]
    assert chart_of(answer, "within-clock")["table"] == {
        "columns": ["Priority", "Clock (h)", "Decided", "By due time", "Share", "Median (h)", "90th percentile (h)"],
        "rows": [["expedited", 72, 1, 1, "100%", 20.0, 20.0], ["standard", 168, 4, 4, "100%", 0.0, 5.0]],
    }
    assert chart_of(answer, "reviewers")["table"] == {
        "columns": ["Reviewer", "Role", "Approved", "Denied", "Escalated", "All"],
        "rows": [["nurse-carmen", "nurse", 1, 0, 1, 2], ["md-diaz", "medical director", 0, 1, 0, 1]],
    }
    reviewers = ET.fromstring(chart_of(answer, "reviewers")["svg"])
    assert "nurse-carmen" in "".join(reviewers.itertext())


def test_chart_text_is_escaped() -> None:
    from um_service.reports import charts

    svg = charts.horizontal_bar_chart(
        chart_id="x", title='A <b>"bold"</b> & co', description="d", labels=["<q>&"], values=[1], x_label="n"
    )

    parsed = ET.fromstring(svg)
    assert parsed.find(f"{SVG}title").text == 'A <b>"bold"</b> & co'  # type: ignore[union-attr]
    assert "<q>&" in "".join(parsed.itertext())
