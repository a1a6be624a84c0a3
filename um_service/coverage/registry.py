"""The member registry: members and their coverages as the plan's enrollment feeds say, loaded in bulk.

Rows are upserted by member id and by (member id, coverage identifier), so importing the same feed again changes
nothing and a newer feed moves periods forward. Writes are one multi-row statement per batch (insert ... on conflict
do update), in the caller's transaction: a file is stored whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, exists, or_, select, text
from sqlalchemy.orm import Session

from ..db import lasting
from ..db.inserts import insert_for, table_of
from ..db.models import Member, MemberCoverage
from ..fhir.enrollment import CoverageRecord, Feed, MemberRecord

_BATCH = 10_000
_ANALYZE_AFTER = 50_000


@dataclass(frozen=True)
class Imported:
    """What an import stored."""

    members: int
    coverages: int


def store(session: Session, feed: Feed, *, now: dt.datetime) -> Imported:
    """Upsert a feed's members and coverages (a feed with problems must not reach here)."""
    assert not feed.problems, "a feed with problems is stored by nobody"
    members = [
        {"id": m.member_id, "family": m.family, "given": m.given, "birth_date": m.birth_date, "gender": m.gender}
        | {"updated_at": now}
        for m in _last_by_key(feed.members)
    ]
    # vars() of a plain dataclass is its fields; dataclasses.asdict deep-copies and costs 60 us a row.
    coverages = [vars(c) | {"updated_at": now} for c in _last_coverages(feed.coverages)]
    _upsert(session, table_of(Member), members, keys=("id",))
    _upsert(session, table_of(MemberCoverage), coverages, keys=("member_id", "coverage_key"))
    if len(coverages) >= _ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # A bulk load changes the tables' size by orders of magnitude: refresh the planner's statistics now rather
        # than when autovacuum gets to it, so intake's lookup keeps its index plan.
        session.execute(text("ANALYZE members, member_coverages"))
    return Imported(len(members), len(coverages))


def _last_by_key(members: Sequence[MemberRecord]) -> list[MemberRecord]:
    return list({m.member_id: m for m in members}.values())


def _last_coverages(coverages: Sequence[CoverageRecord]) -> list[CoverageRecord]:
    return list({(c.member_id, c.coverage_key): c for c in coverages}.values())


def _upsert(session: Session, table: Table, rows: list[dict[str, Any]], *, keys: tuple[str, ...]) -> None:
    if not rows:
        return
    insert = insert_for(session, table)
    compared = [c for c in table.columns if c.name not in keys and c.name != "updated_at"]
    changed = {c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys}
    # A row the feed repeats unchanged is left alone (its updated_at too): re-importing changes nothing.
    differs = or_(*[c.is_distinct_from(insert.excluded[c.name]) for c in compared])
    statement = insert.on_conflict_do_update(index_elements=list(keys), set_=changed, where=differs)
    for start in range(0, len(rows), _BATCH):
        # One compiled statement, executed for many rows (the drivers batch them).
        session.execute(statement, rows[start : start + _BATCH])


def has_members(session: Session) -> bool:
    """Whether the registry holds anyone (an empty registry means eligibility is not checked by default)."""
    # Members are never deleted: once the registry holds someone, this worker stops asking (db/lasting.py).
    return lasting.holds(session, "members", lambda: bool(session.connection().scalar(_ANY_MEMBER)))


_ANY_MEMBER = select(exists().select_from(Member))  # built once: asked by every request until someone is registered


def coverages_of(session: Session, member_ids: Iterable[str]) -> tuple[str | None, list[MemberCoverage]]:
    """The first registered member among these ids and their coverages (None, [] when none is registered).

    One statement (members left-joined to their coverages, both by primary key): intake pays one round trip.
    """
    ids = sorted(set(member_ids))
    if not ids:
        return None, []
    rows = session.execute(
        select(Member.id, MemberCoverage)
        .outerjoin(MemberCoverage, MemberCoverage.member_id == Member.id)
        .where(Member.id.in_(ids))
        .order_by(Member.id, MemberCoverage.start)
    ).all()
    if not rows:
        return None, []
    found = rows[0][0]
    return found, [coverage for member_id, coverage in rows if member_id == found and coverage is not None]


def member_view(session: Session, member_id: str) -> dict[str, Any] | None:
    """A member and their coverages, as staff read them."""
    member = session.get(Member, member_id)
    if member is None:
        return None
    _, coverages = coverages_of(session, [member_id])
    return {
        "id": member.id,
        "name": " ".join(p for p in (member.given, member.family) if p) or None,
        "birth_date": member.birth_date,
        "gender": member.gender,
        "coverages": [
            {
                "coverage": c.coverage_key,
                "status": c.status,
                "start": c.start,
                "end": c.end,
                "payor": c.payor,
                "group": c.group_id,
                "plan": c.plan,
                "relationship": c.relationship,
                "type": c.type_code,
            }
            for c in coverages
        ],
    }
