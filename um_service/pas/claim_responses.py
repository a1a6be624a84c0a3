"""Reading the current ClaimResponses, for payer portals that poll: by id, or searched by identifier, patient
identifier and status. Every answer is the newest stored version, never a recomputation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session, aliased

from ..db import repository
from ..db.models import Case, CaseIdentifier, CaseParty

Token = tuple[str | None, str | None]


@dataclass(frozen=True)
class Current:
    """One current ClaimResponse and its version."""

    resource: dict[str, Any]
    version: int
    last_updated: datetime


def read(session: Session, claim_response_id: str, *, submitter: str | None = None) -> Current | None:
    """The current ClaimResponse with this id (only of this submitter's requests, when one is given)."""
    if submitter is not None:
        case = session.get(Case, claim_response_id)
        if case is None or case.submitter != submitter:
            return None
    row = repository.current_claim_response(session, claim_response_id)
    if row is None:
        return None
    return Current(row.claim_response, row.version, row.created_at)


def parse_token(text: str) -> Token:
    """A FHIR token search value: `system|code`, `|code` (no system), `system|` (any code) or `code`."""
    if "|" not in text:
        return None, text or None
    system, code = text.split("|", 1)
    return system, code or None


def search(
    session: Session,
    *,
    identifiers: list[list[Token]],
    patient_identifiers: list[list[Token]],
    statuses: list[str],
    payer_system: str,
    count: int,
    offset: int,
    submitter: str | None = None,
) -> tuple[int, list[Current]]:
    """Current ClaimResponses matching every parameter; each inner list is one parameter's comma-separated
    alternatives (OR), repeated parameters must all match (AND), as FHIR search defines."""
    statement = select(Case.id)
    if submitter is not None:
        statement = statement.where(Case.submitter == submitter)
    if statuses and "active" not in statuses:
        # Every PAS ClaimResponse is 'active' (the profile fixes it); another status matches nothing.
        return 0, []
    for alternatives in identifiers:
        statement = statement.where(or_(*[_identifier_clause(t, payer_system) for t in alternatives]))
    for alternatives in patient_identifiers:
        statement = statement.where(or_(*[_patient_clause(t) for t in alternatives]))
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    ids = list(session.scalars(statement.order_by(Case.updated_at.desc(), Case.id).limit(count).offset(offset)))
    found = [read(session, case_id) for case_id in ids]
    return total, [current for current in found if current is not None]


def _identifier_clause(token: Token, payer_system: str) -> Any:
    system, value = token
    matches = select(CaseIdentifier.case_id)
    if system is not None:
        matches = matches.where(CaseIdentifier.system == system)
    if value is not None:
        matches = matches.where(CaseIdentifier.value == value)
    if value is not None and system in (None, payer_system):
        # One set of ids from two indexed lookups: `id IN (...) OR preauth_ref = ...` would scan every case.
        by_reference = aliased(Case)
        return Case.id.in_(union(matches, select(by_reference.id).where(by_reference.preauth_ref == value)))
    return Case.id.in_(matches)


def _patient_clause(token: Token) -> Any:
    system, value = token
    matches = select(CaseParty.case_id).where(CaseParty.role.in_(("patient", "member")))
    if system is not None:
        matches = matches.where(CaseParty.system == system)
    if value is not None:
        matches = matches.where(CaseParty.value == value)
    return Case.id.in_(matches)
