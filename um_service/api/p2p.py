"""Staff routes for peer-to-peer reviews (JSON under /um): medical directors publish and withdraw their availability,
nurses and directors book a case into a free slot, move or cancel it, the director records the result, and each
director has a day list. Times are answered in UTC and in the slot's own time zone."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from ..case.lifecycle import MEDICAL_DIRECTOR
from ..db.models import P2PSlot
from ..errors import Unprocessable
from ..review import availability, p2p
from ..review.availability import SlotTime
from .deps import ActorDep, ContextDep, LockedCaseDep, SessionDep
from .review import ApprovalIn, case_details, item_approvals

router = APIRouter(prefix="/um", tags=["UM peer-to-peer"])

_CASE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The actor's role may not take this action"},
    404: {"description": "No such case or slot"},
    409: {"description": "Not allowed from the case's current state, or the slot is not free (just booked)"},
    422: {"description": "Missing or invalid input"},
}


class SlotIn(BaseModel):
    """A time a medical director offers: start and end with their UTC offset, and the IANA time zone it is shown in."""

    start: AwareDatetime
    end: AwareDatetime
    time_zone: str = Field(min_length=1, max_length=64, examples=["America/Chicago"])


class AvailabilityIn(BaseModel):
    """Slots to publish (each at most 4 hours, none overlapping another of the director's)."""

    slots: list[SlotIn] = Field(min_length=1, max_length=100)


class SlotOut(BaseModel):
    """A slot: its times in UTC and in its own time zone, its director and its status."""

    id: str
    reviewer_id: str
    reviewer_name: str | None = None
    status: str
    time_zone: str
    start: dt.datetime
    end: dt.datetime
    local_start: dt.datetime
    local_end: dt.datetime


class BookedSlotOut(SlotOut):
    """A booked, held or missed slot in a director's day list, with its case and how the provider joins."""

    case_id: str | None
    preauth_ref: str
    contact: str | None
    join: str | None


class BookingIn(BaseModel):
    """A booking: the slot, the provider's person and phone, and how to join (phone bridge, video link)."""

    slot_id: str = Field(min_length=1, max_length=36)
    contact: str = Field(min_length=1, max_length=300)
    join: str = Field(min_length=1, max_length=2000)


class RescheduleIn(BaseModel):
    """The free slot to move the case's booked review to."""

    slot_id: str = Field(min_length=1, max_length=36)


class CancelIn(BaseModel):
    """Why the booked review is cancelled."""

    reason: str = Field(min_length=1)


class P2PResultIn(BaseModel):
    """A peer-to-peer result; overturned approves the denied items named (all denied items when none are); missed
    means the provider did not attend."""

    outcome: Literal["overturned", "upheld", "missed"]
    note: str = ""
    items: list[ApprovalIn] = []


def _slot(slot: P2PSlot, name: str | None = None) -> SlotOut:
    return SlotOut(
        id=slot.id,
        reviewer_id=slot.reviewer_id,
        reviewer_name=name,
        status=slot.status,
        time_zone=slot.time_zone,
        start=slot.starts_at,
        end=slot.ends_at,
        local_start=availability.local(slot.starts_at, slot.time_zone),
        local_end=availability.local(slot.ends_at, slot.time_zone),
    )


@router.post(
    "/availability",
    status_code=201,
    responses={409: {"description": "A slot overlaps another"}, 422: {"description": "An invalid slot"}},
)
def publish_availability(
    body: AvailabilityIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> list[SlotOut]:
    """Publish the calling medical director's free slots for peer-to-peer reviews."""
    times = [SlotTime(s.start, s.end, s.time_zone) for s in body.slots]
    return [_slot(s) for s in availability.publish(session, director=actor.id, times=times, now=context.now)]


@router.get("/availability", responses={422: {"description": "A time without its UTC offset"}})
def list_availability(
    session: SessionDep,
    context: ContextDep,
    reviewer: Annotated[str | None, Query(max_length=100)] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> list[SlotOut]:
    """Free slots starting in [from, to) (from: now), of one medical director or all, earliest first."""
    rows = availability.free_slots(session, reviewer=reviewer, start=start or context.now, end=end)
    return [_slot(slot, name) for slot, name in rows]


@router.delete(
    "/availability/{slot_id}",
    responses={
        403: {"description": "Another director's slot"},
        404: {"description": "No such slot"},
        409: {"description": "The slot is booked"},
    },
)
def withdraw_slot(slot_id: str, session: SessionDep, actor: ActorDep) -> SlotOut:
    """Withdraw one of the calling medical director's free slots (a booked one must be moved or cancelled first)."""
    return _slot(availability.withdraw(session, slot_id=slot_id, director=actor.id))


@router.get("/p2p", responses={422: {"description": "No reviewer named"}})
def p2p_day(
    session: SessionDep,
    actor: ActorDep,
    date: dt.date,
    reviewer: Annotated[str | None, Query(max_length=100)] = None,
) -> list[BookedSlotOut]:
    """A medical director's booked, held and missed peer-to-peer reviews on a date of their slots' time zones
    (a director's own when no reviewer is named)."""
    if reviewer is None and actor.role != MEDICAL_DIRECTOR:
        raise Unprocessable("name the medical director (reviewer=)", "reviewer")
    rows = availability.day_list(session, reviewer=reviewer or actor.id, day=date)
    return [
        BookedSlotOut(
            **_slot(slot).model_dump(),
            case_id=slot.case_id,
            preauth_ref=ref,
            contact=slot.contact,
            join=slot.join_instructions,
        )
        for slot, ref in rows
    ]


@router.post("/cases/{case_id}/p2p", responses=_CASE_ERRORS)
def schedule_p2p(
    case: LockedCaseDep, body: BookingIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Book a free slot for the case's peer-to-peer review (a nurse on a medical director's behalf, or the director)."""
    booking = p2p.Booking(body.contact, body.join)
    p2p.book(session, case=case, actor=actor, slot_id=body.slot_id, booking=booking, context=context)
    return case_details(session, case, context)


@router.post("/cases/{case_id}/p2p/reschedule", responses=_CASE_ERRORS)
def reschedule_p2p(
    case: LockedCaseDep, body: RescheduleIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Move the case's booked peer-to-peer review to another free slot; the old slot is free again."""
    p2p.reschedule(session, case=case, actor=actor, slot_id=body.slot_id, context=context)
    return case_details(session, case, context)


@router.post("/cases/{case_id}/p2p/cancel", responses=_CASE_ERRORS)
def cancel_p2p(
    case: LockedCaseDep, body: CancelIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Cancel the case's booked peer-to-peer review; the case returns to the state it was booked from."""
    p2p.cancel(session, case=case, actor=actor, reason=body.reason, context=context)
    return case_details(session, case, context)


@router.post("/cases/{case_id}/p2p/result", responses=_CASE_ERRORS)
def record_p2p(
    case: LockedCaseDep, body: P2PResultIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Record the peer-to-peer result: upheld, overturned (approving the denied items) or missed by the provider."""
    p2p.record(
        session,
        case=case,
        actor=actor,
        outcome=body.outcome,
        note=body.note,
        approvals=item_approvals(body.items),
        context=context,
    )
    return case_details(session, case, context)
