"""Annotated dependencies shared by the routers: settings, database, request context, FHIR request body."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from ..context import RequestContext
from ..db.session import Database
from ..fhir.envelope import Limits
from ..fhir.outcome import FhirError, Problem
from ..settings import Settings

# Until callers authenticate (SMART backend services), every request is attributed to one anonymous submitter.
ANONYMOUS_SUBMITTER = "anonymous"

_FHIR_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]


def fhir_base_url(request: Request, settings: Settings) -> str:
    """The public FHIR base our answers cite."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/") + "/fhir"


def _context(request: Request, settings: SettingsDep) -> RequestContext:
    return RequestContext(
        submitter=ANONYMOUS_SUBMITTER,
        base_url=fhir_base_url(request, settings),
        now=_clock(request)(),
        payer_system=settings.payer_identifier_system,
        rules=request.app.state.rules.current,
        due_overrides=settings.due_overrides,
        limits=Limits(
            max_json_depth=settings.max_json_depth,
            max_bundle_entries=settings.max_bundle_entries,
            max_claim_items=settings.max_claim_items,
        ),
    )


ContextDep = Annotated[RequestContext, Depends(_context)]


async def _fhir_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw request body, if it is FHIR JSON and within the size limit (415 / 413 otherwise)."""
    content_type = request.headers.get("content-type", "")
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() not in _FHIR_JSON_TYPES:
        got = repr(content_type) if content_type else "no Content-Type"
        raise FhirError(
            415,
            [
                Problem(
                    "not-supported",
                    f"Send application/fhir+json; got {got}. This server speaks FHIR JSON only.",
                )
            ],
        )
    charset = params.strip().lower()
    if charset.startswith("charset=") and charset.split("=", 1)[1].strip('"') not in ("utf-8", "utf8"):
        raise FhirError(415, [Problem("not-supported", "FHIR JSON is UTF-8; send charset=utf-8 or none.")])
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FhirError(413, [_too_large(limit)])
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FhirError(413, [_too_large(limit)])
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem("too-costly", f"The body is larger than the {limit} bytes this server accepts.")


FhirBody = Annotated[bytes, Depends(_fhir_body)]

_JSON_ANSWERS = ("*/*", "application/*", "application/fhir+json", "application/json", "application/json+fhir")


def _fhir_accept(request: Request) -> None:
    """Refuse (406) a caller that accepts only formats we do not produce (e.g. FHIR XML)."""
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt not in ("json", *_JSON_ANSWERS[2:]):
        raise FhirError(
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
        raise FhirError(
            406,
            [
                Problem(
                    "not-supported",
                    f"Accept {accept!r} excludes application/fhir+json, the only format this server answers in.",
                )
            ],
        )


FhirAccept = Depends(_fhir_accept)
