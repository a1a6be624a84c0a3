"""Where the time of one CRD order-sign call goes: a few hundred hook calls through the real app in process.

usage: python bench/profile_crd.py [--requests 300] [--top 30] [--no-profile] [--callers PATTERN] [--by-package]

Builds the app on a fresh SQLite file, registers an EHR client with a new P-384 key, and posts the test kit's
order-sign request (tests/fixtures/crd/testkit-requests/order-sign-1.json) with a freshly signed ES384 JWT and a new
hookInstance each time (signed before the timed loop, as bench/crd.py's EHR has them ready), through httpx's ASGI
transport. Prints the mean time per call, then, under cProfile (every thread's profile merged), the top functions by
cumulative and by own time. Compare profiles, not figures: the profiler slows everything down several-fold.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crd import BODY, ISSUER, PATH
from profile_submit import _profile_new_threads, _thread_profiles, print_profiles

from um_service.app import create_app
from um_service.auth.cds_hooks import register_ehr
from um_service.db.migrate import upgrade
from um_service.settings import REPO_ROOT, Settings


def _calls(key: ec.EllipticCurvePrivateKey, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """`count` hook calls ready to send: body with a new hookInstance, headers with a new signed JWT."""
    body = orjson.loads(BODY.read_bytes())
    now = int(time.time())
    calls = []
    for _ in range(count):
        claims = {"iss": ISSUER, "aud": f"http://bench{PATH}", "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        token = jwt.encode(claims, key, algorithm="ES384", headers={"kid": "bench"})
        body["hookInstance"] = str(uuid.uuid4())
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        calls.append((orjson.dumps(body), headers))
    return calls


async def _post_all(app: object, calls: list[tuple[bytes, dict[str, str]]]) -> float:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.perf_counter()
        for n, (body, headers) in enumerate(calls):
            response = await client.post(PATH, content=body, headers=headers)
            if response.status_code != 200 or not response.json().get("cards"):
                raise SystemExit(f"call {n}: {response.status_code} {response.text[:500]}")
        return time.perf_counter() - started


async def _run(args: argparse.Namespace, url: str, key: ec.EllipticCurvePrivateKey, *, profiled: bool) -> None:
    app = create_app(Settings(database_url=url, log_level="warning"))
    async with app.router.lifespan_context(app):
        warm, timed = _calls(key, 30), _calls(key, args.requests)
        await _post_all(app, warm)
        if not profiled:
            cpu = time.process_time()
            took = await _post_all(app, timed)
            cpu = time.process_time() - cpu
            print(
                f"order-sign: {args.requests} calls unprofiled, {took / args.requests * 1000:.2f} ms each, "
                f"{cpu / args.requests * 1000:.2f} ms of CPU each (server and client, this process)"
            )
            return
        for profile in _thread_profiles:
            profile.clear()
        main = cProfile.Profile()
        main.enable()
        took = await _post_all(app, timed)
        main.disable()
    print(f"{args.requests} calls profiled, {took / args.requests * 1000:.2f} ms each")
    print_profiles(main, top=args.top, callers=args.callers, by_package=args.by_package)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callers", help="also print who calls the functions matching this pattern")
    parser.add_argument("--by-package", action="store_true", help="first print each package's share of own time")
    parser.add_argument("--no-profile", action="store_true", help="only the unprofiled timing")
    args = parser.parse_args()
    key = ec.generate_private_key(ec.SECP384R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/profile.db"
        upgrade(url, REPO_ROOT / "migrations")
        app = create_app(Settings(database_url=url, log_level="warning"))
        with app.state.database.transaction() as session:
            register_ehr(
                session,
                client_id="bench-ehr",
                issuer=ISSUER,
                public_key=public.decode(),
                jwks_url=None,
                fhir_servers=[],
                now=dt.datetime.now(dt.UTC),
            )
        asyncio.run(_run(args, url, key, profiled=False))
        if args.no_profile:
            return 0
        _profile_new_threads()
        asyncio.run(_run(args, url, key, profiled=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
