"""CMS-0057-F public prior-authorization metrics, computed from the case history (audit trail and appeals), never
from counters kept aside.

Definitions (each figure carries its numerator and denominator):
- A request is a case; its **determination** is the first audit event that left it approved, not_required or
  decided, and the figures count requests whose determination falls in [start, end) for the entity (line of
  business; all when none is given). Requests cancelled before a determination are not counted; requests whose
  items all needed no authorization (X12 NA) are not prior-authorization decisions and are not counted either.
- At determination, a request is **approved** when every item still asked for was certified (A1), **denied**
  when every one was not certified (A3), and otherwise **partial** (some modified A6 or a mix). Partial requests
  count as approved, as denied, or in neither numerator, by `partial_as` ("approved" by default).
- **Administrative denials** (intake: coverage not in effect on the service date, a service the plan excludes) are
  denials: CMS-0057-F asks for the share of requests denied, whatever the reason, so they count in
  `standard_denied` / `expedited_denied` like a medical director's. `denied_administratively` says how many of
  the denied requests (per priority) were denied administratively only, so the two can be told apart.
- **Approved after appeal**: appeals decided in the period; numerator those approved, denominator all decided.
- **Extended, then approved**: determined requests whose review time was extended before the determination and that
  were approved, over all determined requests.
- **Time to determination**: from receipt to determination, in hours, average and median, per priority.
- **Retrospective reviews** (every service date before receipt: the service was given already) are not prior
  authorization decisions and are left out of every figure and of the appeals; `retrospective_reviews_excluded` says
  how many such requests were decided in the period (case/review_types.py).
- **Concurrent reviews** (inpatient admissions) are prior authorization decisions: an admission counts once, at its
  initial determination (the first days authorized, or pended to a nurse and then decided); continued-stay updates
  decided later are not new requests. `determinations_by_review_type` splits the counted requests.
- **Items and services requiring prior authorization**: every service the rule pack covers with an outcome other
  than `not_required`, as code lists, ranges and value sets with the rules' descriptions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..case.review_types import RETROSPECTIVE
from ..db.models import Appeal, AuditEvent, Case
from ..decision import RuleSet

FINAL = frozenset({"approved", "not_required", "decided"})
PartialAs = Literal["approved", "denied", "neither"]


@dataclass(frozen=True)
class Figure:
    """One public figure."""

    key: str
    title: str
    value: float | None
    numerator: float
    denominator: float
    unit: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "key": self.key,
            "title": self.title,
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class _Determined:
    priority: str
    outcome: str  # approved | denied | partial | not_required
    hours: float
    extended: bool
    administrative: bool = False
    review_type: str = "prospective"


def _percent(key: str, title: str, numerator: int, denominator: int) -> Figure:
    value = round(100 * numerator / denominator, 2) if denominator else None
    return Figure(key, title, value, numerator, denominator, "percent")


def _classify(actions: Iterable[str]) -> str:
    live = [a for a in actions if a not in ("C",)]
    decided = [a for a in live if a != "NA"]
    if not decided:
        return "not_required"
    if all(a == "A1" for a in decided):
        return "approved"
    if all(a == "A3" for a in decided):
        return "denied"
    return "partial"


def _determinations(session: Session, *, start: dt.datetime, end: dt.datetime, entity: str | None) -> list[_Determined]:
    statement = (
        select(
            AuditEvent.case_id,
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.detail,
            Case.priority,
            Case.received_at,
            Case.review_type,
        )
        .join(Case, Case.id == AuditEvent.case_id)
        .where(Case.received_at < end, Case.review_type != RETROSPECTIVE)
        # A case's decided_at is set once, in the change whose audit event first leaves it final
        # (case/lifecycle.py `finish`): a determination in the period is a case decided in the period. Only those
        # cases' events are read, so the report scans its period and not all history (ix_cases_decided_at).
        .where(Case.decided_at >= start, Case.decided_at < end)
        .order_by(AuditEvent.case_id, AuditEvent.id)
    )
    if entity:
        statement = statement.where(Case.line_of_business == entity)
    found = []
    current, done, extended = None, False, False
    for case_id, at, action, detail, priority, received, review_type in session.execute(statement):
        if case_id != current:
            current, done, extended = case_id, False, False
        if done:
            continue
        if action == "extended":
            extended = True
        status = detail.get("status")
        if status in FINAL:
            done = True
            if start <= at < end:
                actions = detail.get("item_actions", {})
                outcome = _classify(actions.values())
                denied = {seq for seq, action in actions.items() if action == "A3"}
                administrative = outcome == "denied" and denied <= set(detail.get("administrative_items", ()))
                hours = (at - received).total_seconds() / 3600
                found.append(_Determined(priority, outcome, hours, extended, administrative, review_type))
        elif status == "cancelled":
            done = True
    return found


def _retrospective(session: Session, *, start: dt.datetime, end: dt.datetime, entity: str | None) -> int:
    statement = select(func.count()).where(
        Case.review_type == RETROSPECTIVE, Case.decided_at >= start, Case.decided_at < end
    )
    if entity:
        statement = statement.where(Case.line_of_business == entity)
    return int(session.scalar(statement) or 0)


def cms_0057(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    entity: str | None,
    rules: RuleSet,
    partial_as: PartialAs = "approved",
) -> dict[str, Any]:
    """The nine CMS-0057-F figures for a period and reporting entity."""
    determined = [
        d for d in _determinations(session, start=start, end=end, entity=entity) if d.outcome != "not_required"
    ]

    def counts(priority: str) -> tuple[int, int, int]:
        group = [d for d in determined if d.priority == priority]
        approved = sum(d.outcome == "approved" or (d.outcome == "partial" and partial_as == "approved") for d in group)
        denied = sum(d.outcome == "denied" or (d.outcome == "partial" and partial_as == "denied") for d in group)
        return approved, denied, len(group)

    standard_approved, standard_denied, standard = counts("standard")
    expedited_approved, expedited_denied, expedited = counts("expedited")
    appeals = (
        select(Appeal)
        .join(Case, Case.id == Appeal.case_id)
        .where(Appeal.decided_at >= start, Appeal.decided_at < end, Appeal.outcome != "pending")
        .where(Case.review_type != RETROSPECTIVE)
    )
    if entity:
        appeals = appeals.where(Case.line_of_business == entity)
    decided_appeals = list(session.scalars(appeals))
    extended_approved = sum(
        d.extended and d.outcome in ("approved",) + (("partial",) if partial_as == "approved" else ())
        for d in determined
    )
    figures = [
        _percent("standard_approved", "Standard requests approved", standard_approved, standard),
        _percent("standard_denied", "Standard requests denied", standard_denied, standard),
        _percent(
            "approved_after_appeal",
            "Requests approved after appeal",
            sum(a.outcome == "approved" for a in decided_appeals),
            len(decided_appeals),
        ),
        _percent(
            "extended_then_approved",
            "Requests whose review time was extended, then approved",
            extended_approved,
            len(determined),
        ),
        _percent("expedited_approved", "Expedited requests approved", expedited_approved, expedited),
        _percent("expedited_denied", "Expedited requests denied", expedited_denied, expedited),
    ]
    for priority in ("standard", "expedited"):
        hours = [d.hours for d in determined if d.priority == priority]
        figures.append(
            Figure(
                f"{priority}_hours_average",
                f"Average time to determination, {priority} (hours)",
                round(statistics.fmean(hours), 2) if hours else None,
                round(sum(hours), 4),
                len(hours),
                "hours",
            )
        )
        figures.append(
            Figure(
                f"{priority}_hours_median",
                f"Median time to determination, {priority} (hours)",
                round(statistics.median(hours), 2) if hours else None,
                round(statistics.median(hours), 4) if hours else 0,
                len(hours),
                "hours",
            )
        )
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "entity": entity or "all",
        "partial_approvals_counted_as": partial_as,
        "denied_administratively": {
            priority: sum(d.administrative for d in determined if d.priority == priority)
            for priority in ("standard", "expedited")
        },
        "retrospective_reviews_excluded": _retrospective(session, start=start, end=end, entity=entity),
        "determinations_by_review_type": {
            kind: sum(d.review_type == kind for d in determined) for kind in ("prospective", "concurrent")
        },
        "services_requiring_prior_authorization": services_requiring_authorization(rules),
        "figures": [f.as_dict() for f in figures],
    }


def services_requiring_authorization(rules: RuleSet) -> list[dict[str, Any]]:
    """Every service a rule covers with an outcome other than not_required (the public list)."""
    listed = []
    for compiled in rules.rules:
        rule = compiled.rule
        if rule.outcome.decision == "not_required":
            continue
        for selector in rule.services:
            entry: dict[str, Any] = {"rule": rule.id, "description": " ".join(rule.description.split())}
            if selector.valueset:
                valueset = rules.valuesets[selector.valueset]
                entry["valueset"] = selector.valueset
                entry["codes"] = [
                    {
                        "system": i.system,
                        "codes": list(i.codes),
                        "range": i.range.model_dump(by_alias=True) if i.range else None,
                    }
                    for i in valueset.include
                ]
            else:
                entry["codes"] = [
                    {
                        "system": selector.system,
                        "codes": list(selector.codes),
                        "range": selector.range.model_dump(by_alias=True) if selector.range else None,
                    }
                ]
            listed.append(entry)
    return listed


def as_csv(report: dict[str, Any]) -> str:
    """The figures as CSV (one row per figure)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["key", "title", "value", "numerator", "denominator", "unit", "period_from", "period_to", "entity"])
    for f in report["figures"]:
        writer.writerow(
            [
                f["key"],
                f["title"],
                f["value"],
                f["numerator"],
                f["denominator"],
                f["unit"],
                report["period"]["from"],
                report["period"]["to"],
                report["entity"],
            ]
        )
    return out.getvalue()


def as_xlsx(report: dict[str, Any]) -> bytes:
    """A workbook: the figures, and the services requiring prior authorization."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(row: list[Any]) -> list[Any]:
        # Worksheets refuse control characters; a report must not fail on an odd entity name.
        return [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "CMS-0057-F figures"
    sheet.append(clean(["Period", report["period"]["from"], report["period"]["to"], "Entity", report["entity"]]))
    sheet.append(["key", "title", "value", "numerator", "denominator", "unit"])
    for f in report["figures"]:
        sheet.append([f["key"], f["title"], f["value"], f["numerator"], f["denominator"], f["unit"]])
    services = book.create_sheet("Requires prior authorization")
    services.append(["rule", "description", "value set", "system", "codes", "range"])
    for entry in report["services_requiring_prior_authorization"]:
        for codes in entry["codes"]:
            span = codes["range"]
            services.append(
                [
                    entry["rule"],
                    entry["description"],
                    entry.get("valueset", ""),
                    codes["system"],
                    ", ".join(codes["codes"]),
                    f"{span['from']}-{span['to']}" if span else "",
                ]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
