"""Written notices of a case (staff face): listed, and downloaded as issued (PDF or HTML); and the care-management
referrals the rules asked for."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from ..db.models import CaseNotice
from ..errors import NotFound
from ..notify import referrals
from .deps import CaseDep, SessionDep

router = APIRouter(prefix="/um", tags=["UM review"])


@router.get("/cases/{case_id}/notices", responses={404: {"description": "No such case"}})
def list_notices(case: CaseDep, session: SessionDep) -> list[dict[str, Any]]:
    """The denial and partial-approval notices issued for a case, oldest first."""
    rows = session.scalars(select(CaseNotice).where(CaseNotice.case_id == case.id).order_by(CaseNotice.issued_at))
    return [
        {
            "id": row.id,
            "audience": row.audience,
            "kind": row.kind,
            "items": row.items,
            "issued_at": row.issued_at,
            "appeal_by": row.appeal_by,
            "pdf": f"/um/cases/{case.id}/notices/{row.id}?format=pdf",
            "html": f"/um/cases/{case.id}/notices/{row.id}?format=html",
        }
        for row in rows
    ]


@router.get(
    "/cases/{case_id}/notices/{notice_id}",
    response_class=Response,
    responses={
        200: {"description": "The notice as issued (application/pdf or text/html)"},
        404: {"description": "None"},
    },
)
def download_notice(
    case: CaseDep, notice_id: str, session: SessionDep, format: Literal["pdf", "html"] = "pdf"
) -> Response:
    """One notice exactly as issued."""
    row = session.get(CaseNotice, notice_id)
    if row is None or row.case_id != case.id:
        raise NotFound(f"no notice {notice_id} on case {case.id}")
    name = f"{case.preauth_ref}-{row.audience}-{row.kind}"
    if format == "html":
        return Response(row.html, media_type="text/html; charset=utf-8")
    return Response(
        row.pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}.pdf"'}
    )


@router.get("/referrals")
def list_referrals(
    session: SessionDep,
    program: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Care-management referrals, newest first: the case, the program and reason the rule gave, and whether the
    referral event reached the configured endpoint (pending, sent, failed, or no endpoint configured)."""
    return referrals.listing(session, program=program, limit=limit)
