"""Where the time of one $submit goes: a few hundred submissions through the real app in process, under cProfile.

usage: python bench/profile_submit.py [--requests 300] [--bundle repo|kit] [--top 30] [--by-package] [--database-url URL]

Builds the app on a fresh SQLite file (or the database URL given, migrated first), registers a provider client,
and posts new requests (each with its own Claim identifier, the bundles of bench/submit.py, approved by the rules)
with httpx's ASGI transport, after a warm-up. Synchronous routes and dependencies run in worker threads, so each
thread gets its own profiler and the profiles are merged. Prints the mean time per request and the top functions by
cumulative and by own time. The profiler slows everything down several-fold; compare profiles, not figures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import pstats
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from submit import PLACEHOLDER, Sample, approved_in_total, kit_sample, repo_sample

from um_service.app import create_app
from um_service.auth import clients, tokens
from um_service.db.migrate import upgrade
from um_service.settings import REPO_ROOT, Settings

_thread_profiles: list[cProfile.Profile] = []


def _profile_new_threads() -> None:
    """Give every thread started from now on its own profiler (cProfile sees only the thread that enables it)."""

    def start(frame: FrameType, event: str, arg: Any) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        _thread_profiles.append(profile)
        profile.enable()

    threading.setprofile(start)


async def _post_all(app: Any, sample: Sample, token: str, count: int, tag: str) -> float:
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.perf_counter()
        for n in range(count):
            body = sample.template.replace(PLACEHOLDER.encode(), f"PROFILE-{tag}-{n}".encode())
            response = await client.post("/fhir/Claim/$submit", content=body, headers=headers)
            if response.status_code != 200 or not approved_in_total(response.content):
                raise SystemExit(f"request {n}: {response.status_code} {response.text[:500]}")
        return time.perf_counter() - started


def provider_token(app: Any, sample: Sample, client_id: str) -> str:
    """Register a provider client for the sample's organisation in the app's database; an access token for it."""
    now = dt.datetime.now(dt.UTC)
    with app.state.database.transaction() as session:
        client = clients.register(
            session,
            client_id=client_id,
            role="provider",
            organization=sample.organization,
            secret="bench-secret",
            now=now,
        )
        identity = clients.Identity(client.id, client.role, client.organization, None)
    return tokens.issue(
        identity, tokens.grant(identity, None), key=app.state.token_key, now=now, lifetime=dt.timedelta(hours=1)
    )


async def _run(args: argparse.Namespace, url: str, *, profiled: bool) -> None:
    sample = kit_sample() if args.bundle == "kit" else repo_sample()
    if sample is None:
        raise SystemExit("the kit's bundle is not beside the repository (../shared)")
    app = create_app(
        Settings(database_url=url, dispatcher=args.dispatcher, log_json=args.dispatcher, log_level="warning")
    )
    async with app.router.lifespan_context(app):
        token = provider_token(app, sample, f"profile-{sample.organization}")
        tag = "profiled" if profiled else "plain"
        await _post_all(app, sample, token, 30, f"warm-{tag}")
        if not profiled:
            cpu = time.process_time()
            took = await _post_all(app, sample, token, args.requests, tag)
            cpu = time.process_time() - cpu
            print(
                f"{sample.name}: {args.requests} requests unprofiled, {took / args.requests * 1000:.2f} ms each, "
                f"{cpu / args.requests * 1000:.2f} ms of CPU each (server and client, this process)"
            )
            return
        for profile in _thread_profiles:
            profile.clear()  # forget the warm-up
        main = cProfile.Profile()
        main.enable()
        took = await _post_all(app, sample, token, args.requests, tag)
        main.disable()
    print(f"{args.requests} requests profiled, {took / args.requests * 1000:.2f} ms each")
    print_profiles(main, top=args.top, callers=args.callers, by_package=args.by_package)


def print_profiles(main: cProfile.Profile, *, top: int, callers: str | None, by_package: bool = False) -> None:
    """The main thread's profile merged with every worker thread's: the top functions by cumulative and by own
    time, and who calls the functions matching `callers`; with `by_package`, first each package's share of the own
    time spent working (waiting in the event loop's poll and on locks left out)."""
    threading.setprofile(None)  # type: ignore[arg-type]
    stats = pstats.Stats(main, stream=(out := io.StringIO()))
    for profile in _thread_profiles:
        profile.disable()
        stats.add(profile)
    if by_package:
        print_packages(stats)
    stats.strip_dirs()
    for order in ("cumulative", "tottime"):
        stats.sort_stats(order).print_stats(top)
    if callers:
        stats.print_callers(callers)
    print(out.getvalue())


def print_packages(stats: pstats.Stats) -> None:
    """Own time by package: a library (sqlalchemy, fastapi, ...), a package of ours (um_service/fhir, ...), the
    standard library, or a C function called directly (sqlite3's commit, orjson, ...)."""
    spent: dict[str, float] = defaultdict(float)
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        if function in WAITING:
            continue
        spent[_package(filename, function)] += own
    total = sum(spent.values())
    print(f"own time by package, waiting left out ({total:.2f} s profiled):")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1])[:25]:
        print(f"  {seconds / total * 100:5.1f}%  {name}")
    print()


# The event loop's idle wait and threads waiting for each other: time spent, not work done.
WAITING = {"<method 'poll' of 'select.epoll' objects>", "<method 'acquire' of '_thread.lock' objects>"}


def _package(filename: str, function: str) -> str:
    if filename == "~":
        return f"C: {function}"
    if "/site-packages/" in filename:
        return filename.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/um_service/" in filename:
        return "um_service/" + filename.split("/um_service/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/bench/" in filename:
        return "bench (the client)"
    return "standard library"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--bundle", choices=("repo", "kit"), default="repo")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callers", help="also print who calls the functions matching this pattern")
    parser.add_argument("--by-package", action="store_true", help="first print each package's share of own time")
    parser.add_argument("--no-profile", action="store_true", help="only the unprofiled timing")
    parser.add_argument("--dispatcher", action="store_true", help="as `um-service serve` runs: dispatcher, JSON logs")
    parser.add_argument("--database-url", help="a database to use instead of a fresh SQLite file (migrated first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/profile.db"
        upgrade(url, REPO_ROOT / "migrations")
        # Each event loop has its own worker threads: the second one's are born profiled.
        asyncio.run(_run(args, url, profiled=False))
        if args.no_profile:
            return 0
        _profile_new_threads()
        asyncio.run(_run(args, url, profiled=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
