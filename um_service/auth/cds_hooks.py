"""EHR clients of the CDS Hooks (CRD) face and the JWT every hook call carries (CDS Hooks 2.0, "Trusting CDS Clients").

An EHR client is registered with the issuer it signs as and either a PEM public key or the URL of its JWK Set. A
call's JWT must name a registered issuer, be signed with ES384 or RS384 (never `none` or HS*) by that issuer's key
(picked by `kid` from its JWK Set, fetched once, cached, fetched again when a `kid` is unknown; a `jku` header is
honoured only when it is the registered URL), have `aud` equal to the service URL called, expire within 5 minutes,
and carry a `jti` not seen before (kept until it expires).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..crd.ehr_fhir import check_base, same_base
from ..db.models import Client
from .clients import ClientError, Identity, Remembered, changed, check_public_key, remember_jti

EHR = "ehr"
ALGORITHMS = ["ES384", "RS384"]
MAX_LIFETIME = dt.timedelta(minutes=5)
LEEWAY = dt.timedelta(seconds=60)
_JWKS_LIMIT = 256 * 1024
_JWKS_TTL = 3600.0


def register_ehr(
    session: Session,
    *,
    client_id: str,
    issuer: str,
    public_key: str | None,
    jwks_url: str | None,
    fhir_servers: list[str],
    now: dt.datetime,
) -> Client:
    """Register (or replace) an EHR client: its JWT issuer, its key (PEM) or JWK Set URL, its FHIR bases."""
    if not issuer.strip():
        raise ClientError("invalid_request", "an EHR client needs the issuer (iss) its JWTs carry")
    if bool(public_key) == bool(jwks_url):
        raise ClientError("invalid_request", "give an EHR client either a public key (PEM) or a JWK Set URL")
    if public_key:
        check_public_key(public_key)
    if jwks_url and not jwks_url.startswith("https://") and not jwks_url.startswith("http://127.0.0.1"):
        raise ClientError("invalid_request", "a JWK Set URL must be https")
    for base in fhir_servers:
        why = check_base(base)
        if why is not None:
            raise ClientError("invalid_request", why)
    other = session.scalar(select(Client).where(Client.issuer == issuer, Client.id != client_id))
    if other is not None:
        raise ClientError("invalid_request", f"issuer {issuer!r} is already registered for client {other.id}")
    client = session.get(Client, client_id) or Client(id=client_id, created_at=now)
    client.role = EHR
    client.organization = None
    client.reviewer_id = None
    client.secret_hash = None
    client.public_key = public_key
    client.issuer = issuer
    client.jwks_url = jwks_url
    client.fhir_servers = [same_base(base) for base in fhir_servers]
    client.active = True
    session.add(client)
    session.flush()
    changed(session, client_id)  # a new key or base: forgotten by this worker's EhrClients once it commits
    return client


@dataclass
class JwksCache:
    """JWK Sets by URL, fetched with httpx (bounded in time and size), kept for an hour or until a kid is unknown."""

    fetch: Callable[[str], dict[str, Any]] | None = None
    _sets: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, url: str, kid: str | None) -> Any:
        """The public key of `kid` in the set at `url` (fetching again once when it is not there)."""
        for refresh in (False, True):
            found = self._find(self._set(url, refresh=refresh), kid)
            if found is not None:
                return found
        raise ClientError("invalid_client", f"no key {kid!r} in the registered JWK Set", 401)

    def _set(self, url: str, *, refresh: bool) -> dict[str, Any]:
        with self._lock:
            cached = self._sets.get(url)
            if cached is not None and not refresh and time.monotonic() - cached[0] < _JWKS_TTL:
                return cached[1]
        loaded = (self.fetch or _download)(url)
        with self._lock:
            self._sets[url] = (time.monotonic(), loaded)
        return loaded

    @staticmethod
    def _find(jwks: dict[str, Any], kid: str | None) -> Any:
        for entry in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if not isinstance(entry, dict) or entry.get("kid") != kid or entry.get("use", "sig") != "sig":
                continue
            try:
                return jwt.PyJWK.from_dict(entry).key
            except jwt.PyJWTError:
                continue
        return None


def _download(url: str) -> dict[str, Any]:
    try:
        with httpx.Client(timeout=5.0, follow_redirects=False) as http, http.stream("GET", url) as answer:
            if answer.status_code != 200:
                raise ClientError("invalid_client", f"the registered JWK Set answered {answer.status_code}", 401)
            body = b""
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > _JWKS_LIMIT:
                    raise ClientError("invalid_client", "the registered JWK Set is too large", 401)
    except httpx.HTTPError as exc:
        raise ClientError("invalid_client", f"the registered JWK Set could not be read: {exc}", 401) from exc
    try:
        loaded = json.loads(body)
    except ValueError as exc:
        raise ClientError("invalid_client", "the registered JWK Set is not JSON", 401) from exc
    return loaded if isinstance(loaded, dict) else {}


@functools.lru_cache(maxsize=256)
def _loaded(pem: str | None) -> Any:
    """A registered PEM key, parsed once per worker (PyJWT would parse the PEM text on every call)."""
    return serialization.load_pem_public_key(pem.encode()) if pem else pem


@dataclass(frozen=True, slots=True)
class TrustedEhr:
    """A registered EHR client as a hook call needs it: its id, whether it may call, its key or JWK Set URL, and the
    FHIR bases it registered."""

    id: str
    active: bool
    role: str
    public_key: str | None
    jwks_url: str | None
    fhir_servers: tuple[str, ...]


class EhrClients(Remembered[str, TrustedEhr]):
    """Registered EHR clients by the issuer their JWTs name, remembered for a few seconds, so that checking a hook
    call's JWT costs no lookup (`clients.Remembered`, as for access tokens' disabled check). An issuer not
    registered is asked every time."""

    def __init__(self, *, seconds: float = 2.0, clock: Callable[[], float] = time.monotonic):
        super().__init__(seconds=seconds, clock=clock, bound=1_000)  # EHR clients are few

    def find(self, session: Session, issuer: str) -> TrustedEhr | None:
        """The client registered with this issuer: remembered, or read from the database and remembered."""
        return self.get(issuer, lambda: _trusted_ehr(session.scalar(select(Client).where(Client.issuer == issuer))))


def _trusted_ehr(client: Client | None) -> TrustedEhr | None:
    if client is None:
        return None
    fhir_servers = tuple(client.fhir_servers or ())
    return TrustedEhr(client.id, client.active, client.role, client.public_key, client.jwks_url, fhir_servers)


def verify(
    session: Session, token: str, *, audience: str, now: dt.datetime, jwks: JwksCache, clients: EhrClients
) -> tuple[Identity, TrustedEhr]:
    """The EHR client a hook call's JWT proves, or ClientError (401) saying why not."""
    try:
        unverified = jwt.decode_complete(token, options={"verify_signature": False})  # header and claims, one read
    except jwt.PyJWTError as exc:
        raise ClientError("invalid_client", f"the Authorization header is not a JWT: {exc}", 401) from exc
    header, claimed = unverified["header"], unverified["payload"]
    if header.get("alg") not in ALGORITHMS:
        raise ClientError("invalid_client", f"JWT alg must be one of {', '.join(ALGORITHMS)}", 401)
    issuer = claimed.get("iss") if isinstance(claimed, dict) else None
    client = clients.find(session, issuer) if isinstance(issuer, str) else None
    if client is None or not client.active or client.role != EHR:
        raise ClientError("invalid_client", f"issuer {issuer!r} is not a registered EHR client", 401)
    if client.jwks_url:
        jku = header.get("jku")
        if jku is not None and jku != client.jwks_url:
            raise ClientError("invalid_client", "the JWT's jku is not the registered JWK Set URL", 401)
        key: Any = jwks.key(client.jwks_url, header.get("kid"))
    else:
        key = _loaded(client.public_key)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=issuer,
            options={"require": ["iss", "aud", "exp", "jti"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise ClientError("invalid_client", f"the JWT does not verify: {exc}", 401) from exc
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    if expires < now - LEEWAY:
        raise ClientError("invalid_client", "the JWT has expired", 401)
    if expires - now > MAX_LIFETIME + LEEWAY:
        raise ClientError("invalid_client", "a hook JWT may live at most 5 minutes", 401)
    # Kept past expiry by the leeway too, since a token is accepted that long.
    remember_jti(
        session, client_id=client.id, jti=claims["jti"], expires=expires, forget_before=now - LEEWAY, what="JWT"
    )
    return Identity(client.id, EHR, None, None), client
