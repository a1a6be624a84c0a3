"""Health checks for orchestrators: liveness (the process answers) and readiness (the database answers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from .deps import DatabaseDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database does not answer"}})
def ready(database: DatabaseDep) -> JSONResponse:
    """The service can reach its database."""
    try:
        database.ping()
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
