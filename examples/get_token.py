"""Get an access token the way a provider EHR does (SMART Backend Services, private_key_jwt).

    python examples/get_token.py --client ehr-1 --key ehr-1.key.pem [--base http://127.0.0.1:8000]

Signs a client assertion (iss = sub = client id, aud = the token URL, 5 minutes, a fresh jti) with the client's
private key, posts it to /auth/token with grant_type=client_credentials and prints the access token. Make the key
pair with the `openssl` line in examples/README.md and register the public half with `um-service clients add`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Poster(Protocol):
    """Anything with httpx's `post` (an httpx.Client, or a test client)."""

    def post(self, url: str, *, data: dict[str, str]) -> Any: ...


def client_assertion(client_id: str, private_key_pem: bytes, token_url: str, *, now: dt.datetime | None = None) -> str:
    """A signed JWT proving we hold the client's private key (RS384 for RSA keys, ES384 for EC keys)."""
    issued = now or dt.datetime.now(dt.UTC)
    algorithm = "ES384" if b"EC PRIVATE KEY" in private_key_pem or _is_ec(private_key_pem) else "RS384"
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": int(issued.timestamp()),
        "exp": int((issued + dt.timedelta(minutes=5)).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, private_key_pem, algorithm=algorithm)


def _is_ec(private_key_pem: bytes) -> bool:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return isinstance(key, ec.EllipticCurvePrivateKey)


def get_token(
    base: str, client_id: str, private_key_pem: bytes, *, http: Poster | None = None, now: dt.datetime | None = None
) -> str:
    """Exchange a fresh client assertion for an access token."""
    token_url = base.rstrip("/") + "/auth/token"
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(client_id, private_key_pem, token_url, now=now),
    }
    response = (http or httpx.Client(timeout=10)).post(token_url, data=form)
    if response.status_code != 200:
        raise SystemExit(f"token request refused ({response.status_code}): {response.text}")
    token: str = response.json()["access_token"]
    return token


def main(argv: list[str] | None = None) -> int:
    """Print an access token for the client."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--client", required=True, help="the client id registered with `um-service clients add`")
    parser.add_argument("--key", required=True, type=Path, help="the client's private key (PEM)")
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="the service's address")
    args = parser.parse_args(argv)
    print(get_token(args.base, args.client, args.key.read_bytes()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
