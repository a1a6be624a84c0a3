"""Documents sent with CDex `$submit-attachment` reach their pended request (pas-additional-info-digest 3-4).

Matching: the TrackingId (or AdminRefNumber) is the request's reference number (the PA-... number the PAS answer,
its Task and its CommunicationRequests carry), plus the member id, and the caller's organisation must be the
request's provider or sender (another organisation's request is answered as unknown: nothing leaks, nothing is
stored). A wrong member is refused. An attachment that matches nothing is held (stored without a case) and answered
with an informational OperationOutcome, as CDex says.

Once every document the request's items wait for has arrived (or the sender says `Final`), the items are decided
again exactly as a Claim Update carrying the documents would be: an item automation pended goes back through the
rules, an item a reviewer asked documents for goes back to the reviewer; the new answer is published (a new
ClaimResponse version for $inquire and the subscribers).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import decision
from ..case import lifecycle
from ..case.lifecycle import PROVIDER, Action, Actor
from ..case.records import apply_outcome, documents_received
from ..case.response_versions import latest_request
from ..case.status import HUMAN_REVIEW, CaseStatus
from ..context import RequestContext
from ..coverage import benefits
from ..db import repository
from ..db.models import Case, CaseAttachment, CaseItem
from ..errors import Conflict, NotFound, Unprocessable
from ..fhir.attachments import Submission
from ..fhir.pas_request import PasRequest, view_stored_request
from ..review import routing

_ADDITIONAL_INFORMATION = {
    "coding": [
        {"system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes", "code": "additionalInformation"}
    ]
}


@dataclass(frozen=True)
class Received:
    """What became of a submission: the case it joined (None: held) and what happened, in words."""

    case_id: str | None
    message: str


def receive(session: Session, submission: Submission, *, context: RequestContext) -> Received:
    """Store a submission's documents with their request and decide its waiting items again when they are complete."""
    case = _case_for(session, submission, context)
    _store(session, submission, case, context)
    if case is None:
        return Received(None, f"No request of ours has reference {submission.tracking_id}; the documents are held.")
    change = lifecycle.begin(session, case=case, action=Action.ATTACH, actor=Actor(context.submitter, PROVIDER))
    request = _with_attachments(session, case)
    changes = _decide_again(session, case, request, change.items, submission.final, context)

    def route(updated: Case) -> str:
        if updated.status == CaseStatus.PENDED:
            routing.place(session, updated, sorted(change.items.values(), key=lambda i: i.sequence))
            routing.offer(session, updated, now=context.now)
        return f"Case {updated.status}."

    change.detail["changes"] = [{"sequence": seq, "change": what} for seq, what in changes]
    count = len(submission.attachments)
    summary = "; ".join(f"item {seq} {what}" for seq, what in changes) or "still waiting for other documents"
    lifecycle.finish(
        session,
        change,
        reason=f"{count} document(s) received by $submit-attachment: {summary}.",
        context=context,
        request=request,
        then=route,
    )
    return Received(case.id, f"Received for {case.preauth_ref}: {summary}.")


def _case_for(session: Session, submission: Submission, context: RequestContext) -> Case | None:
    """The request the submission is for (locked), None when nothing matches, or a refusal."""
    references = {submission.tracking_id, submission.admin_ref} - {None}
    case = session.scalars(select(Case).where(Case.preauth_ref.in_(references)).with_for_update()).first()
    if case is None:
        return None
    parties = repository.parties_of(session, case.id)
    own = {value for role, _, value in parties if role in ("provider", "sender")}
    if context.organization is not None and context.organization not in own:
        raise NotFound(f"no request {submission.tracking_id} of organisation {context.organization}")
    members = {value for role, _, value in parties if role == "member"}
    if members and submission.member_id not in members:
        raise Unprocessable(f"MemberId {submission.member_id} is not the member of request {case.preauth_ref}.")
    if not lifecycle.allows(Action.ATTACH, PROVIDER, case.status):
        raise Conflict(f"Request {case.preauth_ref} was cancelled; documents are not taken for it.")
    sequences = {item.sequence for item in repository.items_of(session, case.id)}
    for attachment in submission.attachments:
        unknown = sorted(set(attachment.line_items) - sequences)
        if unknown:
            raise Unprocessable(f"Request {case.preauth_ref} has no item {', '.join(map(str, unknown))}.")
    return case


def _store(session: Session, submission: Submission, case: Case | None, context: RequestContext) -> None:
    for attachment in submission.attachments:
        session.add(
            CaseAttachment(
                id=str(uuid.uuid4()),
                case_id=case.id if case else None,
                tracking_id=submission.tracking_id[:200],
                member_id=submission.member_id[:100],
                client_id=context.submitter,
                line_items=list(attachment.line_items),
                code=(attachment.code or None) and str(attachment.code)[:50],
                resource_type=str(attachment.content["resourceType"]),
                content_type=attachment.content_type,
                size=attachment.size,
                content=attachment.content,
                final=submission.final,
                received_at=context.now,
            )
        )
    session.flush()


def _with_attachments(session: Session, case: Case) -> PasRequest:
    """The latest request as the rules see it with every document received for it (each cited from supportingInfo
    as additional information; a DocumentReference without a type takes the LOINC code it was sent under)."""
    stored = latest_request(session, case)
    bundle = copy.deepcopy(stored.bundle)
    claim = bundle["entry"][0]["resource"]
    infos = claim.setdefault("supportingInfo", [])
    rows = session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.received_at)
    )
    for row in rows:
        content = copy.deepcopy(row.content)
        if content["resourceType"] == "DocumentReference" and row.code and not content.get("type"):
            content["type"] = {"coding": [{"system": "http://loinc.org", "code": row.code}]}
        url = f"urn:uuid:{row.id}"
        bundle["entry"].append({"fullUrl": url, "resource": content})
        info = {"sequence": len(infos) + 1, "category": _ADDITIONAL_INFORMATION, "valueReference": {"reference": url}}
        if row.code:
            info["code"] = {"coding": [{"system": "http://loinc.org", "code": row.code}]}
        infos.append(info)
    return view_stored_request(orjson.dumps(bundle))


def _decide_again(
    session: Session,
    case: Case,
    request: PasRequest,
    items: dict[int, CaseItem],
    final: bool,
    context: RequestContext,
) -> list[tuple[int, str]]:
    """Decide again the items waiting for documents, once all they wait for is here (or the sender says Final)."""
    waiting = [row for row in items.values() if lifecycle.awaits_documents(row)]
    present = decision.present_documents(request)
    if not waiting or not (final or all({d["loinc"] for d in row.documents} <= present for row in waiting)):
        return []
    in_review = case.status in HUMAN_REVIEW
    outcomes = {}
    if not in_review:
        membership = benefits.look_up(
            session, request, context, on=benefits.first_day(request, case.received_at.date())
        )
        outcomes = benefits.decide(session, request, membership, context, received=case.received_at, case_id=case.id)
    changes = []
    for row in sorted(waiting, key=lambda r: r.sequence):
        if in_review:
            documents_received(row, context)
            changes.append((row.sequence, "documents received"))
        elif row.sequence in outcomes:
            apply_outcome(row, outcomes[row.sequence], context)
            changes.append((row.sequence, "decided again with the documents sent"))
    return changes
