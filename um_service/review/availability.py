"""Peer-to-peer availability: the times medical directors publish for discussing a case with the requesting provider,
each kept in UTC with the IANA time zone it was published in (and is shown in); the free ones that nurses and
directors book from, and a director's day of booked, held and missed reviews. Booking changes a case: review.p2p.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Case, P2PSlot, Reviewer
from ..errors import Conflict, Forbidden, NotFound, Unprocessable

FREE, BOOKED, HELD, MISSED, CANCELLED = "free", "booked", "held", "missed", "cancelled"
LONGEST = dt.timedelta(hours=4)
_DAY_LIST = (BOOKED, HELD, MISSED)


@dataclass(frozen=True)
class SlotTime:
    """A time a director offers: start and end (aware datetimes) and the IANA time zone it is shown in."""

    start: dt.datetime
    end: dt.datetime
    time_zone: str


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name` (422 when there is none)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Unprocessable(f"{name!r} is not an IANA time zone (such as America/Chicago)") from exc


def local(moment: dt.datetime, time_zone: str) -> dt.datetime:
    """`moment` as the clock reads in `time_zone`."""
    return moment.astimezone(ZoneInfo(time_zone))


def describe(slot: P2PSlot) -> str:
    """The slot's start for people: its own time zone first, then UTC ("2026-11-26 10:00 America/Chicago (16:00
    UTC)"; the UTC date too when it differs)."""
    here = local(slot.starts_at, slot.time_zone)
    utc = slot.starts_at.astimezone(dt.UTC)
    utc_text = f"{utc:%H:%M}" if utc.date() == here.date() else f"{utc:%Y-%m-%d %H:%M}"
    return f"{here:%Y-%m-%d %H:%M} {slot.time_zone} ({utc_text} UTC)"


def publish(session: Session, *, director: str, times: Sequence[SlotTime], now: dt.datetime) -> list[P2PSlot]:
    """Publish a director's free slots: each in the future, ending after it starts, at most four hours long, and
    overlapping none of the director's other slots (409)."""
    for time in times:
        _check(time, now)
    ordered = sorted(times, key=lambda t: t.start)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise Conflict(f"the slots starting {before.start.isoformat()} and {after.start.isoformat()} overlap")
    # The director's row lock queues two publications of theirs, so neither misses the other's slots.
    session.get(Reviewer, director, with_for_update=True)
    slots = []
    for time in ordered:
        clash = session.scalars(
            select(P2PSlot).where(
                P2PSlot.reviewer_id == director,
                P2PSlot.status != CANCELLED,
                P2PSlot.starts_at < time.end,
                P2PSlot.ends_at > time.start,
            )
        ).first()
        if clash is not None:
            raise Conflict(f"the slot starting {time.start.isoformat()} overlaps your slot {describe(clash)}")
        slot = P2PSlot(
            id=str(uuid.uuid4()),
            reviewer_id=director,
            starts_at=time.start.astimezone(dt.UTC),
            ends_at=time.end.astimezone(dt.UTC),
            time_zone=time.time_zone,
            status=FREE,
            published_at=now,
        )
        session.add(slot)
        slots.append(slot)
    session.flush()
    return slots


def _check(time: SlotTime, now: dt.datetime) -> None:
    zone(time.time_zone)
    if time.start.tzinfo is None or time.end.tzinfo is None:
        raise Unprocessable("a slot's start and end carry their UTC offset")
    if time.end <= time.start:
        raise Unprocessable(f"the slot starting {time.start.isoformat()} must end after it starts")
    if time.end - time.start > LONGEST:
        raise Unprocessable(f"the slot starting {time.start.isoformat()} is longer than 4 hours")
    if time.start <= now:
        raise Unprocessable(f"the slot starting {time.start.isoformat()} is not in the future")


def withdraw(session: Session, *, slot_id: str, director: str) -> P2PSlot:
    """Withdraw one of the director's free slots (409 once it is booked: reschedule or cancel that review first)."""
    slot = session.get(P2PSlot, slot_id, with_for_update=True)
    if slot is None or slot.status == CANCELLED:
        raise NotFound(f"slot {slot_id} not found")
    if slot.reviewer_id != director:
        raise Forbidden(f"slot {slot_id} is {slot.reviewer_id}'s; a director withdraws only their own")
    if slot.status != FREE:
        raise Conflict(f"slot {slot_id} is {slot.status}; reschedule or cancel its peer-to-peer review first")
    slot.status = CANCELLED
    return slot


def free_slots(
    session: Session, *, reviewer: str | None, start: dt.datetime, end: dt.datetime | None
) -> list[tuple[P2PSlot, str]]:
    """Free slots starting in [start, end), earliest first, with their director's name."""
    statement = (
        select(P2PSlot, Reviewer.name)
        .join(Reviewer, Reviewer.id == P2PSlot.reviewer_id)
        .where(P2PSlot.status == FREE, P2PSlot.starts_at >= start)
        .order_by(P2PSlot.starts_at, P2PSlot.reviewer_id)
        .limit(500)
    )
    if end is not None:
        statement = statement.where(P2PSlot.starts_at < end)
    if reviewer is not None:
        statement = statement.where(P2PSlot.reviewer_id == reviewer)
    return [(slot, name) for slot, name in session.execute(statement)]


def day_list(session: Session, *, reviewer: str, day: dt.date) -> list[tuple[P2PSlot, str]]:
    """A director's booked, held and missed reviews starting on `day` as each slot's own time zone dates it, with
    the case's reference number."""
    # Every time zone's `day` lies within a day either side of the UTC one; each slot's own zone decides.
    first = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), dt.UTC)
    rows = session.execute(
        select(P2PSlot, Case.preauth_ref)
        .join(Case, Case.id == P2PSlot.case_id)
        .where(
            P2PSlot.reviewer_id == reviewer,
            P2PSlot.status.in_(_DAY_LIST),
            P2PSlot.starts_at >= first,
            P2PSlot.starts_at < first + dt.timedelta(days=3),
        )
        .order_by(P2PSlot.starts_at)
    ).all()
    return [(slot, ref) for slot, ref in rows if local(slot.starts_at, slot.time_zone).date() == day]


def booked_note(session: Session, case_id: str) -> str | None:
    """What the provider is told of the case's booked peer-to-peer review: with whom, when, how to join, and whom
    we will call (None when none is booked)."""
    found = session.execute(
        select(P2PSlot, Reviewer.name)
        .join(Reviewer, Reviewer.id == P2PSlot.reviewer_id)
        .where(P2PSlot.case_id == case_id, P2PSlot.status == BOOKED)
    ).first()
    if found is None:
        return None
    slot, name = found
    join = (slot.join_instructions or "").rstrip(". ")
    contact = (slot.contact or "").rstrip(". ")
    return f"Peer-to-peer discussion with {name} booked for {describe(slot)}. Join: {join}. Contact: {contact}."
