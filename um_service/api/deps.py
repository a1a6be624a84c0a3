"""Annotated dependencies shared by the routers: the request's unit of work, settings, caller, request context,
the FHIR request body, and lookup-or-404 dependencies that reuse the request's session."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ..auth import clients, policy, tokens
from ..auth.tokens import Caller
from ..case.lifecycle import Actor
from ..context import RequestContext
from ..db import repository
from ..db.models import Case, Reviewer
from ..db.session import Database
from ..errors import Forbidden, NotFound, Problem, ServiceError, Unauthenticated
from ..fhir.envelope import Limits
from ..notify.subscriptions import OUTBOX_QUEUED
from ..settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

_FHIR_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


# Dependencies that do no I/O are `async def`: a plain `def` would cost each request a hop to the thread pool and back.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]


async def _unit_of_work(request: Request, database: DatabaseDep) -> AsyncIterator[Session]:
    """The request's one session: committed after the handler and before the answer leaves, or rolled back if the
    handler raised; then, if the commit queued notifications, this worker's dispatcher is woken to send them."""
    session = database.session()  # no I/O until its first statement, which runs in the handler's thread
    try:
        yield session
    except BaseException:
        await _end(session, commit=False)
        raise
    await _end(session, commit=True)
    changed = session.info.get(clients.CLIENTS_CHANGED)
    if changed:
        request.app.state.disabled_clients.forget(changed)
        request.app.state.ehr_clients.forget()
    if session.info.get(OUTBOX_QUEUED):
        wake_dispatcher(request)


async def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close, in the thread pool when there is a transaction (one hop, shielded: a
    cancelled request must still release its connection and SQLite's write lock)."""

    def end() -> None:
        try:
            if commit:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()

    if not session.in_transaction():
        session.close()
        return
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(end)


# scope="function": the commit runs when the handler returns, before the response is sent.
SessionDep = Annotated[Session, Depends(_unit_of_work, scope="function")]


class Work:
    """The request's unit of work for an `async def` handler: `run` does the domain work and commits (or rolls back)
    in one trip to the thread pool, where a plain `def` handler and the commit after it take two."""

    def __init__(self, session: Session):
        self._session = session

    async def run(self, work: Callable[..., T], /, **arguments: Any) -> T:
        """`work(session, **arguments)`, then commit; roll back if it raises."""

        def in_thread() -> T:
            try:
                result = work(self._session, **arguments)
                self._session.commit()
            except BaseException:
                self._session.rollback()
                raise
            return result

        return await run_in_threadpool(in_thread)  # waits for the thread even if the request is cancelled


async def _work(session: SessionDep) -> Work:
    return Work(session)  # committed by `run`: the unit of work then finds nothing left to commit


WorkDep = Annotated[Work, Depends(_work)]


def fhir_base_url(request: Request, settings: Settings) -> str:
    """The public FHIR base our answers cite."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/") + "/fhir"


async def authorize(request: Request, session: SessionDep) -> None:
    """Check the bearer token against the access policy for the matched route (public routes pass)."""
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    if name in policy.PUBLIC:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        log.warning("access refused", extra={"route": name, "client_id": None, "reason": "no bearer token"})
        raise Unauthenticated(
            "This endpoint needs a bearer access token (POST /auth/token).",
            headers={"WWW-Authenticate": 'Bearer realm="um-service"'},
        )
    try:
        caller = tokens.verify(token.strip(), key=request.app.state.token_key, now=_clock(request)())
    except tokens.TokenError as exc:
        log.warning("access refused", extra={"route": name, "client_id": None, "reason": str(exc)})
        raise Unauthenticated(
            f"The access token is not valid: {exc}.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from exc
    # Remembered for a few seconds (clients.DisabledClients); asked of the database, in the thread pool, otherwise.
    disabled_clients: clients.DisabledClients = request.app.state.disabled_clients
    disabled = disabled_clients.lookup(caller.client_id)
    if disabled is None:
        disabled = await run_in_threadpool(disabled_clients.check, session, caller.client_id)
    if disabled:
        log.warning("access refused", extra={"route": name, "client_id": caller.client_id, "reason": "disabled"})
        raise Unauthenticated(
            f"Client {caller.client_id} was disabled; its tokens are no longer accepted.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    refusal = policy.decide(str(name), caller.role, caller.scopes)
    if refusal is not None:
        log.warning("access refused", extra={"route": name, "client_id": caller.client_id, "reason": refusal})
        raise Forbidden(f"Not allowed: {refusal}.")
    request.state.caller = caller


async def _caller(request: Request) -> Caller:
    caller: Caller = request.state.caller
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]


def _actor(session: SessionDep, caller: CallerDep) -> Actor:
    """The reviewer the caller's token speaks for (403 when the client is linked to none of its role)."""
    reviewer = session.get(Reviewer, caller.reviewer_id) if caller.reviewer_id else None
    if reviewer is None or reviewer.role != caller.role:
        raise Forbidden(f"client {caller.client_id} is not linked to a {caller.role.replace('_', ' ')} reviewer")
    return Actor(reviewer.id, reviewer.role, reviewer.npi)


ActorDep = Annotated[Actor, Depends(_actor)]


def _case(case_id: str, session: SessionDep) -> Case:
    """The case named in the path, or 404."""
    case = repository.get_case(session, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def _locked_case(case_id: str, session: SessionDep) -> Case:
    """The case named in the path, its row locked for this unit of work (actions change it), or 404."""
    case = repository.get_case(session, case_id, lock=True)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


CaseDep = Annotated[Case, Depends(_case)]
LockedCaseDep = Annotated[Case, Depends(_locked_case)]


async def _follow_rules(request: Request, session: Session) -> None:
    """Pick up a rule set another worker activated (checked at most every few seconds, in the thread pool)."""
    follower = getattr(request.app.state, "rules_follower", None)
    if follower is not None and follower.due():
        await run_in_threadpool(follower.maybe_follow, session)


async def _context(request: Request, settings: SettingsDep, session: SessionDep) -> RequestContext:
    await _follow_rules(request, session)
    caller: Caller | None = getattr(request.state, "caller", None)
    return RequestContext(
        submitter=(caller.organization or caller.client_id) if caller else "public",
        organization=caller.organization if caller and caller.role == "provider" else None,
        base_url=fhir_base_url(request, settings),
        now=_clock(request)(),
        payer_system=settings.payer_identifier_system,
        rules=request.app.state.rules.current,
        due_overrides=settings.due_overrides,
        eligibility=settings.eligibility,
        notice_contact=settings.notice_contact,
        referral_endpoint=settings.referral_endpoint,
        referral_headers=tuple(settings.referral_headers),
        limits=Limits(
            max_json_depth=settings.max_json_depth,
            max_bundle_entries=settings.max_bundle_entries,
            max_claim_items=settings.max_claim_items,
            max_string_length=settings.max_string_length,
        ),
    )


ContextDep = Annotated[RequestContext, Depends(_context)]


async def read_body(request: Request, *, accepted: tuple[str, ...], limit: int) -> bytes:
    """The raw request body, if its media type is one of `accepted` (UTF-8) and within `limit` (415 / 413)."""
    content_type = request.headers.get("content-type", "")
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() not in accepted:
        got = repr(content_type) if content_type else "no Content-Type"
        message = f"Send {accepted[0]}; got {got}. This endpoint accepts {', '.join(accepted)}."
        raise ServiceError(415, [Problem("not-supported", message)])
    charset = params.strip().lower()
    if charset.startswith("charset=") and charset.split("=", 1)[1].strip('"') not in ("utf-8", "utf8"):
        raise ServiceError(415, [Problem("not-supported", "FHIR JSON is UTF-8; send charset=utf-8 or none.")])
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ServiceError(413, [_too_large(limit)])
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServiceError(413, [_too_large(limit)])
        chunks.append(chunk)
    return b"".join(chunks)


async def _fhir_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw request body, if it is FHIR JSON and within the size limit (415 / 413 otherwise)."""
    return await read_body(request, accepted=_FHIR_JSON_TYPES, limit=settings.max_body_bytes)


def _too_large(limit: int) -> Problem:
    return Problem("too-costly", f"The body is larger than the {limit} bytes this server accepts.")


FhirBody = Annotated[bytes, Depends(_fhir_body)]

_JSON_ANSWERS = ("*/*", "application/*", "application/fhir+json", "application/json", "application/json+fhir")


async def _fhir_accept(request: Request) -> None:
    """Refuse (406) a caller that accepts only formats we do not produce (e.g. FHIR XML)."""
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt not in ("json", *_JSON_ANSWERS[2:]):
        raise ServiceError(
            406,
            [
                Problem(
                    "not-supported",
                    f"_format {fmt!r} is not offered; this server answers application/fhir+json.",
                )
            ],
        )
    accept = request.headers.get("accept")
    if not accept:
        return
    offered = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
    if not any(media in _JSON_ANSWERS for media in offered):
        raise ServiceError(
            406,
            [
                Problem(
                    "not-supported",
                    f"Accept {accept!r} excludes application/fhir+json, the only format this server answers in.",
                )
            ],
        )


FhirAccept = Depends(_fhir_accept)


def wake_dispatcher(request: Request) -> None:
    """After a commit that queued notifications: have this worker's dispatcher send them now."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
