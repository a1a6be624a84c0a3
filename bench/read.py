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
from urllib.parse import quote

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_submit import provider_token
from stages_submit import asgi_call
from submit import PLACEHOLDER, repo_sample

from um_service.app import create_app
from um_service.db.migrate import upgrade
from um_service.settings import REPO_ROOT, Settings

IDENTIFIER = "READ-BENCH-1"


async def _run(url: str, calls: int) -> None:
    sample = repo_sample()
    app = create_app(Settings(database_url=url, log_level="warning"))
    async with app.router.lifespan_context(app):
        token = provider_token(app, sample, "read-bench")
        body = sample.template.replace(PLACEHOLDER.encode(), IDENTIFIER.encode())
        answer = orjson.loads(await asgi_call(app, "POST", "/fhir/Claim/$submit", token, body))
        claim_response_id = answer["entry"][0]["resource"]["id"]
        system = orjson.loads(sample.template)["entry"][0]["resource"]["identifier"][0]["system"]
        searched = f"/fhir/ClaimResponse?identifier={quote(system, safe='')}|{IDENTIFIER}"
        targets = {
            "GET /health/live (reference)": ("/health/live", None),
            "GET /fhir/ClaimResponse/{id}": (f"/fhir/ClaimResponse/{claim_response_id}", token),
            "GET /fhir/ClaimResponse?identifier=": (searched, token),
        }
        found = orjson.loads(await asgi_call(app, "GET", searched, token))
        if found.get("total") != 1:
            raise SystemExit(f"the search found {found.get('total')} ClaimResponses, not the one submitted")
        print(f"{calls} calls each, server only (mean per call):")
        for label, (target, bearer) in targets.items():
            for _ in range(100):
                await asgi_call(app, "GET", target, bearer)
            started = time.perf_counter()
            for _ in range(calls):
                await asgi_call(app, "GET", target, bearer)
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
