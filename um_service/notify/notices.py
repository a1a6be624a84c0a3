"""Written notices: every denial (clinical or administrative) and every partial approval gets a notice for the provider
and one for the member, issued once per item when the decision is made, rendered as HTML and PDF and kept unchanged.

A notice says, per item: the decision, the specific reason in plain words, the policy or criteria behind it (the rule
and its description), the X12 reason code, what was approved instead if anything; then the appeal rights and the
deadline (APPEAL_DAYS after the notice), how to ask for a peer-to-peer discussion, and whom to contact.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Case, CaseItem, CaseNotice
from ..fhir.codes import ReviewAction
from . import render

APPEAL_DAYS = 60
P2P_DAYS = 14
NOTICED = (ReviewAction.NOT_CERTIFIED, ReviewAction.MODIFIED, ReviewAction.PARTIAL)
AUDIENCES = ("provider", "member")


@dataclass(frozen=True)
class ItemNotice:
    """What a notice says of one item."""

    sequence: int
    service: str
    decision: str
    reason: str
    criteria: str
    x12_reason: str | None
    approved_instead: str | None


@dataclass(frozen=True)
class Notice:
    """The content of one notice."""

    audience: str
    kind: str  # denial | partial
    reference: str
    patient: str
    provider: str
    plan: str
    issued: dt.date
    appeal_by: dt.date
    items: tuple[ItemNotice, ...]
    contact: str
    p2p_days: int = P2P_DAYS


def issue(
    session: Session,
    case: Case,
    items: list[CaseItem],
    *,
    parties: dict[str, str],
    rules: Any,
    contact: str,
    now: dt.datetime,
) -> list[CaseNotice]:
    """Issue the notices a change calls for (items newly denied or partly approved), once per item; the notices."""
    noticed: set[int] = set()
    for sequences in session.scalars(select(CaseNotice.items).where(CaseNotice.case_id == case.id)):
        noticed |= set(sequences)
    new = [i for i in items if i.review_action in NOTICED and i.sequence not in noticed]
    if not new:
        return []
    denied = all(i.review_action == ReviewAction.NOT_CERTIFIED for i in new)
    issued = now.date()
    content = [_item(i, rules) for i in sorted(new, key=lambda i: i.sequence)]
    stored = []
    for audience in AUDIENCES:
        notice = Notice(
            audience=audience,
            kind="denial" if denied else "partial",
            reference=case.preauth_ref,
            patient=parties.get("patient", ""),
            provider=parties.get("provider", ""),
            plan=case.line_of_business or "",
            issued=issued,
            appeal_by=issued + dt.timedelta(days=APPEAL_DAYS),
            items=tuple(content),
            contact=contact,
        )
        row = CaseNotice(
            id=str(uuid.uuid4()),
            case_id=case.id,
            audience=audience,
            kind=notice.kind,
            items=[i.sequence for i in content],
            appeal_by=notice.appeal_by.isoformat(),
            html=render.html(notice),
            pdf=render.pdf(notice),
            issued_at=now,
        )
        session.add(row)
        stored.append(row)
    return stored


def _item(item: CaseItem, rules: Any) -> ItemNotice:
    compiled = rules.by_id(item.rule_id) if rules is not None and item.rule_id else None
    if item.decision_kind == "administrative":
        criteria = "The terms of the member's plan (eligibility and covered benefits)."
    elif compiled is not None:
        criteria = f"Plan criteria {compiled.id}: {' '.join(compiled.rule.description.split())}"
    else:
        criteria = "The plan's medical necessity criteria, applied by a medical director."
    instead = None
    if item.review_action in (ReviewAction.MODIFIED, ReviewAction.PARTIAL):
        parts = []
        if item.authorized_quantity is not None:
            parts.append(f"{item.authorized_quantity:g} unit(s)")
        if item.authorized_start:
            parts.append(f"from {item.authorized_start} to {item.authorized_end}")
        instead = "Approved instead: " + (", ".join(parts) or "part of the request") + "."
    decision = {
        ReviewAction.NOT_CERTIFIED: "Denied",
        ReviewAction.MODIFIED: "Approved with changes",
        ReviewAction.PARTIAL: "Partly approved",
    }[ReviewAction(item.review_action)]
    return ItemNotice(
        sequence=item.sequence,
        service=f"{item.product_code}",
        decision=decision,
        reason=_plain(item.reason or "No reason was recorded."),
        criteria=criteria,
        x12_reason=item.reason_code,
        approved_instead=instead,
    )


def _plain(reason: str) -> str:
    """The reason without the rule id staff see in parentheses at its end."""
    text = reason.strip()
    if text.endswith(")") and " (" in text:
        head, _, tail = text.rpartition(" (")
        if " " not in tail.rstrip(")"):
            return head
    return text
