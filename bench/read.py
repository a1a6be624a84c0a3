"""A portal's poll: the time of GET /fhir/ClaimResponse/{id} and of a search by the request's identifier, in process.

usage: python bench/read.py [--calls 2000]
       PYTHONPATH=../older-tree python bench/read.py   (the same calls in another tree's code)

Builds the app on a fresh SQLite file, registers a provider client, submits the repository's example bundle
(bench/submit.py's, approved by the rules), then reads its ClaimResponse and searches for it by Claim identifier
through the app's ASGI entry (no HTTP client in the timing), after a warm-up; every answer must be a 200. Prints the
mean server time of each, with the time of GET /health/live (no database, no token) as the reference of the same
run. Compare runs made one after the other: the machine's speed drifts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_submit import provider_token
from submit import PLACEHOLDER, repo_sample

from um_service.app import create_app
from um_service.db.migrate import upgrade
from um_service.settings import REPO_ROOT, Settings

IDENTIFIER = "READ-BENCH-1"


async def _call(app: Any, method: str, target: str, token: str | None = None, body: bytes = b"") -> bytes:
    """One request through the app's ASGI entry; its body (the status must be 200)."""
    path, _, query = target.partition("?")
    headers = [(b"host", b"bench"), (b"content-type", b"application/fhir+json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    sent = False
    status: list[int] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    if status != [200]:
        raise SystemExit(f"{method} {target} answered {status}: {b''.join(chunks)[:300]!r}")
    return b"".join(chunks)


async def _run(url: str, calls: int) -> None:
    sample = repo_sample()
    app = create_app(Settings(database_url=url, log_level="warning"))
    async with app.router.lifespan_context(app):
        token = provider_token(app, sample, "read-bench")
        body = sample.template.replace(PLACEHOLDER.encode(), IDENTIFIER.encode())
        answer = orjson.loads(await _call(app, "POST", "/fhir/Claim/$submit", token, body))
        claim_response_id = answer["entry"][0]["resource"]["id"]
        system = orjson.loads(sample.template)["entry"][0]["resource"]["identifier"][0]["system"]
        searched = f"/fhir/ClaimResponse?identifier={quote(system, safe='')}|{IDENTIFIER}"
        targets = {
            "GET /health/live (reference)": ("/health/live", None),
            "GET /fhir/ClaimResponse/{id}": (f"/fhir/ClaimResponse/{claim_response_id}", token),
            "GET /fhir/ClaimResponse?identifier=": (searched, token),
        }
        found = orjson.loads(await _call(app, "GET", searched, token))
        if found.get("total") != 1:
            raise SystemExit(f"the search found {found.get('total')} ClaimResponses, not the one submitted")
        print(f"{calls} calls each, server only (mean per call):")
        for label, (target, bearer) in targets.items():
            for _ in range(100):
                await _call(app, "GET", target, bearer)
            started = time.perf_counter()
            for _ in range(calls):
                await _call(app, "GET", target, bearer)
            print(f"  {label:<40} {(time.perf_counter() - started) / calls * 1000:7.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/read.db"
        upgrade(url, REPO_ROOT / "migrations")
        asyncio.run(_run(url, args.calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
