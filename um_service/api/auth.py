"""OAuth 2.0 client credentials in the SMART Backend Services style: discovery, the token endpoint, and the
administrators' client registry (/um/clients)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..auth import clients, tokens
from ..auth.clients import ClientError
from ..db.models import Client
from ..errors import NotFound, Unprocessable
from .deps import ContextDep, SessionDep, SettingsDep

router = APIRouter(tags=["Authorization"])
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_url(request: Request) -> str:
    """The token endpoint's URL as clients address it (the audience of their assertions)."""
    return str(request.base_url).rstrip("/") + "/auth/token"


@router.get("/.well-known/smart-configuration")
def smart_configuration(request: Request) -> dict[str, Any]:
    """SMART discovery: the token endpoint, grant type, client authentication methods and scopes."""
    return {
        "token_endpoint": token_url(request),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": clients.ASSERTION_ALGORITHMS,
        "scopes_supported": sorted({s for scopes in tokens.SCOPES.values() for s in scopes}),
        "capabilities": ["client-confidential-asymmetric", "client-confidential-symmetric"],
    }


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers={"Cache-Control": "no-store"}
    )


@router.post(
    "/auth/token", responses={400: {"description": "OAuth 2.0 error"}, 401: {"description": "Client not authenticated"}}
)
async def token(request: Request, session: SessionDep, settings: SettingsDep, context: ContextDep) -> JSONResponse:
    """Issue a short-lived access token (grant_type=client_credentials; a signed JWT assertion or a client secret)."""
    body = await request.body()
    if len(body) > 64 * 1024:
        return _error("invalid_request", "the token request is too large")
    form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return _error("unsupported_grant_type", "only grant_type=client_credentials is supported")
    try:
        if form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
            audiences = [token_url(request)] + (
                [settings.public_base_url.rstrip("/").removesuffix("/fhir") + "/auth/token"]
                if settings.public_base_url
                else []
            )
            identity = clients.by_assertion(session, form["client_assertion"], audiences=audiences, now=context.now)
        else:
            client_id, secret = _basic(request) or (form.get("client_id"), form.get("client_secret"))
            if not client_id or not secret:
                raise ClientError("invalid_client", "authenticate with a client assertion or a client secret", 401)
            identity = clients.by_secret(session, client_id, secret)
        scopes = tokens.grant(identity, form.get("scope"))
        if not scopes:
            raise ClientError("invalid_scope", "none of the requested scopes is allowed for this client")
    except ClientError as exc:
        return _error(exc.error, str(exc), exc.status)
    lifetime = dt.timedelta(seconds=settings.token_lifetime_seconds)
    access = tokens.issue(identity, scopes, key=request.app.state.token_key, now=context.now, lifetime=lifetime)
    return JSONResponse(
        {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(lifetime.total_seconds()),
            "scope": " ".join(sorted(scopes)),
        },
        headers={"Cache-Control": "no-store"},
    )


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return client_id, secret


class ClientIn(BaseModel):
    """A client to register: role, organisation (providers), reviewer (staff), and a public key or a secret."""

    role: str
    organization: str | None = None
    reviewer_id: str | None = None
    public_key: str | None = None
    secret: str | None = Field(default=None, min_length=16)


@router.get("/um/clients", tags=["UM staff"])
def list_clients(session: SessionDep) -> list[dict[str, Any]]:
    """Registered clients (never their secrets)."""
    return [
        {
            "id": c.id,
            "role": c.role,
            "organization": c.organization,
            "reviewer_id": c.reviewer_id,
            "auth": "private_key_jwt" if c.public_key else "client_secret",
            "active": c.active,
        }
        for c in session.scalars(select(Client).order_by(Client.id))
    ]


@router.put("/um/clients/{client_id}", tags=["UM staff"], responses={422: {"description": "Invalid client"}})
def save_client(client_id: str, body: ClientIn, session: SessionDep, context: ContextDep) -> dict[str, Any]:
    """Register or replace a client."""
    try:
        client = clients.register(
            session,
            client_id=client_id,
            role=body.role,
            organization=body.organization,
            reviewer_id=body.reviewer_id,
            public_key=body.public_key,
            secret=body.secret,
            now=context.now,
        )
        return {
            "id": client.id,
            "role": client.role,
            "organization": client.organization,
            "reviewer_id": client.reviewer_id,
        }
    except ClientError as exc:
        raise Unprocessable(str(exc)) from exc


class ClientChange(BaseModel):
    """A change of a client: `active: false` disables it (no new tokens; its unexpired tokens are refused)."""

    active: bool


@router.patch("/um/clients/{client_id}", tags=["UM staff"], responses={404: {"description": "No such client"}})
def update_client(client_id: str, body: ClientChange, session: SessionDep) -> dict[str, Any]:
    """Disable (or enable again) a client."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    if body.active:
        client.active = True
    else:
        clients.disable(session, client_id)
    return {"id": client.id, "role": client.role, "active": client.active}
