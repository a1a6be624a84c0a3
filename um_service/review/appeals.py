"""Appeals of denials: recorded by staff from the appeal the provider sent, decided by a medical director; an
approved appeal certifies the appealed items and publishes the new answer (through the case lifecycle)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from ..case import lifecycle
from ..case.lifecycle import Action, Actor
from ..context import RequestContext
from ..db import repository
from ..db.models import Appeal, Case
from ..errors import Conflict, NotFound, Unprocessable
from ..fhir.codes import ReviewAction
from .actions import ItemApproval, overturn


def file_appeal(
    session: Session, *, case: Case, actor: Actor, sequences: list[int], reason: str, context: RequestContext
) -> Appeal:
    """Record the provider's appeal of denied items."""
    if not reason.strip():
        raise Unprocessable("an appeal states its reason")
    change = lifecycle.begin(session, case=case, action=Action.APPEAL, actor=actor)
    for sequence in sequences:
        item = change.items.get(sequence)
        if item is None or item.review_action != ReviewAction.NOT_CERTIFIED:
            raise Conflict(f"item {sequence} is not denied; only denials are appealed")
    appeal = Appeal(
        id=str(uuid.uuid4()),
        case_id=case.id,
        sequences=list(sequences),
        reason=reason,
        filed_at=context.now,
        filed_by=actor.id,
        outcome="pending",
    )
    session.add(appeal)
    change.detail.update({"appeal_id": appeal.id, "items": sequences})
    lifecycle.finish(session, change, reason=reason, context=context)
    return appeal


def decide_appeal(
    session: Session, *, appeal_id: str, actor: Actor, approved: bool, note: str, context: RequestContext
) -> Appeal:
    """Decide an appeal (medical directors): approving it certifies the appealed items."""
    appeal = session.get(Appeal, appeal_id, with_for_update=True)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} not found")
    if appeal.outcome != "pending":
        raise Conflict(f"appeal {appeal_id} was already decided ({appeal.outcome})")
    case = repository.get_case(session, appeal.case_id, lock=True)
    assert case is not None  # an appeal's case is never deleted (foreign key)
    action = Action.APPEAL_APPROVED if approved else Action.APPEAL_UPHELD
    change = lifecycle.begin(session, case=case, action=action, actor=actor)
    appeal.outcome = "approved" if approved else "upheld"
    appeal.decided_at = context.now
    appeal.decided_by = actor.id
    appeal.note = note
    change.detail["appeal_id"] = appeal.id
    if not approved:
        lifecycle.finish(session, change, reason=f"Denial upheld on appeal. {note}".strip(), context=context)
        return appeal
    still_denied = [seq for seq in appeal.sequences if change.items[seq].review_action == ReviewAction.NOT_CERTIFIED]
    overturn(change, [ItemApproval(seq) for seq in still_denied], actor, note, context)
    lifecycle.finish(session, change, reason=f"Approved on appeal. {note}".strip(), context=context)
    return appeal
