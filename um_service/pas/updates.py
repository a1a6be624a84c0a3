"""PAS Claim Updates and cancellations (digest 7): find the request it updates, check it may, apply item changes.

A Claim Update names its predecessor in `related` and includes it in the Bundle. We find the case by that
predecessor's identifiers and require the predecessor to be exactly the latest version we hold (by content),
so an update based on a version we never received, or on an older one, is refused rather than guessed at.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .. import decision
from ..case import clocks, lifecycle, review_types, stays
from ..case.lifecycle import PROVIDER, Action, Actor
from ..case.records import (
    apply_outcome,
    cancel_item,
    documents_received,
    new_item,
    record_keys,
    store_submission,
    summarize,
)
from ..case.status import HUMAN_REVIEW, CaseStatus, Priority
from ..context import RequestContext
from ..coverage import benefits
from ..db import repository
from ..db.models import Case, CaseItem
from ..fhir.admission import admission_of
from ..fhir.bundles import BusinessRefusal
from ..fhir.codes import FollowupAction, RejectReason, ReviewAction
from ..fhir.elements import identifier_pairs
from ..fhir.pas_request import PasRequest, claim_hash
from ..review import routing
from . import refusals

_PATH = "Bundle.entry[0].resource.related"


def apply(session: Session, *, request: PasRequest, context: RequestContext) -> bytes:
    """Apply a Claim Update (or cancellation) and return the PAS response body, or a business refusal."""
    case, refusal = _prior_case(session, request, context)
    if case is not None and refusal is None:
        refusal = _why_not(session, case, request, context)
    if refusal is not None:
        return refusals.refuse(
            session, request=request, caller=context, refusal=refusal, case_id=case.id if case else None
        )
    assert case is not None
    action = Action.CANCEL if request.cancels_all else Action.UPDATE
    change = lifecycle.begin(session, case=case, action=action, actor=Actor(context.submitter, PROVIDER))
    changes = _apply_items(session, case, request, change.items, context)
    if request.expedited and case.priority != Priority.EXPEDITED and case.review_type != review_types.RETROSPECTIVE:
        case.priority = Priority.EXPEDITED
        expedited_due = clocks.due_for(context.now, Priority.EXPEDITED, case.line_of_business, context.due_overrides)
        case.due_at = min(case.due_at, expedited_due)
    if any(_in_concurrent_review(change.items[seq]) for seq, _ in changes):
        case.due_at = stays.due(context.now, case.line_of_business, context.due_overrides)
        case.near_breach = False
    record_keys(session, case=case, request=request, submitter=context.submitter)
    summarize(case, request)
    change.detail["changes"] = [{"sequence": seq, "change": what} for seq, what in changes]

    def route(updated: Case) -> str:
        if updated.status == CaseStatus.PENDED:
            routing.place(session, updated, sorted(change.items.values(), key=lambda i: i.sequence))
            routing.offer(session, updated, now=context.now)
        return f"Case {updated.status}."

    summary = "; ".join(f"item {seq} {what}" for seq, what in changes) or "no item changed"
    resource = lifecycle.finish(
        session, change, reason=f"PAS Claim Update: {summary}.", context=context, request=request, then=route
    )
    kind = "cancel" if request.cancels_all else "update"
    return store_submission(session, case=case, request=request, claim_response=resource, kind=kind, context=context)


def _in_concurrent_review(item: CaseItem) -> bool:
    return item.review_action == ReviewAction.PENDED and item.queue == stays.CONCURRENT_QUEUE


def _prior_case(
    session: Session, request: PasRequest, context: RequestContext
) -> tuple[Case | None, BusinessRefusal | None]:
    """The case the update's prior Claim identifies (locked), or why there is none to update."""
    assert request.prior is not None
    owners = repository.case_ids_with_identifiers(
        session, submitter=context.submitter, identifiers=identifier_pairs(request.prior.resource)
    )
    if not owners:
        message = "This update names a prior request we never received from you. Send it as a new request."
        return None, BusinessRefusal(RejectReason.AUTHORIZATION_NOT_FOUND, message, _PATH)
    if len(owners) > 1:
        message = "The prior Claim's identifiers belong to more than one of your requests; name one."
        return None, BusinessRefusal(RejectReason.INPUT_ERRORS, message, _PATH)
    return repository.get_case(session, owners.pop(), lock=True), None


def _why_not(session: Session, case: Case, request: PasRequest, context: RequestContext) -> BusinessRefusal | None:
    """Why this update of `case` is refused, or None."""
    ref = case.preauth_ref
    if not lifecycle.allows(Action.UPDATE, PROVIDER, case.status):
        message = f"Request {ref} was cancelled; it cannot be updated. Send a new request."
        return BusinessRefusal(RejectReason.INPUT_ERRORS, message, _PATH, FollowupAction.RESUBMISSION_NOT_ALLOWED)
    assert request.prior is not None
    prior_hash = claim_hash(request.prior.resource)
    latest = repository.get_submission(session, case.latest_submission_id or "")
    if latest is None or prior_hash != latest.claim_hash:
        if prior_hash in repository.claim_hashes_of(session, case.id):
            message = (
                f"This update is based on an earlier version of request {ref}, not the latest one we hold; base it "
                "on the latest version and send it again."
            )
            return BusinessRefusal(RejectReason.INPUT_ERRORS, message, _PATH)
        message = (
            f"The prior Claim included in this update is not a version of request {ref} we received; include the "
            "Claim exactly as last sent."
        )
        return BusinessRefusal(RejectReason.AUTHORIZATION_NOT_FOUND, message, _PATH)
    others = repository.case_ids_with_identifiers(
        session, submitter=context.submitter, identifiers=request.identifiers
    ) - {case.id}
    if others:
        message = "This update's identifier already belongs to another of your requests."
        return BusinessRefusal(RejectReason.INPUT_ERRORS, message, _PATH)
    recorded = {value for role, _, value in repository.parties_of(session, case.id) if role == "member"}
    if recorded and request.parties.member_ids and not recorded & request.parties.member_ids:
        message = f"This update names a different member than request {ref}; send a new request for that member."
        return BusinessRefusal(RejectReason.INPUT_ERRORS, message, _PATH)
    sent = {item.sequence for item in request.items}
    missing = sorted({item.sequence for item in repository.items_of(session, case.id)} - sent)
    if missing:
        message = (
            f"An update repeats every item sent before, with the same sequence (PAS); item(s) "
            f"{', '.join(map(str, missing))} are missing. Mark an item cancelled rather than leaving it out."
        )
        return BusinessRefusal(RejectReason.INPUT_ERRORS, message, "Bundle.entry[0].resource.item")
    return None


def _apply_items(
    session: Session, case: Case, request: PasRequest, existing: dict[int, CaseItem], context: RequestContext
) -> list[tuple[int, str]]:
    """Cancel, add or re-decide items; return (sequence, what happened) for each one that changed."""
    outcomes = benefits.decide_again(session, request, context, received=case.received_at, case_id=case.id)
    stay_changed: frozenset[int] = frozenset()
    admission = admission_of(request) if case.admitted_on is not None else None
    if admission is not None:
        # A continued stay or a discharge changes the admission's dates, not the stay items themselves.
        stay_changed = admission.items if stays.record(case, admission) else frozenset()
        outcomes = stays.continue_stay(admission, outcomes, existing)
    in_review = case.status in HUMAN_REVIEW
    # Only a case a reviewer holds waits on documents outside automation; skip the bundle walk otherwise.
    present = decision.present_documents(request) if in_review else frozenset()
    changes: list[tuple[int, str]] = []
    for requested in request.items:
        row = existing.get(requested.sequence)
        outcome = None if request.cancels_all else outcomes.get(requested.sequence)
        if (
            in_review
            and row is not None
            and outcome is not None
            and lifecycle.awaits_documents(row)
            and row.content_hash == requested.content_hash
        ):
            # A reviewer asked for these documents: they go to the reviewer, not back through automation.
            wanted = {d["loinc"] for d in row.documents}
            if wanted <= present:
                documents_received(row, context)
                changes.append((requested.sequence, "documents received"))
            continue
        if row is None:
            row = new_item(case.id, requested, outcome, context)
            session.add(row)
            existing[requested.sequence] = row
            changes.append((requested.sequence, "added" if outcome else "added cancelled"))
        elif outcome is None:
            if row.review_action != ReviewAction.CANCELLED:
                cancel_item(row, context)
                changes.append((requested.sequence, "cancelled"))
        elif (
            row.content_hash != requested.content_hash
            or row.review_action == ReviewAction.CANCELLED
            or lifecycle.awaits_documents(row)
            or requested.sequence in stay_changed
        ):
            # Changed, re-requested, pended for documents this update may carry, or its stay's dates moved: decide
            # it again.
            if row.content_hash != requested.content_hash:
                what = "changed"
            elif requested.sequence in stay_changed:
                what = "stay dates changed"
            elif row.review_action == ReviewAction.CANCELLED:
                what = "requested again"
            else:
                what = "decided again with the documents sent"
            row.content_hash = requested.content_hash
            row.element = requested.element
            apply_outcome(row, outcome, context)
            changes.append((requested.sequence, what))
    return changes
