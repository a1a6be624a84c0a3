"""The application factory: wires settings, database, routers and error handlers. Nothing runs at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from .api import errors, fhir, health, staff
from .db.session import Database
from .decision.active import ActiveRules
from .fhir import schema
from .settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the service for `settings` (the environment's by default); `clock` lets tests fix the time."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        schema.warm_up()
        yield
        app.state.database.dispose()

    app = FastAPI(
        title="um-service",
        summary="Payer-side utilization management over Da Vinci PAS 2.2",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = Database(settings.database_url)
    # An invalid rule set stops the service here, naming file, rule and field (RuleSetError).
    app.state.rules = ActiveRules.load(settings.rules_dir)
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.started = datetime.now(UTC).isoformat(timespec="seconds")
    errors.install(app)
    app.include_router(fhir.router)
    app.include_router(staff.router)
    app.include_router(health.router)
    return app
