"""Care-management referrals: a rule may flag an item for a care-management program (with a reason); the case
then appears in the referral list and, when an endpoint is configured (UM_REFERRAL_ENDPOINT), a referral event is
queued in the outbox with the change that decided the item, so it is delivered with the same guarantees as
notifications (retries with back-off, never two workers sending one message).

Referrals follow the rules, not the decision: a pended chemotherapy request is referred as soon as the rule that
pends it applies. One referral per item and program, however often the item is decided again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import repository
from ..db.models import CareReferral, Case, CaseItem, OutboxMessage
from ..decision import RuleSet
from ..fhir.codes import ReviewAction
from . import subscriptions

KIND = "care-management-referral"


def refer(
    session: Session,
    case: Case,
    items: Sequence[CaseItem],
    *,
    rules: RuleSet | None,
    endpoint: str | None,
    headers: Sequence[str],
    now: dt.datetime,
) -> list[CareReferral]:
    """Record (and queue for delivery) the referrals the items' rules ask for that the case does not have yet."""
    if rules is None:
        return []
    wanted = []
    for item in items:
        rule = rules.by_id(item.rule_id) if item.rule_id else None
        if rule is not None and rule.rule.referral is not None and item.review_action != ReviewAction.CANCELLED:
            wanted.append((item, rule.id, rule.rule.referral.program, rule.rule.referral.reason.strip()))
    if not wanted:
        return []
    referred = select(CareReferral.sequence, CareReferral.program).where(CareReferral.case_id == case.id)
    known: set[tuple[int, str]] = {(sequence, program) for sequence, program in session.execute(referred)}
    members = sorted(value for role, _, value in repository.parties_of(session, case.id) if role == "member")
    made = []
    for item, rule_id, program, reason in wanted:
        if (item.sequence, program) in known:
            continue
        referral = CareReferral(
            id=str(uuid.uuid4()),
            case_id=case.id,
            sequence=item.sequence,
            program=program,
            reason=reason,
            rule_id=rule_id,
            member_id=members[0] if members else None,
            created_at=now,
        )
        session.add(referral)
        if endpoint:
            referral.outbox_id = _queue(session, referral, case, item, endpoint, headers, now)
        known.add((item.sequence, program))
        made.append(referral)
    return made


def _queue(
    session: Session,
    referral: CareReferral,
    case: Case,
    item: CaseItem,
    endpoint: str,
    headers: Sequence[str],
    now: dt.datetime,
) -> int:
    message = OutboxMessage(
        subscription_id=None,
        endpoint=endpoint,
        headers=list(headers),
        kind=KIND,
        case_id=case.id,
        body=orjson.dumps(event(referral, case, item)).decode(),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    subscriptions.enqueue(session, message)
    session.flush()
    return message.id


def event(referral: CareReferral, case: Case, item: CaseItem) -> dict[str, Any]:
    """The referral event a care-management system receives (JSON, application/json)."""
    return {
        "type": KIND,
        "id": referral.id,
        "program": referral.program,
        "reason": referral.reason,
        "rule": referral.rule_id,
        "member_id": referral.member_id,
        "case": {
            "id": case.id,
            "preauth_ref": case.preauth_ref,
            "review_type": case.review_type,
            "line_of_business": case.line_of_business,
            "admitted_on": case.admitted_on,
        },
        "item": {
            "sequence": item.sequence,
            "service": {"system": item.product_system, "code": item.product_code},
            "review_action": str(item.review_action),
        },
        "referred_at": referral.created_at.isoformat(),
    }


def listing(session: Session, *, program: str | None, limit: int) -> list[dict[str, Any]]:
    """Referrals, newest first, with their case and how delivery stands."""
    statement = (
        select(CareReferral, Case.preauth_ref, Case.status, Case.review_type, OutboxMessage.status)
        .join(Case, Case.id == CareReferral.case_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == CareReferral.outbox_id)
        .order_by(CareReferral.created_at.desc(), CareReferral.id)
        .limit(limit)
    )
    if program:
        statement = statement.where(CareReferral.program == program)
    return [
        {
            "id": referral.id,
            "case_id": referral.case_id,
            "preauth_ref": preauth_ref,
            "case_status": status,
            "review_type": review_type,
            "sequence": referral.sequence,
            "program": referral.program,
            "reason": referral.reason,
            "rule_id": referral.rule_id,
            "member_id": referral.member_id,
            "referred_at": referral.created_at,
            "delivery": delivery or "no endpoint configured",
        }
        for referral, preauth_ref, status, review_type, delivery in session.execute(statement)
    ]
