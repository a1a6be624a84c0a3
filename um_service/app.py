"""The application factory: wires settings, database, routers and error handlers. Nothing runs at import."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session

from . import logs
from .api import (
    attachments,
    auth,
    crd,
    dashboard,
    dtr,
    errors,
    fhir,
    health,
    members,
    notices,
    p2p,
    reports,
    review,
    staff,
    subscriptions,
    ui,
)
from .api.deps import authorize
from .auth import tokens
from .auth.cds_hooks import EhrClients, JwksCache
from .auth.clients import DisabledClients
from .case import clocks
from .case.lifecycle import SystemMoment
from .crd.ehr_fhir import EhrFhir
from .db import rule_sets
from .db.session import Database
from .decision.active import ActiveRules
from .fhir import schema
from .logs import RequestLogging
from .notify.outbox import DeliveryPolicy, Dispatcher
from .review import staff as staff_directory
from .settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    database: Database | None = None,
) -> FastAPI:
    """Build the service for `settings` (the environment's by default); tests may fix the clock and hand in the
    database (one bound to a transaction they roll back)."""
    settings = settings or get_settings()
    if settings.log_json:
        logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        schema.warm_up()
        # Workers starting at once on a new database would each seed it, and all but one fail on the others' rows.
        with app.state.database.one_at_a_time() as session:
            if settings.staff_file.is_file():
                staff_directory.seed(session, settings.staff_file)
            app.state.token_key = tokens.signing_key(session, configured=settings.token_secret, now=app.state.clock())
            # The files on disk are what this deployment ships: they become the version every worker runs.
            rule_sets.activate(session, app.state.rules.current, now=app.state.clock())
        app.state.rules_follower = RulesFollower(app.state.rules, every_seconds=settings.rules_follow_seconds)
        dispatcher = None
        if settings.dispatcher:
            dispatcher = _dispatcher(app, settings)
            dispatcher.start()
        app.state.dispatcher = dispatcher
        # What is loaded by now (rules, schemas, the libraries) lives as long as the worker: frozen, the collector's
        # full passes skip it, where one took ~100 ms in the middle of a request (bench/submit.py's p99). No collection
        # first: it would cost each start (every test) as much, for the little startup garbage frozen with the rest.
        gc.freeze()
        yield
        gc.unfreeze()  # an app built and stopped in a longer-lived process (tests) leaves nothing frozen behind
        if dispatcher is not None:
            dispatcher.stop()
        app.state.ehr_fhir.close()
        app.state.database.dispose()

    app = FastAPI(
        dependencies=[Depends(authorize)],
        title="um-service",
        summary="Payer-side utilization management over Da Vinci PAS 2.2",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url)
    # An invalid rule set stops the service here, naming file, rule and field (RuleSetError).
    app.state.rules = ActiveRules.load(settings.rules_dir)
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.jwks = JwksCache()
    app.state.disabled_clients = DisabledClients()
    app.state.ehr_clients = EhrClients()
    app.state.ehr_fhir = EhrFhir()
    app.state.started = datetime.now(UTC).isoformat(timespec="seconds")
    app.add_middleware(RequestLogging)
    errors.install(app)
    # A request is matched against the routes in this order: the faces EHRs call on every order and request come
    # first (behind some sixty staff routes, matching cost CRD's hook about 0.05 ms of its 2.5, bench/profile_crd.py).
    ehr_facing = (fhir.router, crd.router, dtr.router, attachments.fhir_router, subscriptions.router)
    staff_facing = (review.router, p2p.router, reports.router, reports.metrics_router, dashboard.router)
    pages_and_admin = (dashboard.page_router, ui.router, staff.router, members.router, health.router, auth.router)
    for router in (*ehr_facing, *staff_facing, *pages_and_admin, attachments.staff_router, notices.router):
        app.include_router(router)
    fhir.add_request_examples(app, settings.examples_dir)
    return app


def _dispatcher(app: FastAPI, settings: Settings) -> Dispatcher:
    database = app.state.database
    clock = app.state.clock

    def sweep(now: datetime) -> None:
        with database.transaction() as session:
            moment = SystemMoment(now, settings.payer_identifier_system, settings.public_base_url or "")
            clocks.sweep(session, context=moment)

    policy = DeliveryPolicy(max_attempts=settings.notify_max_attempts, timeout=settings.notify_timeout_seconds)
    return Dispatcher(
        database,
        clock=clock,
        policy=policy,
        poll_seconds=settings.dispatcher_poll_seconds,
        periodic=sweep,
        periodic_seconds=settings.clock_sweep_seconds,
    )


class RulesFollower:
    """Keeps this worker on the rule-set version activated in the database (a reload in any worker)."""

    def __init__(self, rules: ActiveRules, *, every_seconds: float):
        self._rules = rules
        self._every = every_seconds
        self._checked = 0.0

    def due(self) -> bool:
        """Whether the last check is older than the interval."""
        return time.monotonic() - self._checked >= self._every

    def maybe_follow(self, session: Session) -> None:
        """Check the active version (in the request's session) if the last check is older than the interval."""
        if not self.due():
            return
        self._checked = time.monotonic()
        version = rule_sets.active_version(session)
        self._rules.follow(version, lambda v: rule_sets.stored(session, v))
