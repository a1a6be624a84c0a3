"""Tables of the UM case store. The schema is created only by the Alembic migrations in `migrations/`."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ..case.status import OPEN, CaseStatus, Priority
from ..fhir.codes import ReviewAction

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention, so migrations name constraints predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = UTCDateTime()


class JsonText(TypeDecorator[Any]):
    """A JSON value (list or object) kept as text on every backend; callers read and write Python values."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(value)


E = TypeVar("E", bound=enum.StrEnum)


class EnumText(TypeDecorator[E]):
    """A StrEnum kept as its value (a plain string column, no database enum type to migrate)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[E], length: int):
        super().__init__(length)
        self.enum_type = enum_type

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_type(value)


# The open cases, a steady few hundred or thousand whatever the history: the work list reads them by due time from
# their own index, where `due_at` alone would walk past every closed case first (migration 0016 writes the same list).
_OPEN_QUOTED = [f"'{state.value}'" for state in sorted(OPEN)]
OPEN_CASES = text(f"status IN ({', '.join(_OPEN_QUOTED)})")


def _where_set(name: str, *columns: str) -> Index:
    """An index of the rows whose first column is set: a row leaving it empty (a case auto-decided at intake has no
    queue, assignee or review date) costs the insert no index page, and every query of these columns asks for a
    value (equality or IS NOT NULL, which implies the condition on both databases). Migration 0017."""
    where = text(f"{columns[0]} IS NOT NULL")
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


def _after_case() -> Any:
    """A many-to-one link to the case, never read (lazy="raise"): it only tells the unit of work to insert a new case
    before the rows that name it when something flushes in the middle of intake (a referral's outbox message needs
    its id). Without a relationship, SQLAlchemy orders the INSERTs of unrelated classes by class name."""
    return relationship("Case", lazy="raise", viewonly=False)


class Case(Base):
    """One prior-authorization request (a PAS Claim and its updates); its items carry the decisions."""

    __tablename__ = "cases"
    __table_args__ = (
        # Also the index of `status` alone (its first column): one index less to write on every change of state.
        Index("ix_cases_status_due_at", "status", "due_at"),
        Index("ix_cases_open_due_at", "due_at", "id", postgresql_where=OPEN_CASES, sqlite_where=OPEN_CASES),
        _where_set("ix_cases_queue", "queue"),
        # With status: a reviewer's held cases are found among her open ones, not among every case she ever held.
        _where_set("ix_cases_assignee", "assignee", "status"),
        _where_set("ix_cases_next_review_on", "next_review_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submitter: Mapped[str] = mapped_column(String(200), index=True)
    preauth_ref: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[CaseStatus] = mapped_column(EnumText(CaseStatus, 30))
    priority: Mapped[Priority] = mapped_column(EnumText(Priority, 20))
    received_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    due_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    response_version: Mapped[int] = mapped_column(Integer, default=0)
    latest_submission_id: Mapped[str | None] = mapped_column(String(36))
    line_of_business: Mapped[str | None] = mapped_column(String(100))
    # prospective (before the service), concurrent (during a stay) or retrospective (after it): case/review_types.py
    review_type: Mapped[str] = mapped_column(String(20), default="prospective", server_default="prospective")
    member_state: Mapped[str | None] = mapped_column(String(10))
    queue: Mapped[str | None] = mapped_column(String(100))
    required_skills: Mapped[list[str]] = mapped_column(JsonText, default=list)
    review_priority: Mapped[str] = mapped_column(String(20), default="routine")
    assignee: Mapped[str | None] = mapped_column(ForeignKey("reviewers.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(Timestamp)
    escalation_note: Mapped[str | None] = mapped_column(Text)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    near_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    p2p_at: Mapped[datetime | None] = mapped_column(Timestamp)
    p2p_contact: Mapped[str | None] = mapped_column(String(300))
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)
    # A concurrent review's admission (case/stays.py): dates as YYYY-MM-DD, days as counted nights.
    admitted_on: Mapped[str | None] = mapped_column(String(10))
    discharged_on: Mapped[str | None] = mapped_column(String(10))
    days_requested: Mapped[int | None] = mapped_column(Integer)
    days_authorized: Mapped[int | None] = mapped_column(Integer)
    days_used: Mapped[int | None] = mapped_column(Integer)
    next_review_on: Mapped[str | None] = mapped_column(String(10))
    # What the work list shows and searches (case/records.py `summarize`): patient, member, provider, services
    # ("system|code", the first coding of each item).
    patient_name: Mapped[str | None] = mapped_column(String(200))
    member_id: Mapped[str | None] = mapped_column(String(100), index=True)
    provider_name: Mapped[str | None] = mapped_column(String(200))
    service_codes: Mapped[list[str] | None] = mapped_column(JsonText)
    service_from: Mapped[str | None] = mapped_column(String(10))


def is_open(status: Any = None) -> Any:
    """`status IN ('escalated', …)` with the open states written out, never as bound parameters: a prepared
    statement's generic plan (psycopg prepares a query after 5 runs; PostgreSQL then may plan it once for any
    parameters) cannot prove that parameters match the open-cases index's predicate, and scanned every case instead
    (the scale bench's work-list search: 12 ms, then 58-83 ms at 100 k cases once the plan turned generic)."""
    column = Case.status if status is None else status
    return column.in_([literal_column(quoted) for quoted in _OPEN_QUOTED])


class CaseIdentifier(Base):
    """A Claim.identifier a submitter used for a case; unique per submitter (a retry or update reuses it)."""

    __tablename__ = "case_identifiers"
    __table_args__ = (
        UniqueConstraint("submitter", "system", "value"),
        Index("ix_case_identifiers_value_system", "value", "system"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    submitter: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(500))
    value: Mapped[str] = mapped_column(String(200))


class CaseParty(Base):
    """An identifier of a party to a case (member, patient, provider, insurer), the keys $inquire matches on."""

    __tablename__ = "case_parties"
    __table_args__ = (
        # Also finds a case's parties (its first column): no index of `case_id` alone to write as well.
        UniqueConstraint("case_id", "role", "system", "value"),
        Index("ix_case_parties_role_value", "role", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    system: Mapped[str] = mapped_column(String(500))
    value: Mapped[str] = mapped_column(String(200))


class Submission(Base):
    """One accepted $submit: the exact bytes received and the exact answer given (replayed on a retry)."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("submitter", "content_hash"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    case_row: Mapped[Case | None] = _after_case()
    submitter: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    claim_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    request_body: Mapped[str] = mapped_column(Text)
    response_body: Mapped[str] = mapped_column(Text)
    ruleset_version: Mapped[str | None] = mapped_column(String(64))


class CaseItem(Base):
    """A requested item (Claim.item.sequence) and its current result."""

    __tablename__ = "case_items"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    case_row: Mapped[Case | None] = _after_case()
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_action: Mapped[ReviewAction] = mapped_column(EnumText(ReviewAction, 4))
    product_system: Mapped[str] = mapped_column(String(500))
    product_code: Mapped[str] = mapped_column(String(100), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    element: Mapped[dict[str, Any]] = mapped_column(JsonText)
    queue: Mapped[str | None] = mapped_column(String(100))
    skills: Mapped[list[str]] = mapped_column(JsonText, default=list)
    review_priority: Mapped[str] = mapped_column(String(20), default="routine")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    rule_id: Mapped[str | None] = mapped_column(String(200))
    ruleset_version: Mapped[str | None] = mapped_column(String(64))
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JsonText, default=list)
    documents: Mapped[list[dict[str, str]]] = mapped_column(JsonText, default=list)
    authorized_start: Mapped[str | None] = mapped_column(String(10))
    authorized_end: Mapped[str | None] = mapped_column(String(10))
    authorized_quantity: Mapped[float | None] = mapped_column(Float)
    reason_code: Mapped[str | None] = mapped_column(String(20))
    # Why an item was not certified: "administrative" (intake: coverage, plan exclusions) or "clinical" (a medical
    # director); None for anything else.
    decision_kind: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class ClaimResponseVersion(Base):
    """Each ClaimResponse the case has had; the highest version is current (read, search, $inquire)."""

    __tablename__ = "claim_response_versions"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    case_row: Mapped[Case | None] = _after_case()
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    claim_response: Mapped[dict[str, Any]] = mapped_column(JsonText)


class Refusal(Base):
    """A readable request refused for business reasons (HTTP 200, ClaimResponse.outcome = error)."""

    __tablename__ = "refusals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submitter: Mapped[str] = mapped_column(String(200), index=True)
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    content_hash: Mapped[str] = mapped_column(String(64))
    reason_code: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    request_body: Mapped[str] = mapped_column(Text)
    response_body: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """One row per state change: who (actor, role), what (action), when (at), why (reason)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    case_row: Mapped[Case | None] = _after_case()
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)


class RuleSetVersion(Base):
    """Every rule set the service has run, by content hash, so a stored case can be replayed under it."""

    __tablename__ = "rule_set_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_loaded_at: Mapped[datetime] = mapped_column(Timestamp)
    files: Mapped[dict[str, str]] = mapped_column(JsonText)


class Reviewer(Base):
    """A UM nurse or medical director: skills, licensed states, how many open cases they can hold."""

    __tablename__ = "reviewers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    skills: Mapped[list[str]] = mapped_column(JsonText, default=list)
    licensed_states: Mapped[list[str]] = mapped_column(JsonText, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    npi: Mapped[str | None] = mapped_column(String(20))


class WorkQueue(Base):
    """A work queue and the skills its cases need."""

    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[list[str]] = mapped_column(JsonText, default=list)


class Subscription(Base):
    """A provider system's PAS subscription (R4 backport, rest-hook, full-resource)."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(2000))
    headers: Mapped[list[str]] = mapped_column(JsonText, default=list)
    org_identifiers: Mapped[list[str]] = mapped_column(JsonText, default=list)
    end_at: Mapped[datetime | None] = mapped_column(Timestamp)
    resource: Mapped[dict[str, Any]] = mapped_column(JsonText)
    events: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class OutboxMessage(Base):
    """A notification to deliver, written in the transaction of the change it announces."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A provider's subscription; None for a message to a configured endpoint (care-management referrals).
    subscription_id: Mapped[str | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str | None] = mapped_column(String(2000))
    headers: Mapped[list[str] | None] = mapped_column(JsonText)
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[str | None] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    locked_until: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Client(Base):
    """A system allowed to call the API: a provider EHR, a payer portal, or a staff member's client."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(30))
    organization: Mapped[str | None] = mapped_column(String(200))
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("reviewers.id", ondelete="SET NULL"))
    public_key: Mapped[str | None] = mapped_column(Text)
    secret_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # EHR (CDS Hooks) clients: the JWT issuer they sign as, their JWK Set URL, the FHIR bases we may read from.
    issuer: Mapped[str | None] = mapped_column(String(500), unique=True, index=True)
    jwks_url: Mapped[str | None] = mapped_column(Text)
    fhir_servers: Mapped[list[str] | None] = mapped_column(JsonText)


class UsedAssertion(Base):
    """Client-assertion JWT ids already used (SMART backend services forbid replay until they expire)."""

    __tablename__ = "used_assertions"

    jti: Mapped[str] = mapped_column(String(300), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class ServiceKey(Base):
    """Secrets every worker must share (the access-token signing key), created once by the first worker."""

    __tablename__ = "service_keys"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ActiveRuleSet(Base):
    """The rule-set version in force for every worker (one row); a reload anywhere changes it for all."""

    __tablename__ = "active_rule_set"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    activated_at: Mapped[datetime] = mapped_column(Timestamp)


class Appeal(Base):
    """An appeal of a denial: which items, why, and its result (CMS-0057-F: approved after appeal)."""

    __tablename__ = "appeals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sequences: Mapped[list[int]] = mapped_column(JsonText)
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(Timestamp)
    filed_by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20), default="pending")
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class Member(Base):
    """A person the plan insures, as the enrollment feed names them (member id = Coverage MB id / subscriberId)."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    family: Mapped[str | None] = mapped_column(String(200))
    given: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[str | None] = mapped_column(String(10))
    gender: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class MemberCoverage(Base):
    """One coverage of a member: its period, plan and payor, upserted by (member id, coverage identifier)."""

    __tablename__ = "member_coverages"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    coverage_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    start: Mapped[str] = mapped_column(String(10))
    end: Mapped[str | None] = mapped_column(String(10))
    payor: Mapped[str | None] = mapped_column(String(300))
    group_id: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[str | None] = mapped_column(String(100))
    relationship: Mapped[str | None] = mapped_column(String(30))
    type_code: Mapped[str | None] = mapped_column(String(50))
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class CrdAssertion(Base):
    """A coverage assertion answered to a CDS Hooks call: who asked, about which order and codes, for which member,
    and the answer (kept for disputes, cited by its id as coverage-assertion-id in DTR and PAS)."""

    __tablename__ = "crd_assertions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    hook: Mapped[str] = mapped_column(String(50))
    hook_instance: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[str | None] = mapped_column(String(100), index=True)
    coverage: Mapped[str | None] = mapped_column(String(500))
    order: Mapped[str] = mapped_column(String(500))
    codes: Mapped[list[str]] = mapped_column(JsonText)
    answer: Mapped[dict[str, Any]] = mapped_column(JsonText)
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class CaseAttachment(Base):
    """A document a provider sent with CDex $submit-attachment, kept unchanged (the Content resource as received).

    `case_id` is None while an attachment matches no request of ours (held, as CDex asks)."""

    __tablename__ = "case_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    tracking_id: Mapped[str] = mapped_column(String(200), index=True)
    member_id: Mapped[str] = mapped_column(String(100))
    client_id: Mapped[str] = mapped_column(String(200))
    line_items: Mapped[list[int]] = mapped_column(JsonText)
    code: Mapped[str | None] = mapped_column(String(50))
    resource_type: Mapped[str] = mapped_column(String(50))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JsonText)
    final: Mapped[bool] = mapped_column(Boolean, default=True)
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class CaseNotice(Base):
    """A written notice of a denial or partial approval, for the provider or the member, kept exactly as issued."""

    __tablename__ = "case_notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    case_row: Mapped[Case | None] = _after_case()
    audience: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    items: Mapped[list[int]] = mapped_column(JsonText)
    appeal_by: Mapped[str] = mapped_column(String(10))
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(Timestamp)


class P2PSlot(Base):
    """A time a medical director published for peer-to-peer reviews, and the case booked into it (at most one).

    `status` is free, booked, held (the discussion took place), missed (the provider did not attend) or cancelled
    (withdrawn by the director); `returns_to` is the state the booked case was in before, where a cancelled or
    missed review sends it back."""

    __tablename__ = "p2p_slots"
    __table_args__ = (Index("ix_p2p_slots_reviewer_id_starts_at", "reviewer_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("reviewers.id"))
    starts_at: Mapped[datetime] = mapped_column(Timestamp)
    ends_at: Mapped[datetime] = mapped_column(Timestamp)
    time_zone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    returns_to: Mapped[str | None] = mapped_column(String(30))
    contact: Mapped[str | None] = mapped_column(String(300))
    join_instructions: Mapped[str | None] = mapped_column(Text)
    booked_by: Mapped[str | None] = mapped_column(String(100))
    booked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    published_at: Mapped[datetime] = mapped_column(Timestamp)


class CareReferral(Base):
    """A care-management referral a rule asked for on an item (notify/referrals.py), once per item and program."""

    __tablename__ = "care_referrals"
    __table_args__ = (UniqueConstraint("case_id", "sequence", "program"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_row: Mapped[Case | None] = _after_case()
    sequence: Mapped[int] = mapped_column(Integer)
    program: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[str | None] = mapped_column(String(200))
    # The outbox message carrying it to the care-management endpoint; None when no endpoint is configured.
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
