"""The UM lead's dashboard as charts: each of its figures (reports/dashboard.py) drawn as SVG (reports/charts.py),
with the table of the numbers it draws, for the page to print beside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from . import charts, team_metrics
from .dashboard import CLOCK_HOURS, RESULTS

# Green, teal, red, purple, blue, orange, grey: the colour follows the meaning, the label says it too.
RESULT_COLOURS = ("#2e7d32", "#00796b", "#a4262c", "#6a3d9a", "#2f6db5", "#b35900", "#5f6b7a")
PRIORITY_COLOURS = (charts.PALETTE[3], charts.PALETTE[0])  # expedited red, standard blue, in every chart


def _shown(value: float | None, *, percent: bool = False) -> str | int | float:
    """A table cell: counts as numbers, shares as percentages, nothing as a dash."""
    if value is None:
        return "-"
    return charts.percent_label(value) if percent else value


def _day_label(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return f"{date:%b} {date.day}"


def charts_of(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's charts: id, title, SVG, and the table of the numbers each one draws."""
    return [
        _received_chart(figures),
        _queue_chart(figures),
        _automation_chart(figures),
        _results_chart(figures),
        _clock_chart(figures),
        _hours_chart(figures),
        _reviewer_chart(figures),
    ]


def _chart(chart_id: str, title: str, svg: str, columns: Sequence[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"id": chart_id, "title": title, "svg": svg, "table": {"columns": list(columns), "rows": rows}}


def _received_chart(figures: dict[str, Any]) -> dict[str, Any]:
    dates, counts = figures["period"]["dates"], figures["received"]["by_day"]
    title = "Requests received per day"
    svg = charts.bar_chart(
        chart_id="received-by-day",
        title=title,
        description=f"{figures['received']['total']} requests received over {len(dates)} days, by day (UTC).",
        labels=[_day_label(d) for d in dates],
        values=counts,
        x_label="Day (UTC)",
        y_label="Requests",
    )
    rows = [[day, count] for day, count in zip(dates, counts, strict=True)]
    return _chart("received-by-day", title, svg, ["Day", "Requests"], rows)


def _queue_chart(figures: dict[str, Any]) -> dict[str, Any]:
    queues = figures["received"]["by_queue"]
    title = "Requests received, by queue"
    svg = charts.horizontal_bar_chart(
        chart_id="received-by-queue",
        title=title,
        description="Requests received in the period, by the queue they are in now; "
        + ", ".join(f"{q}: {n}" for q, n in queues.items()),
        labels=list(queues),
        values=list(queues.values()),
        x_label="Requests",
    )
    return _chart("received-by-queue", title, svg, ["Queue", "Requests"], [[q, n] for q, n in queues.items()])


def _automation_chart(figures: dict[str, Any]) -> dict[str, Any]:
    found, dates = figures["automation"], figures["period"]["dates"]
    title = "Items decided by automation, share per day"
    overall = "no items decided" if found["rate"] is None else f"{charts.percent_label(found['rate'])} overall"
    svg = charts.line_chart(
        chart_id="automation-rate",
        title=title,
        description=f"Share of the items decided each day that the rules decided (A1 or NA): {overall}.",
        labels=[_day_label(d) for d in dates],
        series={"Decided by automation": found["rate_by_day"]},
        x_label="Day (UTC)",
        y_label="Share of decided items",
        percent=True,
    )
    rows = [
        [day, decided, automated, _shown(rate, percent=True)]
        for day, decided, automated, rate in zip(
            dates, found["decided_by_day"], found["automated_by_day"], found["rate_by_day"], strict=True
        )
    ]
    return _chart("automation-rate", title, svg, ["Day", "Items decided", "By automation", "Share"], rows)


def _results_chart(figures: dict[str, Any]) -> dict[str, Any]:
    results = figures["results"]
    title = "Results of the items requested in the period"
    svg = charts.horizontal_bar_chart(
        chart_id="results",
        title=title,
        description="Items of the requests received in the period, by their result now; "
        + ", ".join(f"{RESULTS[k]}: {n}" for k, n in results.items()),
        labels=list(RESULTS.values()),
        values=[results[k] for k in RESULTS],
        x_label="Items",
        colours=RESULT_COLOURS,
    )
    return _chart("results", title, svg, ["Result", "Items"], [[RESULTS[k], n] for k, n in results.items()])


def _clock_chart(figures: dict[str, Any]) -> dict[str, Any]:
    found = figures["time_to_decision"]
    title = "Requests decided by their due time"
    priorities = list(CLOCK_HOURS)
    shares = [found[p]["share_within_clock"] for p in priorities]
    svg = charts.horizontal_bar_chart(
        chart_id="within-clock",
        title=title,
        description="Share of the requests decided in the period that were decided by their due time: "
        + ", ".join(f"{p} {found[p]['within_clock']} of {found[p]['decided']}" for p in priorities),
        labels=[f"{p.capitalize()} ({CLOCK_HOURS[p]} h)" for p in priorities],
        values=[share or 0 for share in shares],
        x_label="Share decided by the due time",
        percent=True,
        colours=PRIORITY_COLOURS,
        value_labels=[
            "none decided"
            if s is None
            else f"{charts.percent_label(s)} ({found[p]['within_clock']} of {found[p]['decided']})"
            for p, s in zip(priorities, shares, strict=True)
        ],
    )
    columns = ["Priority", "Clock (h)", "Decided", "By due time", "Share", "Median (h)", "90th percentile (h)"]
    rows = [
        [
            p,
            found[p]["clock_hours"],
            found[p]["decided"],
            found[p]["within_clock"],
            _shown(found[p]["share_within_clock"], percent=True),
            _shown(found[p]["median_hours"]),
            _shown(found[p]["p90_hours"]),
        ]
        for p in priorities
    ]
    return _chart("within-clock", title, svg, columns, rows)


def _hours_chart(figures: dict[str, Any]) -> dict[str, Any]:
    found = figures["time_to_decision"]
    title = "Hours from receipt to decision"
    series = {p.capitalize(): found[p]["histogram"] for p in CLOCK_HOURS}
    svg = charts.stacked_bar_chart(
        chart_id="decision-hours",
        title=title,
        description="How many requests decided in the period took each number of hours, expedited and standard.",
        labels=found["bins"],
        series=series,
        x_label="Hours from receipt to decision",
        y_label="Requests",
        colours=PRIORITY_COLOURS,
    )
    expedited, standard = series.values()
    rows = [[b, e, s, e + s] for b, e, s in zip(found["bins"], expedited, standard, strict=True)]
    return _chart("decision-hours", title, svg, ["Hours", "Expedited", "Standard", "All"], rows)


def _reviewer_chart(figures: dict[str, Any]) -> dict[str, Any]:
    reviewers = figures["reviewers"]
    title = "Decisions per reviewer"
    svg = charts.horizontal_bar_chart(
        chart_id="reviewers",
        title=title,
        description="Reviewer actions in the period (approvals, denials, escalations, requests for information, "
        "peer-to-peer and appeal results); "
        + (", ".join(f"{r['reviewer']}: {r['decisions']}" for r in reviewers) or "none"),
        labels=[r["reviewer"] for r in reviewers],
        values=[r["decisions"] for r in reviewers],
        x_label="Decisions",
        colours=(charts.PALETTE[5],),
    )
    actions = [a for a in team_metrics.DECISIONS if any(a in r["by_action"] for r in reviewers)]
    rows = [
        [r["reviewer"], r["role"].replace("_", " ")] + [r["by_action"].get(a, 0) for a in actions] + [r["decisions"]]
        for r in reviewers
    ]
    columns = ["Reviewer", "Role", *(a.capitalize() for a in actions), "All"]
    return _chart("reviewers", title, svg, columns, rows)
