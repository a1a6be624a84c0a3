"""Member registry at scale: import time for a million members, and the intake's member lookup at 1 k and at 1 M.

usage: python bench/members.py [--members 1000000] [--url sqlite:///... | postgresql+psycopg://...] [--lookups 2000]

Writes NDJSON enrollment feeds (a Patient and a Coverage per member, 100,000 members a file, the way a payer splits
its exports) into a temporary directory, then into a fresh database (a temporary SQLite file by default; with --url
naming PostgreSQL, a scratch database beside it that is dropped afterwards) times:
- the lookup the intake makes (`registry.coverages_of` for a request's member ids) with 1,000 members loaded;
- importing every file with `um-service members import`'s code path (read, check, upsert), file by file;
- the same lookup with all members loaded, and a re-import of one file (which must change nothing).
Generation time is not counted. Prints one table; the lookup's p50 and p99 should stay flat from 1 k to 1 M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from um_service.coverage import registry
from um_service.db.migrate import upgrade
from um_service.db.session import Database
from um_service.fhir.enrollment import read_feed

REPO = Path(__file__).resolve().parent.parent
PER_FILE = 100_000
MB = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]}


def member_id(n: int) -> str:
    return f"M{n:09d}"


def write_feed(path: Path, first: int, count: int) -> None:
    """NDJSON: a Patient and its Coverage for members first .. first + count - 1."""
    with path.open("wb") as out:
        for n in range(first, first + count):
            pid = f"p{n}"
            out.write(
                orjson.dumps(
                    {
                        "resourceType": "Patient",
                        "id": pid,
                        "name": [{"family": f"Family{n % 997}", "given": [f"Given{n % 991}"]}],
                        "birthDate": f"{1940 + n % 70}-0{1 + n % 9}-1{n % 9}",
                        "gender": "female" if n % 2 else "male",
                    }
                )
                + b"\n"
            )
            out.write(
                orjson.dumps(
                    {
                        "resourceType": "Coverage",
                        "id": f"cov{n}",
                        "status": "active",
                        "identifier": [
                            {"type": MB, "system": "urn:plan:member", "value": member_id(n)},
                            {"system": "urn:plan:coverage", "value": f"C{n}"},
                        ],
                        "subscriberId": member_id(n),
                        "beneficiary": {"reference": f"Patient/{pid}"},
                        "relationship": {"coding": [{"code": "self"}]},
                        "period": {"start": "2026-01-01", "end": "2026-12-31"},
                        "payor": [{"display": "Bench Health Plan"}],
                        "class": [{"type": {"coding": [{"code": "plan"}]}, "value": f"PLAN-{n % 7}"}],
                    }
                )
                + b"\n"
            )


def import_file(database: Database, path: Path) -> int:
    feed = read_feed(path.read_bytes(), name=path.name)
    assert not feed.problems, feed.problems[:3]
    with database.transaction() as session:
        return registry.store(session, feed, now=dt.datetime.now(dt.UTC)).members


def lookups(database: Database, members: int, count: int) -> tuple[float, float]:
    """p50 and p99 in ms of the intake's lookup: a request's member ids (one registered, one not) -> coverages."""
    rng = random.Random(7)
    times = []
    with database.transaction() as session:
        for _ in range(count):
            wanted = [member_id(rng.randrange(members)), f"X{rng.randrange(10**9)}"]
            started = time.perf_counter()
            found, coverages = registry.coverages_of(session, wanted)
            times.append((time.perf_counter() - started) * 1000)
            assert found is not None
            assert coverages
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def scratch(url: str | None, workdir: Path) -> tuple[str, str | None]:
    """(database URL, PostgreSQL database to drop afterwards)."""
    if url is None or url.startswith("sqlite"):
        return f"sqlite:///{workdir / 'bench-members.db'}", None
    name = f"um_bench_members_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def drop(url: str, name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--url", help="PostgreSQL server URL for a scratch database (default: a SQLite file)")
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        small = workdir / "small.ndjson"
        write_feed(small, 0, 1000)
        files = []
        for first in range(1000, args.members, PER_FILE):
            path = workdir / f"feed-{first:09d}.ndjson"
            write_feed(path, first, min(PER_FILE, args.members - first))
            files.append(path)
        url, dropped = scratch(args.url, workdir)
        try:
            upgrade(url, REPO / "migrations")
            database = Database(url)
            import_file(database, small)
            small_p50, small_p99 = lookups(database, 1000, args.lookups)
            started = time.perf_counter()
            imported = sum(import_file(database, path) for path in files)
            elapsed = time.perf_counter() - started
            large_p50, large_p99 = lookups(database, args.members, args.lookups)
            started = time.perf_counter()
            import_file(database, files[-1])
            again = time.perf_counter() - started
            database.dispose()
        finally:
            if args.url:
                drop(args.url, dropped)
    backend = "PostgreSQL" if dropped else "SQLite"
    print(
        f"{backend}: imported {imported:,} members in {len(files)} files in {elapsed:.1f} s "
        f"({imported / elapsed:,.0f} members/s, Patient + Coverage each); re-import of the last file {again:.1f} s"
    )
    print(f"{'members':>10} | {'lookup p50':>10} | {'lookup p99':>10}")
    print(f"{1000:>10,} | {small_p50:>8.3f}ms | {small_p99:>8.3f}ms")
    print(f"{args.members:>10,} | {large_p50:>8.3f}ms | {large_p99:>8.3f}ms")


if __name__ == "__main__":
    main()
