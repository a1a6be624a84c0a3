"""The few queries the domain needs, by name. Services add rows with `session.add` and only flush."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from .models import Case, CaseIdentifier, CaseItem, CaseParty, ClaimResponseVersion, Submission

Identifier = tuple[str, str]


class Accepted(NamedTuple):
    """An accepted submission, as a retry needs it."""

    id: str
    case_id: str
    response_body: str


def find_submission(session: Session, *, submitter: str, content_hash: str) -> Accepted | None:
    """(id, case_id, response_body) of the accepted submission with this content from this submitter, if any
    (idempotent retries); plain columns, as every new request asks and almost none finds one."""
    row = session.connection().execute(_ACCEPTED, {"submitter": submitter, "content_hash": content_hash}).first()
    return None if row is None else Accepted(*row)


# Built once: every new request asks (building the statement cost about as much as running it).
_ACCEPTED = (
    select(Submission.id, Submission.case_id, Submission.response_body)
    .where(Submission.submitter == bindparam("submitter"), Submission.content_hash == bindparam("content_hash"))
    .limit(1)
)


def case_ids_with_identifiers(session: Session, *, submitter: str, identifiers: Iterable[Identifier]) -> set[str]:
    """The cases to which this submitter gave any of these Claim identifiers."""
    # One built statement per identifier (nearly every request has one): building an OR of them cost more than
    # running the lookup.
    connection = session.connection()
    found: set[str] = set()
    for system, value in identifiers:
        found.update(connection.scalars(_IDENTIFIED, {"submitter": submitter, "system": system, "value": value}))
    return found


_IDENTIFIED = select(CaseIdentifier.case_id).where(
    CaseIdentifier.submitter == bindparam("submitter"),
    CaseIdentifier.system == bindparam("system"),
    CaseIdentifier.value == bindparam("value"),
)


def identifiers_of(session: Session, case_id: str) -> set[Identifier]:
    """The Claim identifiers a case is known by."""
    rows = session.execute(select(CaseIdentifier.system, CaseIdentifier.value).where(CaseIdentifier.case_id == case_id))
    return {(system, value) for system, value in rows}


def get_case(session: Session, case_id: str, *, lock: bool = False) -> Case | None:
    """A case by id; `lock` takes its row lock (PostgreSQL) so concurrent updates queue behind each other."""
    statement = select(Case).where(Case.id == case_id)
    if lock:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def get_submission(session: Session, submission_id: str) -> Submission | None:
    """A submission by id."""
    return session.get(Submission, submission_id)


def first_submission(session: Session, case_id: str) -> Submission | None:
    """The submission that opened a case."""
    return session.scalars(
        select(Submission).where(Submission.case_id == case_id, Submission.kind == "initial").limit(1)
    ).first()


def claim_hashes_of(session: Session, case_id: str) -> set[str]:
    """The content hashes of every Claim version a case has received."""
    return set(session.scalars(select(Submission.claim_hash).where(Submission.case_id == case_id)))


def items_of(session: Session, case_id: str) -> list[CaseItem]:
    """A case's items in sequence order."""
    return list(session.scalars(select(CaseItem).where(CaseItem.case_id == case_id).order_by(CaseItem.sequence)))


def parties_of(session: Session, case_id: str) -> set[tuple[str, str, str]]:
    """(role, system, value) of every party identifier recorded for a case."""
    return parties_of_cases(session, [case_id])[case_id]


def current_claim_response(session: Session, case_id: str) -> ClaimResponseVersion | None:
    """The newest ClaimResponse version of a case."""
    return session.scalars(_CURRENT, {"case_id": case_id}).first()


# Built once: every read, search, $inquire and portal poll asks for it.
_CURRENT = (
    select(ClaimResponseVersion)
    .where(ClaimResponseVersion.case_id == bindparam("case_id"))
    .order_by(ClaimResponseVersion.version.desc())
    .limit(1)
)


def case_ids_with_party(session: Session, *, role: str, values: Iterable[str]) -> set[str]:
    """Cases having a party of `role` with one of these values (a member id names a few cases)."""
    value_list = list(values)
    if not value_list:
        return set()
    statement = select(CaseParty.case_id).where(CaseParty.role == role, CaseParty.value.in_(value_list))
    return set(session.scalars(statement))


def parties_of_cases(session: Session, case_ids: Iterable[str]) -> dict[str, set[tuple[str, str, str]]]:
    """(role, system, value) of every party of each of these cases, read by case id alone. Asking for a provider or
    insurer among them by its identifier as well let PostgreSQL's generic plan (psycopg prepares a statement after
    five runs) walk that identifier's index, every case the provider ever sent: 3 ms at 10 k cases (bench/scale.py)."""
    parties: dict[str, set[tuple[str, str, str]]] = {case_id: set() for case_id in case_ids}
    if parties:
        statement = select(CaseParty.case_id, CaseParty.role, CaseParty.system, CaseParty.value)
        for case_id, role, system, value in session.execute(statement.where(CaseParty.case_id.in_(list(parties)))):
            parties[case_id].add((role, system, value))
    return parties


def case_ids_with_identifier_values(
    session: Session, *, identifiers: Iterable[Identifier], references: Iterable[str]
) -> set[str]:
    """Cases known by any of these Claim identifiers (any submitter) or whose preauth reference is listed."""
    found: set[str] = set()
    pairs = list(identifiers)
    if pairs:
        clauses = [(CaseIdentifier.system == s) & (CaseIdentifier.value == v) for s, v in pairs]
        found |= set(session.scalars(select(CaseIdentifier.case_id).where(or_(*clauses))))
    refs = list(references)
    if refs:
        found |= set(session.scalars(select(Case.id).where(Case.preauth_ref.in_(refs))))
    return found
