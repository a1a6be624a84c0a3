"""The member registry on the staff face: import an enrollment feed (FHIR Bundle or NDJSON) and read a member."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..coverage import registry
from ..errors import InvalidRequest, NotFound
from ..fhir.enrollment import read_feed
from .deps import ContextDep, SessionDep, SettingsDep, read_body

router = APIRouter(prefix="/um", tags=["UM staff"])

FEED_TYPES = ("application/fhir+json", "application/fhir+ndjson", "application/x-ndjson", "application/json")
_FEED_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A FHIR Bundle of Patients and Coverages, or NDJSON (application/fhir+ndjson, one per line).",
        "content": {"application/fhir+json": {"schema": {"type": "object", "title": "Bundle"}}},
    }
}


@router.post(
    "/members/$import",
    openapi_extra=_FEED_BODY,
    responses={415: {"description": "Not a FHIR feed"}, 422: {"description": "OperationOutcome: every bad line"}},
)
async def import_members(request: Request, session: SessionDep, settings: SettingsDep, context: ContextDep) -> Any:
    """Load an enrollment feed (Patients and Coverages): all of it, or nothing with every problem named."""
    raw = await read_body(request, accepted=FEED_TYPES, limit=settings.max_body_bytes)
    feed = read_feed(raw, name="body")
    if feed.problems:
        raise InvalidRequest(422, feed.problems)
    stored = registry.store(session, feed, now=context.now)
    return {"members": stored.members, "coverages": stored.coverages}


@router.get("/members/{member_id}", responses={404: {"description": "No such member"}})
def get_member(member_id: str, session: SessionDep) -> dict[str, Any]:
    """A member and their coverages (periods, plan, group, payor)."""
    found = registry.member_view(session, member_id)
    if found is None:
        raise NotFound(f"member {member_id} is not in the registry")
    return found
