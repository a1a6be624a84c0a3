"""The case lifecycle: one table says which action each role may take from which states and where it leads, and one
pair of functions every change of a case goes through (intake, update, cancel, nurse and medical-director actions,
P2P, appeal, extension, the clock's near-breach flag).

    received -> approved | not_required | decided         (rules, at intake)
    received -> pended -> in_review (nurse) -> [info_requested] -> escalated -> in_md_review (MD)
             -> [p2p_scheduled] -> decided;  cancelled by the provider
    a P2P cancelled or missed returns to the state it was booked from (in_md_review or decided)

`begin` locks the case and refuses what the table does not allow (403 wrong role, 409 wrong state or held by someone
else). The caller then changes items. `finish` derives the resulting state, stores a new ClaimResponse version when
the answer changed (announcing it to subscribers when staff changed it; a provider has its answer in hand), and writes
the change's one audit row, so no caller can forget either. The access policy says who may call a route; this table
says what may happen to this case now.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..context import DEFAULT_NOTICE_CONTACT
from ..db import repository
from ..db.inserts import insert_new
from ..db.models import Case, CaseItem
from ..errors import Conflict, Forbidden
from ..fhir.bundles import response_bundle
from ..fhir.codes import ReviewAction
from ..fhir.elements import person_name
from ..fhir.pas_request import PasRequest
from ..notify import notices, outbox, referrals
from . import audit, response_versions, stays
from .status import HUMAN_REVIEW, OPEN, CaseStatus, status_from_items

S = CaseStatus
PROVIDER, NURSE, MEDICAL_DIRECTOR, SYSTEM = "provider", "nurse", "medical_director", "system"


class Action(enum.StrEnum):
    """Everything that changes a case; the value is what its audit row says."""

    SUBMIT = "submitted"
    UPDATE = "updated"
    CANCEL = "cancelled"
    ATTACH = "documents received"
    TAKE = "taken"
    APPROVE = "approved"
    REQUEST_INFO = "info requested"
    ESCALATE = "escalated"
    DENY = "denied"
    SCHEDULE_P2P = "p2p scheduled"
    P2P_UPHELD = "p2p upheld"
    P2P_OVERTURNED = "p2p overturned"
    RESCHEDULE_P2P = "p2p rescheduled"
    CANCEL_P2P = "p2p cancelled"
    P2P_MISSED = "p2p missed"
    EXTEND = "extended"
    APPEAL = "appeal filed"
    APPEAL_UPHELD = "appeal upheld"
    APPEAL_APPROVED = "appeal approved"
    FLAG_NEAR_BREACH = "near breach"


@dataclass(frozen=True)
class Rule:
    """From which states an action may start, where it leads (None: derived from the items, see `derive`), and
    whether only the case's holder may take it."""

    allowed: frozenset[CaseStatus]
    to: CaseStatus | None
    holder_only: bool = True
    # Where a case still holding pended items goes after a derived change (None: stays in review, else pends).
    while_pended: CaseStatus | None = None
    # The states a change may send the case back to (the one it was in before, named by `Change.back_to`).
    back_to: frozenset[CaseStatus] = frozenset()


def _rule(allowed: Iterable[CaseStatus], to: CaseStatus | None, **kwargs: Any) -> Rule:
    return Rule(frozenset(allowed), to, **kwargs)


_NOT_CANCELLED = frozenset(CaseStatus) - {S.CANCELLED}
# A peer-to-peer review is booked before or after the decision; cancelled or missed, the case goes back there.
_BEFORE_P2P = frozenset({S.IN_MD_REVIEW, S.DECIDED})

TABLE: Mapping[Action, Mapping[str, Rule]] = {
    Action.SUBMIT: {PROVIDER: _rule({S.RECEIVED}, None, holder_only=False)},
    Action.UPDATE: {PROVIDER: _rule(_NOT_CANCELLED, None, holder_only=False)},
    Action.CANCEL: {PROVIDER: _rule(_NOT_CANCELLED, None, holder_only=False)},
    # CDex $submit-attachment: documents for a request, decided again like an update carrying them.
    Action.ATTACH: {PROVIDER: _rule(_NOT_CANCELLED, None, holder_only=False)},
    Action.TAKE: {
        NURSE: _rule({S.PENDED}, S.IN_REVIEW, holder_only=False),
        MEDICAL_DIRECTOR: _rule({S.ESCALATED}, S.IN_MD_REVIEW, holder_only=False),
    },
    Action.APPROVE: {NURSE: _rule({S.IN_REVIEW}, None), MEDICAL_DIRECTOR: _rule({S.IN_MD_REVIEW}, None)},
    Action.REQUEST_INFO: {
        NURSE: _rule({S.IN_REVIEW}, S.INFO_REQUESTED),
        MEDICAL_DIRECTOR: _rule({S.IN_MD_REVIEW}, S.INFO_REQUESTED),
    },
    Action.ESCALATE: {NURSE: _rule({S.IN_REVIEW, S.INFO_REQUESTED}, S.ESCALATED)},
    Action.DENY: {MEDICAL_DIRECTOR: _rule({S.IN_MD_REVIEW}, None)},
    # A nurse books, moves or cancels a P2P on a director's behalf (the case passes to the slot's director).
    Action.SCHEDULE_P2P: {
        NURSE: _rule(_BEFORE_P2P, S.P2P_SCHEDULED, holder_only=False),
        MEDICAL_DIRECTOR: _rule(_BEFORE_P2P, S.P2P_SCHEDULED, holder_only=False),
    },
    Action.RESCHEDULE_P2P: {
        NURSE: _rule({S.P2P_SCHEDULED}, S.P2P_SCHEDULED, holder_only=False),
        MEDICAL_DIRECTOR: _rule({S.P2P_SCHEDULED}, S.P2P_SCHEDULED, holder_only=False),
    },
    Action.CANCEL_P2P: {
        NURSE: _rule({S.P2P_SCHEDULED}, None, holder_only=False, back_to=_BEFORE_P2P),
        MEDICAL_DIRECTOR: _rule({S.P2P_SCHEDULED}, None, holder_only=False, back_to=_BEFORE_P2P),
    },
    Action.P2P_UPHELD: {MEDICAL_DIRECTOR: _rule({S.P2P_SCHEDULED}, None, while_pended=S.IN_MD_REVIEW)},
    Action.P2P_OVERTURNED: {MEDICAL_DIRECTOR: _rule({S.P2P_SCHEDULED}, None, while_pended=S.IN_MD_REVIEW)},
    Action.P2P_MISSED: {MEDICAL_DIRECTOR: _rule({S.P2P_SCHEDULED}, None, back_to=_BEFORE_P2P)},
    Action.EXTEND: {
        NURSE: _rule(OPEN, None, holder_only=False),
        MEDICAL_DIRECTOR: _rule(OPEN, None, holder_only=False),
    },
    Action.APPEAL: {
        NURSE: _rule({S.DECIDED}, S.DECIDED, holder_only=False),
        MEDICAL_DIRECTOR: _rule({S.DECIDED}, S.DECIDED, holder_only=False),
    },
    Action.APPEAL_UPHELD: {MEDICAL_DIRECTOR: _rule({S.DECIDED}, S.DECIDED, holder_only=False)},
    Action.APPEAL_APPROVED: {MEDICAL_DIRECTOR: _rule({S.DECIDED}, S.DECIDED, holder_only=False)},
    Action.FLAG_NEAR_BREACH: {SYSTEM: _rule(OPEN, None, holder_only=False)},
}


class Moment(Protocol):
    """When a change happens and what its answer cites (a request's context, or the clock's)."""

    @property
    def now(self) -> datetime: ...
    @property
    def payer_system(self) -> str: ...
    @property
    def base_url(self) -> str: ...


@dataclass(frozen=True)
class SystemMoment:
    """The moment of a change nobody requested (the clock's sweep)."""

    now: datetime
    payer_system: str
    base_url: str


@dataclass(frozen=True)
class Actor:
    """Who acts: a reviewer (id, role), a provider organisation, or the system's clock."""

    id: str
    role: str
    npi: str | None = None


@dataclass
class Change:
    """A change of one case under way: the locked case, its items by sequence, what the audit row will say, and for
    an action that returns the case to an earlier state, that state (from what the caller stored)."""

    case: Case
    items: dict[int, CaseItem]
    action: Action
    actor: Actor
    rule: Rule
    detail: dict[str, Any] = field(default_factory=dict)
    back_to: CaseStatus | None = None


def allows(action: Action, role: str, status: str) -> bool:
    """Whether the table lets `role` take `action` on a case in `status`."""
    rule = TABLE[action].get(role)
    return rule is not None and CaseStatus(status) in rule.allowed


def available(case: Case, actor: Actor) -> list[Action]:
    """The actions `actor` may take on the case now, by the table (state, role, who holds it): those `begin` would
    not refuse."""
    return [action for action in TABLE if _refusal(case, action, actor) is None]


def _refusal(case: Case, action: Action, actor: Actor) -> Forbidden | Conflict | None:
    """Why the table refuses `actor` taking `action` on the case now: 403 for a role that may never take it, 409 for a
    state it may not be taken from or a case someone else holds; None when it may."""
    rule = TABLE[action].get(actor.role)
    if rule is None:
        return Forbidden(f"a {_words(actor.role)} may not {_verb(action)}")
    if CaseStatus(case.status) not in rule.allowed:
        states = " or ".join(sorted(_words(s.value) for s in rule.allowed))
        return Conflict(f"cannot {_verb(action)} a case that is {_words(case.status)}; only one that is {states}")
    if rule.holder_only and case.assignee not in (None, actor.id):
        return Conflict(f"the case is held by {case.assignee}")
    return None


def begin(
    session: Session, *, case: Case, action: Action, actor: Actor, items: Iterable[CaseItem] | None = None
) -> Change:
    """Check the table for a case whose row the caller has locked (or just created): 403 for a role that may never
    take the action, 409 for a state it may not be taken from or a case someone else holds."""
    refusal = _refusal(case, action, actor)
    if refusal is not None:
        raise refusal
    rule = TABLE[action][actor.role]
    found = repository.items_of(session, case.id) if items is None else items  # a new case's items are in hand
    return Change(case, {item.sequence: item for item in found}, action, actor, rule)


def derive(change: Change) -> CaseStatus:
    """The state the items' results lead to, for actions whose result is not fixed by the table."""
    actions = {ReviewAction(i.review_action) for i in change.items.values()}
    live = actions - {ReviewAction.CANCELLED}
    current = CaseStatus(change.case.status)
    if not live:
        return S.CANCELLED
    if ReviewAction.PENDED not in live:
        return status_from_items(live) if current in (S.RECEIVED, S.PENDED) else S.DECIDED
    if change.rule.while_pended is not None:
        return change.rule.while_pended
    if (
        current == S.INFO_REQUESTED
        and change.actor.role == PROVIDER
        and not any(awaits_documents(i) for i in change.items.values())
    ):
        return S.IN_REVIEW  # the documents a reviewer asked for arrived: back to that reviewer
    if current in HUMAN_REVIEW:
        return current
    return S.PENDED


def awaits_documents(item: CaseItem) -> bool:
    """A pended item waiting for documents someone asked for."""
    return item.review_action == ReviewAction.PENDED and bool(item.documents)


def finish(
    session: Session,
    change: Change,
    *,
    reason: str,
    context: Moment,
    request: PasRequest | None = None,
    then: Callable[[Case], str] | None = None,
) -> dict[str, Any]:
    """Move the case to its next state, publish a new ClaimResponse version if the answer changed, audit the change;
    return the case's current ClaimResponse. `request` is the request being accepted (else the latest stored);
    `then` runs once the state is set (routing a pended or escalated case) and adds a sentence to the reason."""
    case = change.case
    status = _next_status(change)
    case.status = status
    case.updated_at = context.now
    if status in (S.APPROVED, S.NOT_REQUIRED, S.DECIDED) and case.decided_at is None:
        case.decided_at = context.now
    if status == S.CANCELLED:
        case.assignee = None
    if then is not None:
        reason = f"{reason} {then(case)}".strip()
    items = sorted(change.items.values(), key=lambda i: i.sequence)
    stays.refresh(case, items)
    answered = request or response_versions.latest_request(session, case)
    resource, published = response_versions.publish_if_changed(
        session,
        case=case,
        request=answered,
        items=items,
        now=context.now,
        payer_system=context.payer_system,
    )
    _notices_and_referrals(session, change, items, answered, context)
    if published and (change.actor.role != PROVIDER or change.action == Action.ATTACH):
        _announce(session, change, answered, resource, context)
    change.detail.update(audit.outcome(case.status, items))
    audit.record(
        session,
        case_id=case.id,
        actor=change.actor.id,
        role=change.actor.role,
        action=change.action.value,
        reason=reason,
        at=context.now,
        detail=change.detail,
    )
    insert_new(session)  # the rows this change adds (a new case's own row among them), then the rows it changed
    session.flush()
    return resource


def _next_status(change: Change) -> CaseStatus:
    """The table's state for the action, the earlier state the change returns to, or the state the items imply."""
    if change.rule.back_to:
        back = change.back_to
        assert back is not None, f"{change.action.name} names the state the case returns to"
        assert back in change.rule.back_to, f"{change.action.name} may not return a case to {back}"
        return back
    return change.rule.to if change.rule.to is not None else derive(change)


def _notices_and_referrals(
    session: Session, change: Change, items: list[CaseItem], answered: PasRequest, context: Moment
) -> None:
    """Written notices of denials and partial approvals; the care-management referrals the items' rules ask for."""
    case, rules = change.case, getattr(context, "rules", None)
    if any(i.review_action in notices.NOTICED for i in items):
        issued = notices.issue(
            session,
            case,
            items,
            parties=_names(answered),
            rules=rules,
            contact=getattr(context, "notice_contact", DEFAULT_NOTICE_CONTACT),
            now=context.now,
        )
        if issued:
            change.detail["notices"] = [{"id": n.id, "audience": n.audience, "kind": n.kind} for n in issued]
    referred = referrals.refer(
        session,
        case,
        items,
        rules=rules,
        endpoint=getattr(context, "referral_endpoint", None),
        headers=getattr(context, "referral_headers", ()),
        now=context.now,
    )
    if referred:
        change.detail["referrals"] = [{"program": r.program, "sequence": r.sequence} for r in referred]


def _names(request: PasRequest) -> dict[str, str]:
    """The patient's and the ordering provider's names, as a notice addresses them."""
    person = person_name(request.parties.patient.resource)
    provider = request.parties.provider.resource
    return {"patient": person or "the patient", "provider": str(provider.get("name") or "the ordering provider")}


def _announce(session: Session, change: Change, request: PasRequest, resource: dict[str, Any], context: Moment) -> None:
    case = change.case
    bundle = response_bundle(request, resource, base_url=context.base_url, now=context.now)
    organisations = {
        value for role, _, value in repository.parties_of(session, case.id) if role in ("provider", "sender")
    }
    change.detail["notifications"] = outbox.announce(
        session,
        case_id=case.id,
        organisation_ids=organisations,
        response_bundle=bundle,
        base_url=context.base_url,
        now=context.now,
    )


def _words(name: str) -> str:
    return name.replace("_", " ")


def _verb(action: Action) -> str:
    """The action as a verb phrase ("record a p2p upheld" reads badly, so the P2P and appeal results share one)."""
    verbs = {
        Action.P2P_UPHELD: "record a peer-to-peer result",
        Action.P2P_OVERTURNED: "record a peer-to-peer result",
        Action.P2P_MISSED: "record a peer-to-peer result",
        Action.RESCHEDULE_P2P: "reschedule a peer-to-peer review",
        Action.CANCEL_P2P: "cancel a peer-to-peer review",
        Action.APPEAL_UPHELD: "decide an appeal",
        Action.APPEAL_APPROVED: "decide an appeal",
        Action.SCHEDULE_P2P: "schedule a peer-to-peer review",
    }
    return verbs.get(action, _words(action.name.lower()))
