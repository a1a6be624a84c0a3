"""Who works which case: queues and the skills they need, reviewers and their capacity, offers and `next case`.

A pended case lands in the queue its rule named (queue-based routing) and is offered to an available reviewer
who has every required skill, is licensed in the member's state and has spare capacity, least loaded first
(skill-based routing). A reviewer may also ask for the next case: the most urgent (earliest due) they are
qualified for. Cases are claimed with row locks that skip locked rows, so one case never goes to two reviewers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..case import review_types
from ..case.status import CaseStatus
from ..db.models import Case, CaseItem, Reviewer, WorkQueue, is_open
from ..errors import Conflict
from ..fhir.codes import ReviewAction

NURSE = "nurse"
MEDICAL_DIRECTOR = "medical_director"
ROLES = (NURSE, MEDICAL_DIRECTOR)
# A medical director's queue: escalations land here.
MD_QUEUE = "medical-director-review"
_BATCH = 25


def skills_of(values: list[str] | None) -> set[str]:
    """A list column (skills, states) as a set."""
    return set(values or [])


def open_count(session: Session, reviewer_id: str) -> int:
    """How many undecided cases a reviewer holds."""
    statement = select(func.count()).select_from(Case).where(Case.assignee == reviewer_id, is_open())
    return int(session.scalar(statement) or 0)


def qualified(reviewer: Reviewer, case: Case) -> bool:
    """Whether a reviewer may work this case: role for its stage, every skill, and a licence in the member's state."""
    role = MEDICAL_DIRECTOR if case.status in (CaseStatus.ESCALATED, CaseStatus.IN_MD_REVIEW) else NURSE
    if reviewer.role != role:
        return False
    if not skills_of(case.required_skills) <= skills_of(reviewer.skills):
        return False
    states = skills_of(reviewer.licensed_states)
    return not states or case.member_state is None or case.member_state in states


def place(session: Session, case: Case, items: Iterable[CaseItem]) -> None:
    """Set the case's queue, required skills and review priority from its pended items."""
    pended = [i for i in items if i.review_action == ReviewAction.PENDED]
    if not pended:
        return
    urgent = [i for i in pended if i.review_priority == "urgent"]
    lead = (urgent or pended)[0]
    # A retrospective review (the service already happened) is its own team's work, whatever rule pended it.
    case.queue = review_types.RETROSPECTIVE_QUEUE if case.review_type == review_types.RETROSPECTIVE else lead.queue
    skills: set[str] = set()
    for item in pended:
        skills |= skills_of(item.skills)
    if case.queue:
        queue = session.get(WorkQueue, case.queue)
        if queue is not None:
            skills |= skills_of(queue.skills)
    case.required_skills = sorted(skills)
    if urgent or case.near_breach:
        case.review_priority = "urgent"


def offer(session: Session, case: Case, *, now: dt.datetime) -> Reviewer | None:
    """Assign the case to the least-loaded qualified reviewer with spare capacity, if there is one.

    Writes no audit row: it is part of the change that pended or escalated the case, whose row records it.
    """
    if case.assignee is not None or case.status not in (CaseStatus.PENDED, CaseStatus.ESCALATED):
        return None
    role = MEDICAL_DIRECTOR if case.status == CaseStatus.ESCALATED else NURSE
    candidates = session.scalars(
        select(Reviewer).where(Reviewer.role == role, Reviewer.available.is_(True)).order_by(Reviewer.id)
    )
    ranked = []
    for reviewer in candidates:
        if qualified(reviewer, case):
            load = open_count(session, reviewer.id)
            if load < reviewer.capacity:
                ranked.append((load, reviewer.id, reviewer))
    for _, reviewer_id, _ in sorted(ranked):
        # Lock the reviewer and count again: two cases routed at once must not both take the last slot.
        reviewer = session.scalars(select(Reviewer).where(Reviewer.id == reviewer_id).with_for_update()).one()
        if open_count(session, reviewer.id) < reviewer.capacity:
            # The caller's audit row for this change names the reviewer (one row per change).
            case.assignee = reviewer.id
            case.assigned_at = now
            return reviewer
    return None


def next_case(session: Session, reviewer: Reviewer) -> Case | None:
    """Lock the most urgent case this reviewer is qualified for (earliest due), or None; the caller takes it."""
    if not reviewer.available:
        raise Conflict(f"{reviewer.id} is marked unavailable")
    if open_count(session, reviewer.id) >= reviewer.capacity:
        raise Conflict(f"{reviewer.id} already holds {reviewer.capacity} open cases (capacity)")
    waiting = CaseStatus.ESCALATED if reviewer.role == MEDICAL_DIRECTOR else CaseStatus.PENDED
    queues = [q.name for q in session.scalars(select(WorkQueue)) if skills_of(q.skills) <= skills_of(reviewer.skills)]
    eligible = (
        Case.status == waiting.value,
        or_(Case.assignee.is_(None), Case.assignee == reviewer.id),
        or_(Case.queue.in_(queues), Case.queue.is_(None), Case.required_skills == []),
    )
    offset = 0
    while True:
        # Read candidates without locks, then lock one at a time skipping rows another reviewer is claiming:
        # locking the whole batch would hide every candidate from concurrent callers.
        batch = list(
            session.scalars(
                select(Case.id).where(*eligible).order_by(Case.due_at, Case.id).limit(_BATCH).offset(offset)
            )
        )
        for case_id in batch:
            case = session.scalars(
                select(Case).where(Case.id == case_id, *eligible).with_for_update(skip_locked=True)
            ).first()
            if case is not None and qualified(reviewer, case):
                return case
        if len(batch) < _BATCH:
            return None
        offset += _BATCH
