"""Access tokens: short-lived HS256 JWTs signed with a key every worker shares (kept in the database)."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache

import jwt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.models import ServiceKey
from .clients import Identity

AUDIENCE = "um-service"
ISSUER = "um-service"
_KEY_NAME = "access-token-hs256"

# What each role may be granted (SMART v2 system scopes for the FHIR face; um/* for the staff face).
SCOPES = {
    "provider": (
        "system/Claim.c",
        "system/Claim.r",
        "system/ClaimResponse.rs",
        "system/Subscription.crd",
        "system/Questionnaire.rs",
        "system/DocumentReference.c",
    ),
    "portal": ("system/Claim.r", "system/ClaimResponse.rs"),
    "nurse": ("um/review",),
    "medical_director": ("um/review",),
    "admin": ("um/review", "um/admin"),
}


@dataclass(frozen=True)
class Caller:
    """A verified access token: who, in which role, for which organisation, allowed what."""

    client_id: str
    role: str
    organization: str | None
    reviewer_id: str | None
    scopes: frozenset[str]


class TokenError(Exception):
    """A missing, malformed, expired or foreign access token."""


def signing_key(session: Session, *, configured: str | None, now: dt.datetime) -> str:
    """The HS256 key: configured, or created once in the database by the first worker and shared by all."""
    if configured:
        return configured
    row = session.get(ServiceKey, _KEY_NAME)
    if row is None:
        try:
            with session.begin_nested():
                session.add(ServiceKey(name=_KEY_NAME, value=secrets.token_urlsafe(48), created_at=now))
        except IntegrityError:
            pass  # another worker created it first
        row = session.get(ServiceKey, _KEY_NAME)
    assert row is not None
    return row.value


def grant(identity: Identity, requested: str | None) -> frozenset[str]:
    """The scopes to grant: those asked for that the role allows (all of them when none are asked for)."""
    allowed = set(SCOPES[identity.role])
    if not requested:
        return frozenset(allowed)
    return frozenset(set(requested.split()) & allowed)


def issue(identity: Identity, scopes: frozenset[str], *, key: str, now: dt.datetime, lifetime: dt.timedelta) -> str:
    """A signed access token."""
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": identity.client_id,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": str(uuid.uuid4()),
        "scope": " ".join(sorted(scopes)),
        "role": identity.role,
        "org": identity.organization,
        "reviewer": identity.reviewer_id,
    }
    return jwt.encode(claims, key, algorithm="HS256")


def verify(token: str, *, key: str, now: dt.datetime) -> Caller:
    """The caller an access token speaks for; TokenError if it is not valid now."""
    expires, caller = _verified(token, key)
    # Expiry against the service clock (tests move it; production uses wall time).
    if expires <= now.timestamp():
        raise TokenError("the access token has expired")
    return caller


@lru_cache(maxsize=1024)
def _verified(token: str, key: str) -> tuple[float, Caller]:
    """A token's expiry and caller once its signature and claims check out: a client sends the same token many
    times, and checking it again would give the same answer (a refusal raises, and is not remembered)."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": ["exp", "sub", "aud", "iss"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from exc
    role = claims.get("role")
    if role not in SCOPES:
        raise TokenError("the access token names no known role")
    caller = Caller(
        claims["sub"], role, claims.get("org"), claims.get("reviewer"), frozenset(str(claims.get("scope", "")).split())
    )
    return claims["exp"], caller
