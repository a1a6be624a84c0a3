"""Where a new $submit's time goes, stage by stage: the mean time of each named step, without a profiler.

usage: python bench/stages_submit.py [--requests 1000] [--bundle repo|kit] [--database-url URL]
       PYTHONPATH=../older-tree python bench/stages_submit.py   (the same stages in another tree's code)

Builds the app on a fresh SQLite file (or the database URL given, migrated first), registers a provider client, and
calls the app's ASGI entry directly (no HTTP client in the timing) with new requests, the bundles of bench/submit.py,
after a warm-up. Each stage below is wrapped in a timer; stages nest (intake.submit holds _open_case, which holds
lifecycle.finish, ...), so their times do not add up. Prints the server's time per request (wall and CPU), on SQLite
the pages each request writes to the log (what its commit writes and syncs), and each stage's mean time and calls
per request. Compare runs made one after the other: the machine's speed drifts.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_submit import provider_token
from submit import PLACEHOLDER, Sample, kit_sample, repo_sample

from um_service.app import create_app
from um_service.db.migrate import upgrade
from um_service.settings import REPO_ROOT, Settings

# (module, attribute as seen by its callers): the stages of a new request, outermost first.
STAGES = [
    ("um_service.pas.intake", "submit"),
    ("um_service.pas.intake", "read_submit_request"),
    ("um_service.db.repository", "find_submission"),
    ("um_service.pas.intake", "_open_case"),
    ("um_service.db.repository", "case_ids_with_identifiers"),
    ("um_service.coverage.benefits", "look_up"),
    ("um_service.coverage.benefits", "decide"),
    ("um_service.case.lifecycle", "finish"),
    ("um_service.case.response_versions", "publish_if_changed"),
    ("um_service.case.lifecycle", "insert_new"),
    ("um_service.pas.intake", "record_keys"),
    ("um_service.pas.intake", "store_submission"),
    ("sqlalchemy.orm.session", "Session.flush"),
    ("sqlalchemy.orm.session", "Session.commit"),
    ("sqlalchemy.engine.base", "Connection._execute_context"),
]

_spent: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)


def _time_stages() -> None:
    for module_name, attribute in STAGES:
        holder: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for step in path:
            holder = getattr(holder, step)
        if hasattr(holder, name):  # an older tree (PYTHONPATH=...) may not have every stage
            setattr(holder, name, _timed(f"{module_name.rsplit('.', 1)[-1]}.{attribute}", getattr(holder, name)))


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _spent[label] += time.perf_counter() - started
            _calls[label] += 1

    return timed


async def asgi_call(app: Any, method: str, target: str, token: str | None = None, body: bytes = b"") -> bytes:
    """One request through the app's ASGI entry (no HTTP client in the timing); its body. The answer must be a 200."""
    path, _, query = target.partition("?")
    headers = [(b"host", b"bench"), (b"content-type", b"application/fhir+json")]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
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
    statuses: list[int] = []
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
            statuses.append(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    if statuses != [200]:
        raise SystemExit(f"{method} {target} answered {statuses}: {b''.join(chunks)[:300]!r}")
    return b"".join(chunks)


async def _post(app: Any, body: bytes, token: str) -> None:
    """One new $submit; the answer must be a 200."""
    await asgi_call(app, "POST", "/fhir/Claim/$submit", token, body)


async def _wal_pages(app: Any, sample: Sample, token: str, database_file: Path, requests: int = 200) -> float:
    """Pages one new request writes to SQLite's write-ahead log (what its commit writes and syncs): the log's growth
    over `requests` requests, with this app's automatic checkpoints paused so the log only grows."""
    engine = app.state.database.engine
    event.listen(engine, "connect", _pause_checkpoints)
    engine.dispose()  # the pooled connections reconnect with checkpoints paused
    try:
        tag = time.time_ns()
        await _post(app, sample.template.replace(PLACEHOLDER.encode(), f"WAL-W-{tag}".encode()), token)
        with sqlite3.connect(database_file) as connection:  # empty the log: it then grows by what is written
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log = database_file.with_name(database_file.name + "-wal")
        before = log.stat().st_size
        for n in range(requests):
            await _post(app, sample.template.replace(PLACEHOLDER.encode(), f"WAL-{tag}-{n}".encode()), token)
        frame = 24 + _page_size(database_file)
        return (log.stat().st_size - before) / frame / requests
    finally:
        event.remove(engine, "connect", _pause_checkpoints)
        engine.dispose()


def _pause_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint = 0")


def _page_size(database_file: Path) -> int:
    with sqlite3.connect(database_file) as connection:
        size: int = connection.execute("PRAGMA page_size").fetchone()[0]
    return size


async def _run(sample: Sample, url: str, requests: int) -> None:
    app = create_app(Settings(database_url=url, log_level="warning"))
    async with app.router.lifespan_context(app):
        token = provider_token(app, sample, f"stages-{sample.organization}-{time.time_ns()}")
        tag = time.time_ns()
        for n in range(50):
            await _post(app, sample.template.replace(PLACEHOLDER.encode(), f"STAGES-W-{tag}-{n}".encode()), token)
        _spent.clear()
        _calls.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(requests):
            await _post(app, sample.template.replace(PLACEHOLDER.encode(), f"STAGES-{tag}-{n}".encode()), token)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        spent, calls = dict(_spent), dict(_calls)  # the WAL pass below sends more requests
        database_file = make_url(url).database if url.startswith("sqlite") else None
        pages = await _wal_pages(app, sample, token, Path(database_file)) if database_file else None
    print(f"{sample.name}: {requests} new requests, server only: {wall / requests * 1000:.3f} ms wall, ", end="")
    print(f"{cpu / requests * 1000:.3f} ms CPU per request")
    if pages is not None:
        print(
            f"  written to SQLite's log per request: {pages:.1f} pages (each table and index it touches: a page or more)"
        )
    for module_name, attribute in STAGES:
        label = f"{module_name.rsplit('.', 1)[-1]}.{attribute}"
        if calls.get(label):
            mean = spent[label] / requests * 1000
            print(f"  {label:<40} {mean:7.3f} ms  x{calls[label] / requests:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--bundle", choices=("repo", "kit"), default="repo")
    parser.add_argument("--database-url", help="a database to use instead of a fresh SQLite file (migrated first)")
    args = parser.parse_args()
    sample = kit_sample() if args.bundle == "kit" else repo_sample()
    if sample is None:
        raise SystemExit("the kit's bundle is not beside the repository (../shared)")
    _time_stages()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/stages.db"
        upgrade(url, REPO_ROOT / "migrations")
        asyncio.run(_run(sample, url, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
