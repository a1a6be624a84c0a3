"""Peer-to-peer reviews of a case, booked into a medical director's published slot (review.availability): booked,
moved to another slot, cancelled, and their result (upheld, overturned, or missed when the provider did not attend).

Each is a change of the case through the lifecycle, which publishes the new ClaimResponse (its processNote tells the
provider when and how to join). A slot is taken with one conditional UPDATE, so of two bookings of one slot exactly
one wins whichever cases they lock. The slot keeps the state its case was booked from; a cancelled or missed review
sends the case back there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from ..case import lifecycle
from ..case.lifecycle import MEDICAL_DIRECTOR, Action, Actor
from ..case.status import CaseStatus
from ..context import RequestContext
from ..db.models import Case, P2PSlot, Reviewer
from ..errors import Conflict, NotFound, Unprocessable
from ..fhir.codes import ReviewAction
from . import availability
from .actions import ItemApproval, overturn
from .availability import BOOKED, FREE, HELD, MISSED


@dataclass(frozen=True)
class Booking:
    """Who to call at the provider's (person and phone) and how to join (phone bridge or video link)."""

    contact: str
    join: str


def book(
    session: Session, *, case: Case, actor: Actor, slot_id: str, booking: Booking, context: RequestContext
) -> P2PSlot:
    """Book a free slot for the case's peer-to-peer review; the case passes to the slot's medical director."""
    if not booking.contact.strip() or not booking.join.strip():
        raise Unprocessable("a peer-to-peer booking names the provider's contact and how to join")
    change = lifecycle.begin(session, case=case, action=Action.SCHEDULE_P2P, actor=actor)
    before = CaseStatus(case.status).value
    slot = _claim(session, case=case, slot_id=slot_id, booking=booking, returns_to=before, actor=actor, context=context)
    change.detail.update(_detail(slot))
    reason = f"Peer-to-peer review with {booking.contact} booked for {availability.describe(slot)}."
    lifecycle.finish(session, change, reason=reason, context=context)
    return slot


def reschedule(session: Session, *, case: Case, actor: Actor, slot_id: str, context: RequestContext) -> P2PSlot:
    """Move the case's booked review to another free slot and free the one it had, in one change."""
    change = lifecycle.begin(session, case=case, action=Action.RESCHEDULE_P2P, actor=actor)
    old = _booked(session, case)
    booking = Booking(old.contact or "", old.join_instructions or "")
    assert old.returns_to is not None  # every booking stores it (_claim)
    slot = _claim(
        session, case=case, slot_id=slot_id, booking=booking, returns_to=old.returns_to, actor=actor, context=context
    )
    _free(old)
    session.flush()  # the answer published next reads the case's booked slot: the new one only
    change.detail.update({**_detail(slot), "previous_slot_id": old.id})
    reason = f"Peer-to-peer review moved from {availability.describe(old)} to {availability.describe(slot)}."
    lifecycle.finish(session, change, reason=reason, context=context)
    return slot


def cancel(session: Session, *, case: Case, actor: Actor, reason: str, context: RequestContext) -> None:
    """Cancel the case's booked review: its slot is free again and the case returns to the state it was booked from."""
    if not reason.strip():
        raise Unprocessable("a cancelled peer-to-peer review states why")
    change = lifecycle.begin(session, case=case, action=Action.CANCEL_P2P, actor=actor)
    slot = _booked(session, case)
    change.back_to = _returns_to(slot)
    change.detail.update({"slot_id": slot.id, "returned_to": change.back_to.value})
    when = availability.describe(slot)
    _free(slot)
    case.p2p_at = None
    case.p2p_contact = None
    lifecycle.finish(session, change, reason=f"Peer-to-peer review of {when} cancelled: {reason}", context=context)


def record(
    session: Session,
    *,
    case: Case,
    actor: Actor,
    outcome: str,
    note: str,
    approvals: list[ItemApproval],
    context: RequestContext,
) -> None:
    """Record a peer-to-peer review's result: upheld, overturned (approving the denied items named, or all denied
    ones), or missed (the provider did not attend; the case returns to the state it was booked from)."""
    if outcome == "missed":
        _missed(session, case=case, actor=actor, note=note, context=context)
        return
    action = Action.P2P_OVERTURNED if outcome == "overturned" else Action.P2P_UPHELD
    change = lifecycle.begin(session, case=case, action=action, actor=actor)
    slot = _booked_slot(session, case)  # a review scheduled before slots existed has none
    if slot is not None:
        slot.status = HELD
        change.detail["slot_id"] = slot.id
    if action is Action.P2P_UPHELD:
        lifecycle.finish(session, change, reason=f"Decision upheld. {note}".strip(), context=context)
        return
    denied = [i for i in change.items.values() if i.review_action == ReviewAction.NOT_CERTIFIED]
    decided = overturn(change, approvals or [ItemApproval(i.sequence) for i in denied], actor, note, context)
    overturned_items = ", ".join(f"item {s} {c}" for s, c in decided.items())
    reason = f"Peer-to-peer review overturned the denial: {overturned_items}. {note}".strip()
    lifecycle.finish(session, change, reason=reason, context=context)


def _missed(session: Session, *, case: Case, actor: Actor, note: str, context: RequestContext) -> None:
    change = lifecycle.begin(session, case=case, action=Action.P2P_MISSED, actor=actor)
    slot = _booked(session, case)
    if slot.starts_at > context.now:
        raise Conflict(f"the peer-to-peer review starts {availability.describe(slot)}; it cannot be missed yet")
    slot.status = MISSED
    change.back_to = _returns_to(slot)
    change.detail.update({"slot_id": slot.id, "outcome": "missed", "returned_to": change.back_to.value})
    case.p2p_at = None
    case.p2p_contact = None
    reason = f"The provider did not attend the peer-to-peer review of {availability.describe(slot)}. {note}".strip()
    lifecycle.finish(session, change, reason=reason, context=context)


def _claim(
    session: Session,
    *,
    case: Case,
    slot_id: str,
    booking: Booking,
    returns_to: str,
    actor: Actor,
    context: RequestContext,
) -> P2PSlot:
    """Take a free slot for the case with one conditional UPDATE (409 when another booking took it first) and hand
    the case to the slot's director."""
    slot = session.get(P2PSlot, slot_id)
    if slot is None or slot.status == availability.CANCELLED:
        raise NotFound(f"slot {slot_id} not found")
    if slot.status != FREE:
        raise Conflict(f"slot {slot_id} is {slot.status}; choose a free one")
    if slot.starts_at <= context.now:
        raise Conflict(f"slot {slot_id} has already begun; choose a later one")
    _check_director(session, case, slot)
    statement = (
        update(P2PSlot)
        .where(P2PSlot.id == slot_id, P2PSlot.case_id.is_(None), P2PSlot.status == FREE)
        .values(
            case_id=case.id,
            status=BOOKED,
            returns_to=returns_to,
            contact=booking.contact,
            join_instructions=booking.join,
            booked_by=actor.id,
            booked_at=context.now,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult[Any], session.execute(statement))
    if claimed.rowcount == 0:
        raise Conflict("that slot was just booked; choose another")
    session.refresh(slot)
    if case.assignee != slot.reviewer_id:
        case.assignee = slot.reviewer_id
        case.assigned_at = context.now
    # The work list shows these (they predate slots).
    case.p2p_at = slot.starts_at
    case.p2p_contact = booking.contact
    return slot


def _check_director(session: Session, case: Case, slot: P2PSlot) -> None:
    """A case a medical director holds is discussed by that director: only their slots may be booked for it."""
    holder = session.get(Reviewer, case.assignee) if case.assignee else None
    if holder is not None and holder.role == MEDICAL_DIRECTOR and holder.id != slot.reviewer_id:
        raise Conflict(f"the case is held by {holder.id}; book one of their slots")


def _booked_slot(session: Session, case: Case) -> P2PSlot | None:
    """The slot booked for the case, locked."""
    return session.scalars(
        select(P2PSlot).where(P2PSlot.case_id == case.id, P2PSlot.status == BOOKED).with_for_update()
    ).first()


def _booked(session: Session, case: Case) -> P2PSlot:
    """The slot booked for the case, locked (409 for a review scheduled before slots existed, which has none)."""
    slot = _booked_slot(session, case)
    if slot is None:
        raise Conflict("the case's peer-to-peer review has no booked slot")
    return slot


def _free(slot: P2PSlot) -> None:
    slot.status = FREE
    slot.case_id = None
    slot.returns_to = None
    slot.contact = None
    slot.join_instructions = None
    slot.booked_by = None
    slot.booked_at = None


def _returns_to(slot: P2PSlot) -> CaseStatus:
    assert slot.returns_to is not None  # every booking stores it (_claim)
    return CaseStatus(slot.returns_to)


def _detail(slot: P2PSlot) -> dict[str, str | None]:
    return {
        "slot_id": slot.id,
        "director": slot.reviewer_id,
        "at": slot.starts_at.isoformat(),
        "time_zone": slot.time_zone,
        "contact": slot.contact,
        "join": slot.join_instructions,
        "from": slot.returns_to,
    }
