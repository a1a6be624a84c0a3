"""CDex `$submit-attachment` (FHIR face) and a case's documents for reviewers (staff face)."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import CaseAttachment
from ..errors import NotFound
from ..fhir.attachments import MAX_DOCUMENT_BYTES, read_submission
from ..fhir.envelope import read_json
from ..pas import attachments
from .deps import CaseDep, ContextDep, FhirAccept, FhirBody, SessionDep, WorkDep
from .errors import FHIR_JSON, fhir_response

fhir_router = APIRouter(prefix="/fhir", tags=["CDex"], dependencies=[FhirAccept])
staff_router = APIRouter(prefix="/um", tags=["UM review"])
_OUTCOME = {"description": "OperationOutcome", "content": {FHIR_JSON: {"schema": {"type": "object"}}}}


@fhir_router.post(
    "/$submit-attachment",
    response_class=Response,
    responses={
        200: {"description": "Received for a request (informational OperationOutcome)"},
        202: {"description": "Matches no request: held (informational OperationOutcome)"},
        **dict.fromkeys((400, 404, 409, 413, 415, 422), _OUTCOME),
    },
)
async def submit_attachment(body: FhirBody, work: WorkDep, context: ContextDep) -> Response:
    """Documents for a pended prior authorization request (CDex): stored with the case, which is decided again once
    every document it waits for is here."""

    def receive(session: Session) -> attachments.Received:
        # Inline documents are long base64 strings with their own limit (413, fhir/attachments.py): the general
        # string limit must not cut them short first, so it is raised to what a document past that limit encodes to.
        longest = max(context.limits.max_string_length, 2 * MAX_DOCUMENT_BYTES)
        document = read_json(body, limits=replace(context.limits, max_string_length=longest))
        return attachments.receive(session, read_submission(document), context=context)

    received = await work.run(receive)
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": received.message}],
    }
    return fhir_response(200 if received.case_id else 202, outcome)


@staff_router.get("/cases/{case_id}/attachments", responses={404: {"description": "No such case"}})
def list_attachments(case: CaseDep, session: SessionDep) -> list[dict[str, Any]]:
    """The documents providers sent for a case ($submit-attachment), oldest first."""
    rows = session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.received_at)
    )
    return [
        {
            "id": row.id,
            "received_at": row.received_at,
            "sent_by": row.client_id,
            "line_items": row.line_items,
            "code": row.code,
            "resource_type": row.resource_type,
            "content_type": row.content_type,
            "size": row.size,
            "final": row.final,
            "download": f"/um/cases/{case.id}/attachments/{row.id}",
        }
        for row in rows
    ]


@staff_router.get(
    "/cases/{case_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"description": "The document's bytes, or the FHIR resource"}, 404: {"description": "None"}},
)
def download_attachment(case: CaseDep, attachment_id: str, session: SessionDep) -> Response:
    """One document: its bytes with their content type (a form or Bundle as FHIR JSON)."""
    row = session.get(CaseAttachment, attachment_id)
    if row is None or row.case_id != case.id:
        raise NotFound(f"no attachment {attachment_id} on case {case.id}")
    content = row.content
    if row.resource_type in ("DocumentReference", "Binary"):
        inline = content if row.resource_type == "Binary" else content["content"][0]["attachment"]
        data = base64.b64decode(inline["data"])
        headers = {"Content-Disposition": f'inline; filename="{row.id}"', "X-Content-Type-Options": "nosniff"}
        return Response(data, media_type=row.content_type or "application/octet-stream", headers=headers)
    return Response(orjson.dumps(content), media_type=FHIR_JSON)
