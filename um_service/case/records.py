"""Recording a case's rows: its items, the keys it is found by, and each accepted submission with its response_versions."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy.orm import Session

from ..context import RequestContext
from ..db import repository, rule_sets
from ..db.inserts import insert_into, table_of
from ..db.models import Case, CaseIdentifier, CaseItem, CaseParty, Submission
from ..decision import ItemOutcome, service_date
from ..fhir.bundles import response_bundle
from ..fhir.codes import ReviewAction
from ..fhir.elements import person_name
from ..fhir.pas_request import PasRequest, RequestedItem

CANCELLED_BY_PROVIDER = "Cancelled by the provider."
# Who decided an item without a person: the rules, or intake's coverage and benefit checks (administrative).
AUTOMATION, INTAKE = "automation", "intake"


def new_item(case_id: str, requested: RequestedItem, outcome: ItemOutcome | None, context: RequestContext) -> CaseItem:
    """A case item for a requested item: decided by `outcome`, or cancelled when there is none."""
    system, code = (requested.product_codes or [("", "")])[0]
    item = CaseItem(
        case_id=case_id,
        sequence=requested.sequence,
        product_system=system,
        product_code=code,
        content_hash=requested.content_hash,
        element=requested.element,
    )
    if outcome is None:
        cancel_item(item, context)
    else:
        apply_outcome(item, outcome, context)
    return item


def apply_outcome(item: CaseItem, outcome: ItemOutcome, context: RequestContext) -> None:
    """Record automation's outcome, its rule, rule-set version and trace on an item."""
    item.review_action = outcome.action
    item.queue = outcome.queue
    item.skills = list(outcome.skills)
    item.review_priority = outcome.review_priority
    item.reason = outcome.reason
    item.reason_code = outcome.reason_code
    item.decision_kind = outcome.kind
    item.decided_by = (INTAKE if outcome.kind else AUTOMATION) if outcome.action.is_final else None
    item.rule_id = outcome.rule_id
    item.ruleset_version = context.rules.version
    item.trace = list(outcome.trace)
    item.documents = [d.model_dump() for d in outcome.documents]
    item.authorized_start, item.authorized_end = outcome.authorized_period or (None, None)
    item.updated_at = context.now


def documents_received(item: CaseItem, context: RequestContext) -> None:
    """The documents a reviewer asked for have arrived: the item goes back to that reviewer, not through the rules."""
    item.documents = []
    item.updated_at = context.now


def cancel_item(item: CaseItem, context: RequestContext) -> None:
    """Mark an item cancelled by the provider."""
    item.review_action = ReviewAction.CANCELLED
    item.reason = CANCELLED_BY_PROVIDER
    item.reason_code = None
    item.decision_kind = None
    item.decided_by = None
    item.documents = []
    item.updated_at = context.now


def record_keys(session: Session, *, case: Case, request: PasRequest, submitter: str, new: bool = False) -> None:
    """Record the identifiers and party identifiers a case is found by (new ones only; `new`: the case was just
    created, so it has none yet). One INSERT per table, whatever the number of rows; the case row must be stored."""
    known_ids = set() if new else repository.identifiers_of(session, case.id)
    identifiers = [
        {"case_id": case.id, "submitter": submitter, "system": system, "value": value}
        for system, value in sorted(request.identifiers - known_ids)
    ]
    if identifiers:
        session.connection().execute(insert_into(table_of(CaseIdentifier)), identifiers)
    parties = request.parties
    wanted = {("member", "", value) for value in parties.member_ids}
    wanted |= {("patient", s, v) for s, v in parties.patient_ids}
    wanted |= {("provider", s, v) for s, v in parties.provider_ids}
    wanted |= {("insurer", s, v) for s, v in parties.insurer_ids}
    wanted |= {("sender", "", v) for v in parties.sender_ids}
    known_parties = set() if new else repository.parties_of(session, case.id)
    rows = [
        {"case_id": case.id, "role": role, "system": system, "value": value}
        for role, system, value in sorted(wanted - known_parties)
    ]
    if rows:
        session.connection().execute(insert_into(table_of(CaseParty)), rows)


def summarize(case: Case, request: PasRequest) -> None:
    """What the work list shows and searches: the patient's and provider's names, the member id, the services asked
    for and the first service date."""
    parties = request.parties
    case.patient_name = (person_name(parties.patient.resource) or "")[:200] or None
    case.member_id = min(parties.member_ids, default=None)
    provider = parties.provider.resource.get("name")
    case.provider_name = (provider if isinstance(provider, str) else person_name(parties.provider.resource))[
        :200
    ] or None
    case.service_codes = [f"{system}|{code}" for item in request.items for system, code in item.product_codes[:1]][:20]
    days = [day for item in request.items if (day := service_date(item.element))]
    case.service_from = min(days)[:10] if days else None


def store_submission(
    session: Session,
    *,
    case: Case,
    request: PasRequest,
    claim_response: dict[str, Any],
    kind: str,
    context: RequestContext,
    submission_id: str | None = None,
) -> bytes:
    """Keep the accepted request and its exact answer (for retries); the request becomes the case's latest.
    `submission_id` is the id the caller already gave the case as its latest (a new case is inserted with it)."""
    rule_sets.remember(session, context.rules, now=context.now)
    body = orjson.dumps(response_bundle(request, claim_response, base_url=context.base_url, now=context.now))
    submission_id = submission_id or str(uuid.uuid4())
    row = {
        "id": submission_id,
        "case_id": case.id,
        "submitter": context.submitter,
        "kind": kind,
        "content_hash": request.content_hash,
        "claim_hash": request.claim_hash,
        "received_at": context.now,
        "request_body": request.raw.decode(),
        "response_body": body.decode(),
        "ruleset_version": context.rules.version,
    }
    # Core, not the ORM: nothing reads the row back in this request, and the unit of work costs more than the row.
    session.connection().execute(insert_into(table_of(Submission)), [row])
    # A new case was inserted naming it already: setting it again would leave the case dirty (a second flush).
    if case.latest_submission_id != submission_id:
        case.latest_submission_id = submission_id
    return body
