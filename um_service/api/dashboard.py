"""The UM lead's dashboard on the staff face: its figures for a period (JSON), the same with server-drawn SVG charts
and their tables, and the page that shows them. The page is a static shell and one script, like the work list: it
signs its requests with the token the work list keeps after sign-in, since a plain link cannot carry one."""

from __future__ import annotations

import html
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..reports import dashboard
from ..reports.dashboard_charts import charts_of
from .deps import ContextDep, SessionDep

router = APIRouter(prefix="/um", tags=["UM reports"])
page_router = APIRouter(tags=["Dashboard page"], include_in_schema=False)

Days = Annotated[int, Query(ge=7, le=90, description="How many calendar days (UTC) up to now the figures cover")]
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@router.get("/dashboard")
def dashboard_figures(session: SessionDep, context: ContextDep, days: Days = 30) -> dict[str, Any]:
    """Requests received per day and queue, the automation rate per day, the results of the items requested, time to
    decision against the due time per priority, open cases overdue or near breach, and decisions per reviewer."""
    return dashboard.figures(session, now=context.now, days=days)


@router.get("/dashboard/charts")
def dashboard_charts(session: SessionDep, context: ContextDep, days: Days = 30) -> dict[str, Any]:
    """The dashboard's figures and its charts: for each, an id, a title, the SVG and the table of its numbers."""
    figures = dashboard.figures(session, now=context.now, days=days)
    return figures | {"charts": charts_of(figures)}


@page_router.get("/ui/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request) -> HTMLResponse:
    """The dashboard page."""
    template = resources.files("um_service.ui").joinpath("dashboard.html").read_text()
    return HTMLResponse(template.replace("{service}", html.escape(request.app.title)), headers=_PAGE_HEADERS)


@page_router.get("/ui/dashboard.js")
def dashboard_script() -> Response:
    """The dashboard page's script."""
    script = resources.files("um_service.ui").joinpath("dashboard.js").read_text()
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
