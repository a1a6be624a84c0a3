"""Time to get the next case with 100, 10,000 and 100,000 open cases, on PostgreSQL.

usage: python bench/routing.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--calls 200]

Creates a scratch database beside the one named, migrates it, bulk-loads open cases across ten queues (the
reviewer is qualified for three of them), and times `next case` (claim with a row lock that skips locked rows)
for one reviewer; each call's transaction is rolled back so every call sees the same backlog. Prints the median
and p99 per size; the figure should stay nearly flat as the backlog grows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from um_service.db.migrate import upgrade
from um_service.db.models import Case, Reviewer, WorkQueue
from um_service.review import routing

REPO = Path(__file__).resolve().parent.parent
SKILLS = [
    "imaging",
    "dme",
    "rehab",
    "inpatient",
    "oncology",
    "genetics",
    "home-health",
    "pediatrics",
    "cardiology",
    "wound",
]


def load(url: str, count: int) -> None:
    engine = create_engine(url)
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    rng = random.Random(count)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE cases, reviewers, queues RESTART IDENTITY CASCADE"))
        connection.execute(
            insert(WorkQueue),
            [{"name": f"{s}-review", "description": "", "skills": orjson.dumps([s]).decode()} for s in SKILLS],
        )
        connection.execute(
            insert(Reviewer),
            [
                {
                    "id": "bench-nurse",
                    "name": "Bench",
                    "role": "nurse",
                    "capacity": 10**6,
                    "available": True,
                    "skills": orjson.dumps(["imaging", "dme", "rehab"]).decode(),
                    "licensed_states": "[]",
                }
            ],
        )
        rows = []
        for n in range(count):
            skill = SKILLS[n % len(SKILLS)]
            received = now - dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 6))
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "submitter": "bench",
                    "preauth_ref": f"PA-B{n:09d}",
                    "status": "pended",
                    "priority": "standard",
                    "received_at": received,
                    "due_at": received + dt.timedelta(days=7),
                    "updated_at": received,
                    "response_version": 1,
                    "queue": f"{skill}-review",
                    "required_skills": orjson.dumps([skill]).decode(),
                    "review_priority": "routine",
                    "near_breach": False,
                }
            )
            if len(rows) == 5000:
                connection.execute(insert(Case), rows)
                rows = []
        if rows:
            connection.execute(insert(Case), rows)
        connection.execute(text("ANALYZE cases"))
    engine.dispose()


def measure(url: str, calls: int) -> list[float]:
    engine = create_engine(url)
    timings = []
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    for _ in range(calls):
        with Session(engine) as session:
            reviewer = session.get(Reviewer, "bench-nurse")
            assert reviewer is not None
            started = time.perf_counter()
            case = routing.next_case(session, reviewer, now=now)
            timings.append(time.perf_counter() - started)
            assert case is not None
            session.rollback()
    engine.dispose()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    scratch = f"um_bench_routing_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {scratch}"))
    url = make_url(args.url).set(database=scratch).render_as_string(hide_password=False)
    try:
        upgrade(url, REPO / "migrations")
        print(f"{'open cases':>11}  {'median':>9}  {'p99':>9}")
        for count in (100, 10_000, 100_000):
            load(url, count)
            timings = sorted(measure(url, args.calls))
            print(
                f"{count:>11,}  {statistics.median(timings) * 1000:>7.2f}ms  {timings[int(len(timings) * 0.99) - 1] * 1000:>7.2f}ms"
            )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
