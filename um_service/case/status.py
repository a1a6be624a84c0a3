"""The UM case: its states, its regulatory due time, and the status its items' results imply."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from ..fhir.codes import ReviewAction


class CaseStatus(enum.StrEnum):
    """States of a case (design card, "The case")."""

    RECEIVED = "received"
    APPROVED = "approved"
    NOT_REQUIRED = "not_required"
    PENDED = "pended"
    IN_REVIEW = "in_review"
    INFO_REQUESTED = "info_requested"
    ESCALATED = "escalated"
    IN_MD_REVIEW = "in_md_review"
    P2P_SCHEDULED = "p2p_scheduled"
    DECIDED = "decided"
    CANCELLED = "cancelled"


class Priority(enum.StrEnum):
    """CMS-0057-F clocks: expedited requests within 72 hours, standard within 7 calendar days."""

    EXPEDITED = "expedited"
    STANDARD = "standard"


def due_at(received: datetime, priority: Priority, *, expedited_hours: int = 72, standard_days: int = 7) -> datetime:
    """When the decision is due."""
    if priority is Priority.EXPEDITED:
        return received + timedelta(hours=expedited_hours)
    return received + timedelta(days=standard_days)


def status_from_items(actions: Iterable[ReviewAction]) -> CaseStatus:
    """The status automation leaves a case in, from its items' results."""
    results = set(actions)
    live = results - {ReviewAction.CANCELLED}
    if not live:
        return CaseStatus.CANCELLED
    if ReviewAction.PENDED in live:
        return CaseStatus.PENDED
    if live == {ReviewAction.CERTIFIED}:
        return CaseStatus.APPROVED
    if live == {ReviewAction.NO_ACTION_REQUIRED}:
        return CaseStatus.NOT_REQUIRED
    return CaseStatus.DECIDED


# States in which a person (not automation) is working the case.
HUMAN_REVIEW = frozenset(
    {
        CaseStatus.IN_REVIEW,
        CaseStatus.INFO_REQUESTED,
        CaseStatus.ESCALATED,
        CaseStatus.IN_MD_REVIEW,
        CaseStatus.P2P_SCHEDULED,
    }
)
# States that still need a decision (they count against a reviewer's capacity and the clocks).
OPEN = frozenset({CaseStatus.RECEIVED, CaseStatus.PENDED}) | HUMAN_REVIEW


def new_preauth_ref() -> str:
    """A payer reference for a case: short, unambiguous to read aloud, unguessable."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "PA-" + "".join(secrets.choice(alphabet) for _ in range(10))
