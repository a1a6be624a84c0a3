"""Registered clients and how they prove who they are: a signed JWT assertion (public key) or a secret."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db.inserts import insert_if_new, table_of
from ..db.models import Client, Reviewer, UsedAssertion
from ..errors import Problem, ServiceError

K = TypeVar("K")
V = TypeVar("V")

ROLES = ("provider", "portal", "nurse", "medical_director", "admin")
# session.info key: the clients a unit of work registered, enabled or disabled (forgotten by the cache on commit).
CLIENTS_CHANGED = "um_clients_changed"
ASSERTION_ALGORITHMS = ["RS384", "ES384", "RS256", "ES256"]
MAX_ASSERTION_LIFETIME = dt.timedelta(minutes=5)


class ClientError(ServiceError):
    """Registration or authentication refused; `error` is the OAuth 2.0 error code the token endpoint answers with."""

    def __init__(self, error: str, message: str, status: int = 400):
        super().__init__(status, [Problem("login" if status == 401 else "invalid", message)])
        self.error = error


@dataclass(frozen=True)
class Identity:
    """An authenticated client."""

    client_id: str
    role: str
    organization: str | None
    reviewer_id: str | None


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of a client secret."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def _secret_matches(secret: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def register(
    session: Session,
    *,
    client_id: str,
    role: str,
    organization: str | None = None,
    reviewer_id: str | None = None,
    public_key: str | None = None,
    secret: str | None = None,
    now: dt.datetime,
) -> Client:
    """Register (or replace) a client. Providers need an organisation; staff clients name their reviewer."""
    if role not in ROLES:
        raise ClientError("invalid_request", f"role must be one of {', '.join(ROLES)}")
    if role == "provider" and not organization:
        raise ClientError("invalid_request", "a provider client needs its organisation identifier")
    if role != "provider" and organization:
        raise ClientError("invalid_request", f"only provider clients have an organisation; a {role} client has none")
    if role in ("nurse", "medical_director"):
        reviewer = session.get(Reviewer, reviewer_id or client_id)
        if reviewer is None or reviewer.role != role:
            raise ClientError("invalid_request", f"a {role} client must name a registered {role} reviewer")
        reviewer_id = reviewer.id
    if not public_key and not secret:
        raise ClientError("invalid_request", "give the client a public key (PEM) or a secret")
    if public_key:
        check_public_key(public_key)
    client = session.get(Client, client_id) or Client(id=client_id, created_at=now)
    client.role = role
    client.organization = organization
    client.reviewer_id = reviewer_id
    client.public_key = public_key
    client.secret_hash = hash_secret(secret) if secret else None
    client.active = True
    session.add(client)
    session.flush()
    changed(session, client_id)
    return client


def check_public_key(public_key: str) -> None:
    """Refuse anything but a PEM RSA or EC public key (what RS384 / ES384 signatures are checked with)."""
    try:
        key = serialization.load_pem_public_key(public_key.encode())
    except ValueError as exc:
        raise ClientError("invalid_request", "public_key must be a PEM public key") from exc
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise ClientError("invalid_request", "public_key must be an RSA or EC key (RS384 / ES384)")


def remember_jti(
    session: Session, *, client_id: str, jti: str, expires: dt.datetime, forget_before: dt.datetime, what: str
) -> None:
    """Record a JWT id until its token expires, refusing one already recorded (replay).

    Ids of expired tokens are dropped on about one call in 32 (chosen by the id, so every worker shares the chore
    without shared state): the table stays small and most calls write one row and nothing else.
    """
    key = f"{client_id}:{jti}"
    if zlib.crc32(key.encode()) % 32 == 0:
        session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < forget_before))
    row = {"jti": key, "client_id": client_id, "expires_at": expires}
    if not insert_if_new(session, table_of(UsedAssertion), row):
        raise ClientError("invalid_client", f"this {what} was already used (jti replay)", 401)


def disable(session: Session, client_id: str) -> bool:
    """Stop a client: no new tokens, and its unexpired tokens are refused at their next request; False if unknown."""
    client = session.get(Client, client_id)
    if client is None:
        return False
    client.active = False
    changed(session, client_id)
    return True


def changed(session: Session, client_id: str) -> None:
    """Note that this unit of work changed a client (its cached state is dropped once the change commits)."""
    session.info.setdefault(CLIENTS_CHANGED, set()).add(client_id)


def is_disabled(session: Session, client_id: str) -> bool:
    """Whether a registered client was disabled (tokens of clients never registered are the test suite's own)."""
    active = session.scalar(select(Client.active).where(Client.id == client_id))
    return active is False


class Remembered(Generic[K, V]):
    """Answers read from the database, remembered for `seconds` each, so a request usually costs no round trip.

    A worker that commits a change forgets what it touched at once (`forget`); a change made by another worker or the
    CLI is seen once the remembered answer is `seconds` old. A read that began before a `forget` is not remembered
    (it may have seen the old rows). An answer of None (nothing found) is never remembered.
    """

    def __init__(self, *, seconds: float = 2.0, clock: Callable[[], float] = time.monotonic, bound: int = 10_000):
        self._seconds = seconds
        self._clock = clock
        self._bound = bound
        self._known: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()
        self._forgotten = 0  # how many times something was forgotten

    def recent(self, key: K) -> V | None:
        """The answer for `key`, if remembered recently enough; None when the database must be asked."""
        found = self._known.get(key)
        if found is None or self._clock() - found[0] > self._seconds:
            return None
        return found[1]

    def get(self, key: K, read: Callable[[], V | None]) -> V | None:
        """The answer for `key`: remembered, or `read()` from the database and remembered."""
        known = self.recent(key)
        if known is not None:
            return known
        read_at, generation = self._clock(), self._forgotten
        answer = read()
        if answer is not None:
            with self._lock:
                if generation == self._forgotten:
                    if len(self._known) > self._bound:
                        self._known.clear()  # a bound: clients are few
                    self._known[key] = (read_at, answer)
        return answer

    def forget(self, keys: Iterable[K] | None = None) -> None:
        """Drop what is remembered of these keys, or of every key (their change has just committed here)."""
        with self._lock:
            self._forgotten += 1
            if keys is None:
                self._known.clear()
            for key in keys or ():
                self._known.pop(key, None)


class DisabledClients(Remembered[str, bool]):
    """Whether a client is disabled, by client id, remembered for a few seconds: checking an access token costs no
    database round trip, and a client disabled elsewhere (`um-service clients disable`) is refused within seconds."""

    def lookup(self, client_id: str) -> bool | None:
        """Whether the client is disabled, if known recently enough; None when the database must be asked."""
        return self.recent(client_id)

    def check(self, session: Session, client_id: str) -> bool:
        """Whether the client is disabled: remembered, or read from the database and remembered."""
        return bool(self.get(client_id, lambda: is_disabled(session, client_id)))


def _identity(client: Client) -> Identity:
    return Identity(client.id, client.role, client.organization, client.reviewer_id)


def by_secret(session: Session, client_id: str, secret: str) -> Identity:
    """Authenticate with a client secret."""
    client = session.get(Client, client_id)
    if client is None or not client.active or not client.secret_hash or not _secret_matches(secret, client.secret_hash):
        raise ClientError("invalid_client", "unknown client or wrong secret", 401)
    return _identity(client)


def by_assertion(session: Session, assertion: str, *, audiences: list[str], now: dt.datetime) -> Identity:
    """Authenticate with a signed JWT client assertion (RFC 7523, SMART Backend Services)."""
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise ClientError("invalid_client", f"the client assertion is not a JWT: {exc}", 401) from exc
    client_id = unverified.get("iss")
    client = session.get(Client, client_id) if isinstance(client_id, str) else None
    if client is None or not client.active or not client.public_key:
        raise ClientError("invalid_client", "unknown client, or no public key registered for it", 401)
    try:
        claims = jwt.decode(
            assertion,
            client.public_key,
            algorithms=ASSERTION_ALGORITHMS,
            audience=audiences,
            issuer=client.id,
            options={
                "require": ["iss", "sub", "aud", "exp", "jti"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise ClientError("invalid_client", f"the client assertion does not verify: {exc}", 401) from exc
    if claims.get("sub") != client.id:
        raise ClientError("invalid_client", "the assertion's sub must be the client id", 401)
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    # Times are judged on the service clock, with 30 s of leeway for the client's.
    if expires < now - dt.timedelta(seconds=30):
        raise ClientError("invalid_client", "the client assertion has expired", 401)
    if expires - now > MAX_ASSERTION_LIFETIME:
        raise ClientError("invalid_client", "a client assertion may live at most 5 minutes", 401)
    remember_jti(
        session, client_id=client.id, jti=claims["jti"], expires=expires, forget_before=now, what="client assertion"
    )
    return _identity(client)
