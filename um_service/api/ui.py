"""The work-list page for UM nurses and medical directors: a server-rendered shell and one script, no build step.
The page signs in through /auth/token and works through the staff API with the same authorisation as any client."""

from __future__ import annotations

import html
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

router = APIRouter(tags=["Work-list page"], include_in_schema=False)


@router.get("/ui", response_class=HTMLResponse)
def ui_page(request: Request) -> HTMLResponse:
    """The work-list page."""
    template = resources.files("um_service.ui").joinpath("index.html").read_text()
    page = template.replace("{service}", html.escape(request.app.title)).replace("{base}", "")
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": (
                "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-src 'self' blob:; "
                "img-src 'self' blob: data:"
            ),
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


@router.get("/ui/app.js")
def ui_script() -> Response:
    """The page's script."""
    script = resources.files("um_service.ui").joinpath("app.js").read_text()
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
