"""$submit: read the request, recognise retries, open a case or hand an update on, decide, answer, audit.

Everything one submission stores (case, items, submission, ClaimResponse version, audit row) is flushed in the
request's transaction, which has written nothing before (the request's unit of work only reads before this). Races
between identical or conflicting submissions are settled by unique constraints: the loser rolls the transaction back
and runs again, now seeing the winner's rows. (A savepoint per submission cost about a tenth of a $submit.)
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..case import clocks, lifecycle, review_types, stays
from ..case.lifecycle import PROVIDER, Action, Actor
from ..case.records import new_item, record_keys, store_submission, summarize
from ..case.status import CaseStatus, Priority, new_preauth_ref
from ..context import RequestContext
from ..coverage import benefits
from ..coverage.benefits import ADMINISTRATIVE
from ..db import repository
from ..db.models import Case, CaseItem
from ..errors import Forbidden
from ..fhir.admission import admission_of
from ..fhir.bundles import BusinessRefusal
from ..fhir.codes import RejectReason
from ..fhir.pas_request import PasRequest, read_submit_request
from ..review import routing
from . import refusals, updates

log = logging.getLogger(__name__)

_ATTEMPTS = 3


def submit(session: Session, *, raw: bytes, context: RequestContext) -> bytes:
    """Handle a $submit body and return the PAS response body (raises InvalidRequest for 4xx)."""
    request = read_submit_request(raw, limits=context.limits)
    _check_organization(request, context)
    for attempt in range(1, _ATTEMPTS + 1):
        earlier = repository.find_submission(session, submitter=context.submitter, content_hash=request.content_hash)
        if earlier is not None:
            log.info("replayed submission", extra={"case_id": earlier.case_id, "submission_id": earlier.id})
            return earlier.response_body.encode()
        try:
            if request.is_update:
                body = updates.apply(session, request=request, context=context)
            else:
                body = _open_case(session, request=request, context=context)
            session.flush()
            return body
        except IntegrityError:
            # Another transaction stored the same request or identifier first: start again and look.
            session.rollback()
            if attempt == _ATTEMPTS:
                raise
            log.info("submission raced another; retrying", extra={"attempt": attempt})
    raise AssertionError("unreachable")


def _check_organization(request: PasRequest, context: RequestContext) -> None:
    """A provider client submits only for its own organisation: the requesting provider or the sender."""
    if context.organization is None:
        return
    parties = request.parties
    own = {value for _, value in parties.provider_ids} | set(parties.sender_ids)
    if context.organization not in own:
        raise Forbidden(
            f"This client submits for organisation {context.organization}; the request's provider and sender "
            "identifiers do not include it.",
            "Bundle.entry[0].resource.provider",
        )


def _why_not(
    session: Session, request: PasRequest, membership: benefits.Membership, context: RequestContext
) -> tuple[Case | None, BusinessRefusal | None]:
    """Why a new request is refused (and the case whose identifier it reuses), or (None, None)."""
    owners = repository.case_ids_with_identifiers(session, submitter=context.submitter, identifiers=request.identifiers)
    if owners:
        owner = repository.get_case(session, sorted(owners)[0])
        ref = owner.preauth_ref if owner else "another request"
        return owner, BusinessRefusal(
            RejectReason.INPUT_ERRORS,
            f"This request's identifier was already used for a different request ({ref}). A new request needs a new "
            "identifier; to change that request, send a Claim Update naming it in Claim.related.",
            "Bundle.entry[0].resource.identifier",
        )
    if membership.unknown:
        return None, _not_enrolled(request)
    cancelled = [str(i.sequence) for i in request.items if i.cancelled]
    if request.cancels_all or cancelled:
        what = (
            "This cancels a request" if request.cancels_all else f"Item(s) {', '.join(cancelled)} are marked cancelled"
        )
        return None, BusinessRefusal(
            RejectReason.AUTHORIZATION_NOT_FOUND,
            f"{what} but no prior request is named: a cancellation is a Claim Update whose Claim.related points at "
            "the request it changes (PAS 2.2).",
            "Bundle.entry[0].resource.related",
        )
    return None, None


def _not_enrolled(request: PasRequest) -> BusinessRefusal:
    """An unknown member is refused (X12 AAA 75) once the registry is in use (UM_ELIGIBILITY, README)."""
    looked_for = ", ".join(sorted(request.parties.member_ids)) or "none given"
    coverage = request.parties.coverage
    where = (
        f"Bundle.entry[{coverage.index}].resource.subscriberId" if coverage else "Bundle.entry[0].resource.insurance"
    )
    return BusinessRefusal(
        RejectReason.SUBSCRIBER_NOT_FOUND,
        f"No member of this plan has the member id given ({looked_for}). Check the member id on the card and "
        "send the request again.",
        where,
    )


def _open_case(session: Session, *, request: PasRequest, context: RequestContext) -> bytes:
    membership = benefits.look_up(session, request, context, on=benefits.first_day(request, context.now.date()))
    owner, refusal = _why_not(session, request, membership, context)
    if refusal is not None:
        return refusals.refuse(
            session, request=request, caller=context, refusal=refusal, case_id=owner.id if owner else None
        )
    priority = Priority.EXPEDITED if request.expedited else Priority.STANDARD
    line_of_business = membership.line_of_business
    admission = admission_of(request)
    review_type = review_types.review_type_of(request, context.now.date(), admission)
    submission_id = str(uuid.uuid4())  # the case is inserted naming the submission stored last (no UPDATE)
    case = Case(
        id=str(uuid.uuid4()),
        submitter=context.submitter,
        preauth_ref=new_preauth_ref(),
        status=CaseStatus.RECEIVED,
        priority=priority,
        received_at=context.now,
        due_at=clocks.due_for(context.now, priority, line_of_business, context.due_overrides, review_type=review_type),
        updated_at=context.now,
        response_version=0,
        latest_submission_id=submission_id,
        line_of_business=line_of_business,
        review_type=review_type,
        member_state=request.parties.member_state,
    )
    summarize(case, request)
    session.add(case)  # inserted with its items, answer and audit row when the lifecycle finishes the change
    outcomes = benefits.decide(session, request, membership, context, received=case.received_at)
    if admission is not None:
        stays.record(case, admission)
        outcomes = stays.admit(admission, outcomes)
    items = [new_item(case.id, requested, outcomes.get(requested.sequence), context) for requested in request.items]
    session.add_all(items)
    actor = Actor(context.submitter, PROVIDER)
    change = lifecycle.begin(session, case=case, action=Action.SUBMIT, actor=actor, items=items)
    change.detail.update({"items": {i.sequence: i.review_action for i in items}, "priority": case.priority})

    def route(received: Case) -> str:
        if received.status != CaseStatus.PENDED:
            return f"Case {received.status}."
        routing.place(session, received, items)
        routing.offer(session, received, now=context.now)
        change.detail.update({"queue": received.queue, "assignee": received.assignee})
        return f"Case pended. Queue {received.queue}, offered to {received.assignee or 'nobody yet'}."

    resource = lifecycle.finish(
        session,
        change,
        reason=f"PAS request received with {len(items)} item(s)." + _administrative_note(items),
        context=context,
        request=request,
        then=route,
    )
    record_keys(session, case=case, request=request, submitter=context.submitter, new=True)
    return store_submission(
        session,
        case=case,
        request=request,
        claim_response=resource,
        kind="initial",
        context=context,
        submission_id=submission_id,
    )


def _administrative_note(items: list[CaseItem]) -> str:
    """The history's words for items intake did not certify administratively."""
    return "".join(
        f" Item {i.sequence} not certified (administrative, {i.reason_code or 'no code'}): {i.reason}"
        for i in items
        if i.decision_kind == ADMINISTRATIVE
    )
