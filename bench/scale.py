"""Flat costs as the case store grows: each read a portal or a UM team makes, at 10 k, 100 k and 1 M stored cases.

usage: python bench/scale.py [--sizes 10000 100000 1000000] [--repeat 30] [--database um_scale] [--keep]
                             [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]

On this 2-core machine the default run takes about 10 minutes, 7 of them seeding the last 900 k cases (COPY, then
VACUUM ANALYZE); `--sizes 10000 100000` takes about 2.

Creates a throwaway PostgreSQL database beside the one named (`um_scale`, dropped at the end unless --keep), applies
the migrations, and submits a few real requests through the app (auto-approved, no authorization needed, pended and
then approved by a nurse, escalated and denied by a medical director, pended and still open), moving the service
clock between steps. Their rows in every table the measured reads touch (cases, case_items, case_identifiers,
case_parties, submissions, claim_response_versions, audit_events) are then cloned with COPY under new ids, Claim
identifiers, preauth references, member ids and dates, growing the store to each size in turn.

The data follow a steady payer: requests arrive at a constant rate (274 a day, so 100 k cases are one year), growth
adds older history, a member has about four requests, and the open backlog is the newest 1,000 cases at every size
(a backlog follows staffing, not history). A one-month report then scans the same number of cases at every size.

At each size, each operation runs through the real app (FastAPI's TestClient, real access tokens) --repeat times
after one warm-up call, on random targets; prints the median and p99 (ms) per operation and size, and the ratio of
the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from um_service.app import create_app  # noqa: E402
from um_service.auth import tokens  # noqa: E402
from um_service.auth.clients import Identity  # noqa: E402
from um_service.db.migrate import upgrade  # noqa: E402
from um_service.settings import Settings  # noqa: E402

from builders import item, request_bundle  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
PER_DAY = 274  # arrivals a day: 100 k cases are one year of history
OPEN_BACKLOG = 1000
CASES_PER_MEMBER = 4
REPORT = ("2026-10-20", "2026-11-20")  # one month, inside the newest 10 k cases
PROVIDER_ORG = "1234567893"
CLAIM_SYSTEM = "urn:trnorg:9012345678"
MEMBER_SYSTEM = "urn:test:member"
NURSE = "bench-nurse"
# Tables cloned per case, in foreign-key order; integer ids of the others come from their sequences.
TABLES = (
    "cases",
    "case_items",
    "case_identifiers",
    "case_parties",
    "submissions",
    "claim_response_versions",
    "audit_events",
)
SERIAL = {"case_identifiers", "case_parties", "audit_events"}
# Template kinds of closed cases and their shares of history.
CLOSED_MIX = (("auto", 45), ("auto-expedited", 5), ("not-required", 10), ("nurse-approved", 25), ("md-denied", 15))


class Clock:
    """The service clock, moved by the template builder."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def token(app: Any, role: str, *, org: str | None = None, reviewer: str | None = None) -> str:
    """A real access token, signed with the app's own key (as tests/conftest.py AuthClient does)."""
    identity = Identity(f"bench-{role}-{org or reviewer or 'x'}", role, org, reviewer)
    signed = tokens.issue(
        identity, tokens.grant(identity, None), key=app.state.token_key, now=NOW, lifetime=dt.timedelta(days=30)
    )
    return f"Bearer {signed}"


def bundle(identifier: str, member: str, code: str, *, quantity: int = 1, priority: str = "normal") -> dict[str, Any]:
    """A PAS request for one service, dated after every receipt (a prospective request)."""
    return request_bundle(
        identifier=identifier,
        member_id=member,
        provider_npi=PROVIDER_ORG,
        items=[item(1, code, quantity=quantity, date="2027-12-31")],
        priority=priority,
    )


# --- templates: real requests through the app ------------------------------------------------------------------


def build_templates(client: TestClient, clock: Clock) -> dict[str, dict[str, str]]:
    """Submit one request of each kind through the app; returns kind -> the tokens to replace when cloning."""
    app = client.app
    provider = {"Authorization": token(app, "provider", org=PROVIDER_ORG), "Content-Type": "application/fhir+json"}
    admin = {"Authorization": token(app, "admin")}
    md = {"Authorization": token(app, "medical_director", reviewer="md-diaz")}
    kinds = {
        "auto": ("97110", 6, "normal", None),
        "auto-expedited": ("97110", 6, "stat", None),
        "not-required": ("99213", 1, "normal", None),
        "nurse-approved": ("27447", 1, "normal", "approve"),
        "md-denied": ("27447", 1, "normal", "deny"),
        "open": ("27447", 1, "normal", None),
        "open-expedited": ("27447", 1, "stat", None),
    }
    found: dict[str, dict[str, str]] = {}
    for n, (kind, (code, quantity, priority, then)) in enumerate(kinds.items()):
        clock.now = NOW - dt.timedelta(days=30 - n)
        identifier, member = f"TPLREQ{n:04d}X", f"TPLMBR{n:04d}X"
        body = orjson.dumps(bundle(identifier, member, code, quantity=quantity, priority=priority))
        answer = client.post("/fhir/Claim/$submit", content=body, headers=provider)
        assert answer.status_code == 200, answer.text
        case_id = answer.json()["entry"][0]["resource"]["id"]
        if then is not None:
            assignee = client.get(f"/um/cases/{case_id}", headers=admin).json()["assignee"]
            nurse = {"Authorization": token(app, "nurse", reviewer=assignee)}
            assert client.post(f"/um/cases/{case_id}/take", headers=nurse).status_code == 200
            clock.now += dt.timedelta(hours=20 + 7 * n)
            if then == "approve":
                done = client.post(f"/um/cases/{case_id}/approve", headers=nurse, json={"items": [{"sequence": 1}]})
            else:
                note = {"note": "Does not meet criteria."}
                assert client.post(f"/um/cases/{case_id}/escalate", headers=nurse, json=note).status_code == 200
                assert client.post(f"/um/cases/{case_id}/take", headers=md).status_code == 200
                denial = {"items": [1], "reason_code": "0U", "reason_text": "Criteria not met."}
                done = client.post(f"/um/cases/{case_id}/deny", headers=md, json=denial)
            assert done.status_code == 200, done.text
        case = client.get(f"/um/cases/{case_id}", headers=admin).json()
        found[kind] = {
            "case_id": case_id,
            "preauth_ref": case["preauth_ref"],
            "identifier": identifier,
            "member": member,
        }
    clock.now = NOW
    return found


# --- cloning with COPY ------------------------------------------------------------------------------------------


class Template:
    """One template case's rows, with every text value pre-split around the tokens a clone replaces."""

    def __init__(
        self, connection: psycopg.Connection[Any], names: dict[str, str], *, open_case: bool, worked_by: str | None
    ):
        self.case_id = names["case_id"]
        rows: dict[str, list[dict[str, Any]]] = {}
        for table in TABLES:
            key = "id" if table == "cases" else "case_id"
            cursor = connection.execute(f"SELECT * FROM {table} WHERE {key} = %s ORDER BY 1", (self.case_id,))
            columns = [c.name for c in cursor.description or ()]
            rows[table] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            if table in SERIAL:
                for row in rows[table]:
                    del row["id"]
        self.received: dt.datetime = rows["cases"][0]["received_at"]
        if open_case:
            # Routing offered the template to a staff nurse; its clones wait unassigned for `next case`.
            rows["cases"][0].update(assignee=None, assigned_at=None)
        elif worked_by is not None:
            # The nurse who asks for `next case` decided this history: her held cases are counted among all she
            # ever held (routing.open_count), as a nurse's are after a few years.
            rows["cases"][0].update(assignee=worked_by)
        # What differs per clone: case id, preauth ref, Claim identifier, member id, submission ids, content hashes.
        self.fixed = {
            names["case_id"]: "case",
            names["preauth_ref"]: "ref",
            names["identifier"]: "identifier",
            names["member"]: "member",
        }
        for n, submission in enumerate(rows["submissions"]):
            self.fixed[submission["id"]] = f"submission{n}"
            self.fixed[submission["content_hash"]] = f"hash{n}"
        pattern = re.compile("(" + "|".join(re.escape(t) for t in self.fixed) + ")")
        self.columns = {table: list(rows[table][0]) if rows[table] else [] for table in TABLES}
        self.rows = {
            table: [[self._split(v, pattern) for v in row.values()] for row in rows[table]] for table in TABLES
        }

    def _split(self, value: Any, pattern: re.Pattern[str]) -> Any:
        if isinstance(value, str):
            parts = pattern.split(value)
            if len(parts) > 1:
                return _Parts([self.fixed[p] if i % 2 else p for i, p in enumerate(parts)])
        return value

    def clone(self, names: dict[str, str], received: dt.datetime) -> Iterator[tuple[str, list[Any]]]:
        """(table, row) of one clone received at `received`."""
        shift = received - self.received
        for table in TABLES:
            for row in self.rows[table]:
                yield table, [_value(v, names, shift) for v in row]


class _Parts(list[str]):
    """A text split around clone tokens: odd positions name the token."""

    def render(self, names: dict[str, str]) -> str:
        return "".join(names[p] if i % 2 else p for i, p in enumerate(self))


def _value(value: Any, names: dict[str, str], shift: dt.timedelta) -> Any:
    if isinstance(value, _Parts):
        return value.render(names)
    if isinstance(value, dt.datetime):
        return value + shift
    return value


def kind_of(index: int) -> str:
    """The template of the case at `index` (0 is the newest)."""
    if index < OPEN_BACKLOG:
        return "open-expedited" if index % 10 == 0 else "open"
    spot = (index * 2654435761) % 100
    for kind, share in CLOSED_MIX:
        if spot < share:
            return kind
        spot -= share
    raise AssertionError("shares add up to 100")


def member_of(index: int) -> str:
    """Members have about four requests each, spread over a few weeks of arrivals."""
    block, within = divmod(index, 1000 * CASES_PER_MEMBER)
    return f"SM{block * 1000 + (within * 7) % 1000:08d}"


def names_of(index: int, template: Template) -> dict[str, str]:
    """The tokens of the clone at `index`."""
    names = {
        "case": str(uuid.UUID(int=index + 1)),
        "ref": f"PA-S{index:09d}",
        "identifier": f"SC-{index:09d}",
        "member": member_of(index),
    }
    for token_name in template.fixed.values():
        if token_name.startswith("submission"):
            names[token_name] = str(uuid.uuid4())
        elif token_name.startswith("hash"):
            names[token_name] = uuid.uuid4().hex + uuid.uuid4().hex
    return names


def received_of(index: int) -> dt.datetime:
    """Constant arrivals, newest first."""
    return NOW - dt.timedelta(days=index / PER_DAY) - dt.timedelta(minutes=5)


def grow(url: str, templates: dict[str, Template], start: int, stop: int) -> None:
    """COPY cases [start, stop) into every cloned table."""
    with psycopg.connect(url) as connection:
        connection.execute("SET synchronous_commit = off")
        batch = 20_000
        for low in range(start, stop, batch):
            rows: dict[str, list[list[Any]]] = {table: [] for table in TABLES}
            for index in range(low, min(stop, low + batch)):
                template = templates[kind_of(index)]
                for table, row in template.clone(names_of(index, template), received_of(index)):
                    rows[table].append(row)
            with connection.cursor() as cursor:
                for table in TABLES:
                    columns = next(t.columns[table] for t in templates.values() if t.columns[table])
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy_in:
                        for row in rows[table]:
                            copy_in.write_row(row)
            connection.commit()
    # What autovacuum would have done by the time anyone reads: fresh statistics and a visibility map (index-only
    # scans), done now so that it does not start in the middle of a measurement.
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")


# --- the operations measured ------------------------------------------------------------------------------------


def operations(client: TestClient, size: int, rng: random.Random) -> dict[str, Callable[[], Any]]:
    """Each measured operation as a call on a random target among the `size` stored cases."""
    app = client.app
    provider = {"Authorization": token(app, "provider", org=PROVIDER_ORG), "Content-Type": "application/fhir+json"}
    portal = {"Authorization": token(app, "portal")}
    admin = {"Authorization": token(app, "admin")}
    nurse = {"Authorization": token(app, "nurse", reviewer=NURSE)}

    def target() -> int:
        return rng.randrange(size)

    def inquire() -> Any:
        index = target()
        inquiry = copy.deepcopy(bundle(f"SC-{index:09d}", member_of(index), "27447"))
        inquiry["entry"][0]["resource"]["id"] = "inquiry-1"
        inquiry["identifier"] = {"system": "urn:test:transaction", "value": f"INQ-{index}"}
        return client.post("/fhir/Claim/$inquire", content=orjson.dumps(inquiry), headers=provider)

    def by_identifier() -> Any:
        params = {"identifier": f"{CLAIM_SYSTEM}|SC-{target():09d}"}
        return client.get("/fhir/ClaimResponse", params=params, headers=portal)

    def by_member() -> Any:
        params = {"patient.identifier": f"{MEMBER_SYSTEM}|{member_of(target())}"}
        return client.get("/fhir/ClaimResponse", params=params, headers=portal)

    def worklist() -> Any:
        return client.get("/um/worklist", headers=admin)

    def worklist_search() -> Any:
        return client.get("/um/worklist", params={"q": member_of(rng.randrange(OPEN_BACKLOG))}, headers=admin)

    def next_case() -> Any:
        return client.post("/um/work/next", headers=nurse)

    def cms() -> Any:
        return client.get("/um/reports/cms-0057", params={"from": REPORT[0], "to": REPORT[1]}, headers=admin)

    def dashboard() -> Any:
        return client.get("/um/dashboard", headers=admin)

    def team() -> Any:
        return client.get("/um/operations", headers=admin)

    return {
        "$inquire": inquire,
        "search identifier": by_identifier,
        "search member": by_member,
        "work list": worklist,
        "work list q=member": worklist_search,
        "next case": next_case,
        "cms-0057 month": cms,
        "dashboard 30d": dashboard,
        "operations": team,
    }


def measure(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and p99 (ms) of `repeat` calls after one warm-up; every answer must be a success."""
    answer = call()
    assert answer.status_code == 200, answer.text[:500]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text[:500]
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]


def add_bench_nurse(url: str) -> None:
    """A nurse with every skill and room for every case `next case` hands out."""
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO reviewers (id, name, role, skills, licensed_states, capacity, available) "
            "VALUES (%s, 'Bench Nurse', 'nurse', %s, '[]', 1000000, true)",
            (NURSE, orjson.dumps(sorted(_all_skills(connection))).decode()),
        )


def _all_skills(connection: psycopg.Connection[Any]) -> set[str]:
    skills: set[str] = set()
    for (listed,) in connection.execute("SELECT skills FROM queues"):
        skills |= set(orjson.loads(listed))
    return skills


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="um_scale")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (to EXPLAIN in it)")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    if sizes[0] < OPEN_BACKLOG * 2:
        parser.error(f"sizes start at {OPEN_BACKLOG * 2}")
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {args.database}"))
    url = make_url(args.url).set(database=args.database).render_as_string(hide_password=False)
    raw_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    results: dict[int, dict[str, tuple[float, float]]] = {}
    try:
        upgrade(url, REPO / "migrations")
        clock = Clock()
        app = create_app(Settings(database_url=url, dispatcher=False, log_level="warning"), clock=clock)
        with TestClient(app) as client:
            started = time.perf_counter()
            names = build_templates(client, clock)
            with psycopg.connect(raw_url) as connection:
                templates = {
                    kind: Template(
                        connection,
                        found,
                        open_case=kind.startswith("open"),
                        worked_by=NURSE if kind == "nurse-approved" else None,
                    )
                    for kind, found in names.items()
                }
                # The templates served their purpose; the measured store holds only clones.
                connection.execute("DELETE FROM cases")
            add_bench_nurse(raw_url)
            print(f"templates built in {time.perf_counter() - started:.1f} s", flush=True)
            stored = 0
            for size in sizes:
                started = time.perf_counter()
                grow(raw_url, templates, stored, size)
                stored = size
                print(f"seeded {size:,} cases in {time.perf_counter() - started:.1f} s", flush=True)
                rng = random.Random(size)
                results[size] = {
                    name: measure(call, args.repeat) for name, call in operations(client, size, rng).items()
                }
                for name, (median, p99) in results[size].items():
                    print(f"  {name:<20} median {median:8.2f} ms  p99 {p99:8.2f} ms", flush=True)
    finally:
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)"))
        admin.dispose()
    print_table(results, args.repeat)
    return 0


def print_table(results: dict[int, dict[str, tuple[float, float]]], repeat: int) -> None:
    """Median and p99 per operation and size, side by side, with the ratio largest / smallest."""
    sizes = sorted(results)
    if not sizes:
        return
    first, last = sizes[0], sizes[-1]
    header = f"{'operation (ms, ' + str(repeat) + ' calls)':<24}" + "".join(
        f"{f'{size:,} median':>17}{'p99':>9}" for size in sizes
    )
    print()
    print(header + f"{f'ratio {_short(last)}/{_short(first)}':>16}")
    for name in results[first]:
        cells = "".join(f"{results[s][name][0]:>17.2f}{results[s][name][1]:>9.2f}" for s in sizes)
        ratio = results[last][name][0] / results[first][name][0]
        print(f"{name:<24}{cells}{ratio:>16.2f}")


def _short(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


if __name__ == "__main__":
    raise SystemExit(main())
