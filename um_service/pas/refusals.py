"""Business refusals: a readable request we will not process gets HTTP 200 and a ClaimResponse with outcome
'error' and X12 AAA codes (design card, "Two kinds of no"). Only the refusal itself is stored."""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy.orm import Session

from ..case import audit
from ..context import RequestContext
from ..db.models import Refusal as RefusalRow
from ..fhir.bundles import BusinessRefusal, error_response_bundle
from ..fhir.pas_request import PasRequest


def refuse(
    session: Session, *, request: PasRequest, caller: RequestContext, refusal: BusinessRefusal, case_id: str | None
) -> bytes:
    """Store the refusal and its audit row; return the PAS error response body."""
    refusal_id = str(uuid.uuid4())
    body = orjson.dumps(
        error_response_bundle(request, refusal_id=refusal_id, refusal=refusal, base_url=caller.base_url, now=caller.now)
    )
    session.add(
        RefusalRow(
            id=refusal_id,
            submitter=caller.submitter,
            received_at=caller.now,
            content_hash=request.content_hash,
            reason_code=refusal.reason.value,
            message=refusal.message,
            request_body=request.raw.decode(),
            response_body=body.decode(),
        )
    )
    audit.record(
        session,
        case_id=case_id,
        actor=caller.submitter,
        role="provider",
        action="refused",
        reason=refusal.message,
        at=caller.now,
        detail={"refusal_id": refusal_id, "x12_reason": refusal.reason.value},
    )
    return body
