"""Answering: the case's ClaimResponse is always derived from its items, and every change stores a new version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..db import repository
from ..db.models import Case, CaseItem, ClaimResponseVersion
from ..fhir.codes import ReviewAction
from ..fhir.pas_request import PasRequest, view_stored_request
from ..fhir.response import CaseView, ItemResult, claim_response
from ..review import availability
from .records import AUTOMATION, INTAKE
from .status import CaseStatus

_NOTED = frozenset(
    {ReviewAction.NOT_CERTIFIED, ReviewAction.PARTIAL, ReviewAction.MODIFIED, ReviewAction.CONTACT_PAYER}
)


def item_results(items: list[CaseItem], case: Case | None = None) -> list[ItemResult]:
    """The items of a case as ClaimResponse inputs (an admission's stay items carry its dates: case/stays.py)."""
    results = []
    admitted = case.admitted_on if case is not None else None
    for item in items:
        action = ReviewAction(item.review_action)
        documents = tuple(item.documents)
        note = item.reason if action in _NOTED or action is ReviewAction.PENDED else None
        period = (item.authorized_start, item.authorized_end)
        results.append(
            ItemResult(
                sequence=item.sequence,
                action=action,
                element=item.element,
                authorized_period=period if period[0] and period[1] else None,  # type: ignore[arg-type]
                decided_on=item.updated_at.date().isoformat() if action.is_final else None,
                note=note,
                documents=documents,
                authorized_quantity=item.authorized_quantity,
                reason_code=item.reason_code,
                human=item.decided_by not in (None, AUTOMATION, INTAKE),
                stay=admitted is not None and item.authorized_start == admitted,
                discharged=case.discharged_on if case is not None and admitted is not None else None,
            )
        )
    return results


def publish_if_changed(
    session: Session,
    *,
    case: Case,
    request: PasRequest,
    items: list[CaseItem],
    now: datetime,
    payer_system: str,
) -> tuple[dict[str, Any], bool]:
    """The case's ClaimResponse derived from its items: stored as the case's next version if it says anything the
    current version does not (its version and time stamps aside); returns it and whether it was published."""
    results = item_results(items, case)
    p2p = availability.booked_note(session, case.id) if case.status == CaseStatus.P2P_SCHEDULED else None
    # A new case has no version yet: nothing to compare with, and no query to make.
    current = repository.current_claim_response(session, case.id) if case.response_version else None
    if current is not None:
        unchanged = _view(case, current.version, current.created_at, request, results, p2p)
        if claim_response(unchanged, payer_system=payer_system) == current.claim_response:
            return current.claim_response, False
    case.response_version += 1
    case.updated_at = now
    view = _view(case, case.response_version, now, request, results, p2p)
    resource = claim_response(view, payer_system=payer_system)
    session.add(
        ClaimResponseVersion(case_id=case.id, version=case.response_version, created_at=now, claim_response=resource)
    )
    return resource, True


def _view(
    case: Case, version: int, created: datetime, request: PasRequest, results: list[ItemResult], p2p: str | None
) -> CaseView:
    return CaseView(case.id, version, case.preauth_ref, created, request, results, case.due_at, p2p)


def latest_request(session: Session, case: Case) -> PasRequest:
    """The newest accepted request of a case, read back from the exact bytes received."""
    assert case.latest_submission_id is not None
    submission = repository.get_submission(session, case.latest_submission_id)
    assert submission is not None
    return view_stored_request(submission.request_body.encode())


def current(session: Session, case_id: str) -> tuple[dict[str, Any], ClaimResponseVersion] | None:
    """The current ClaimResponse of a case and its version row."""
    row = repository.current_claim_response(session, case_id)
    if row is None:
        return None
    return row.claim_response, row
