"""Reports and appeals on the staff face: the CMS-0057-F figures (JSON, CSV, xlsx) and appeal records."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ..reports import cms, team_metrics
from ..review import appeals
from .deps import ActorDep, ContextDep, LockedCaseDep, SessionDep, SettingsDep

router = APIRouter(prefix="/um", tags=["UM reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/reports/cms-0057", responses={200: {"content": {"text/csv": {}, XLSX: {}}, "description": "The report"}})
def cms_0057(
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
    entity: Annotated[str | None, Query(max_length=100)] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    """The nine CMS-0057-F figures for [from, to) and a line of business, as JSON, CSV or a spreadsheet."""
    report = cms.cms_0057(
        session,
        start=dt.datetime.combine(start, dt.time(), dt.UTC),
        end=dt.datetime.combine(end, dt.time(), dt.UTC),
        entity=entity,
        rules=context.rules,
        partial_as=settings.report_partial_as,
    )
    name = f"cms-0057-{start.isoformat()}-{end.isoformat()}"
    if format == "csv":
        return Response(
            cms.as_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            cms.as_xlsx(report),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return JSONResponse(report)


class AppealIn(BaseModel):
    """An appeal of denied items."""

    items: list[int] = Field(min_length=1)
    reason: str = Field(min_length=1)


class AppealDecisionIn(BaseModel):
    """An appeal's result."""

    outcome: Literal["approved", "upheld"]
    note: str = ""


def _appeal(appeal: Any) -> dict[str, Any]:
    return {
        "id": appeal.id,
        "case_id": appeal.case_id,
        "outcome": appeal.outcome,
        "filed_at": appeal.filed_at,
        "decided_at": appeal.decided_at,
    }


@router.post(
    "/cases/{case_id}/appeals", responses={404: {"description": "No such case"}, 409: {"description": "Not denied"}}
)
def file_appeal(
    case: LockedCaseDep, body: AppealIn, session: SessionDep, context: ContextDep, actor: ActorDep
) -> dict[str, Any]:
    """Record a provider's appeal of denied items."""
    appeal = appeals.file_appeal(
        session, case=case, actor=actor, sequences=body.items, reason=body.reason, context=context
    )
    return _appeal(appeal)


@router.post(
    "/appeals/{appeal_id}/decision", responses={404: {"description": "No such appeal"}, 409: {"description": "Decided"}}
)
def decide_appeal(
    appeal_id: str,
    body: AppealDecisionIn,
    session: SessionDep,
    context: ContextDep,
    actor: ActorDep,
) -> dict[str, Any]:
    """Decide an appeal (medical directors); an approval certifies the appealed items."""
    return _appeal(
        appeals.decide_appeal(
            session,
            appeal_id=appeal_id,
            actor=actor,
            approved=body.outcome == "approved",
            note=body.note,
            context=context,
        )
    )


@router.get("/operations")
def operations_figures(session: SessionDep, context: ContextDep) -> dict[str, Any]:
    """Open cases per queue, overdue and near-due counts, auto-approval rate, median decision time per queue and
    decisions per reviewer (last 30 days)."""
    return team_metrics.snapshot(session, now=context.now)


metrics_router = APIRouter(tags=["Operations"])


@metrics_router.get(
    "/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}, "description": "Prometheus"}}
)
def metrics(session: SessionDep, context: ContextDep) -> Response:
    """The operational figures as Prometheus metrics (scraped with an administrator token)."""
    figures = team_metrics.snapshot(session, now=context.now)
    return Response(team_metrics.prometheus(figures), media_type="text/plain; version=0.0.4")
