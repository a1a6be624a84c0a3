"""$submit throughput with 1 and 2 workers on PostgreSQL (auto-approved and pended requests), and on SQLite.

usage: python bench/workers.py [--seconds 8] [--connections 4] [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Each run starts `um-service serve --workers N` on a scratch database, registers a provider client, takes a token,
and sends new requests (each with its own identifier) from separate load processes for a bounded time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from builders import item, request_bundle  # noqa: E402

KINDS = {
    "approved": lambda n: request_bundle(identifier=n, items=[item(1, "97110", quantity=6)]),
    "pended": lambda n: request_bundle(identifier=n, items=[item(1, "27447")]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load(port: int, token: str, kind: str, seconds: float, worker: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors, n = [], 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        body = json.dumps(KINDS[kind](f"W-{os.getpid()}-{worker}-{n}")).encode()
        started = time.perf_counter()
        connection.request(
            "POST",
            "/fhir/Claim/$submit",
            body,
            {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"},
        )
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        errors += response.status != 200
    results.put((latencies, errors))


def run(database_url: str, workers: int, kind: str, seconds: float, connections: int) -> tuple[float, float, int]:
    port = free_port()
    env = {
        **os.environ,
        "UM_DATABASE_URL": database_url,
        "UM_LOG_LEVEL": "warning",
        "UM_TOKEN_SECRET": "bench-" + "x" * 40,
    }
    subprocess.run([sys.executable, "-m", "um_service", "db", "upgrade"], env=env, check=True, capture_output=True)
    secret = subprocess.run(
        [
            sys.executable,
            "-m",
            "um_service",
            "clients",
            "add",
            "bench-ehr",
            "--role",
            "provider",
            "--org",
            "1234567893",
            "--generate-secret",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "um_service", "serve", "--no-upgrade", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request(
                    "POST",
                    "/auth/token",
                    f"grant_type=client_credentials&client_id=bench-ehr&client_secret={secret}",
                    {"Content-Type": "application/x-www-form-urlencoded"},
                )
                token = json.loads(c.getresponse().read())["access_token"]
                break
            except (OSError, KeyError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        loaders = [
            multiprocessing.Process(target=load, args=(port, token, kind, seconds, i, results))
            for i in range(connections)
        ]
        for p in loaders:
            p.start()
        latencies: list[float] = []
        errors = 0
        for _ in loaders:
            got, failed = results.get()
            latencies += got
            errors += failed
        for p in loaders:
            p.join()
        return len(latencies) / seconds, statistics.median(latencies) * 1000, errors
    finally:
        server.terminate()
        server.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    print(
        f"{'database':<10} {'workers':>7} {'kind':<9} {'req/s':>8} {'p50':>9} {'errors':>6}   ({args.connections} connections, {args.seconds:.0f} s)",
        flush=True,
    )
    for workers in (1, 2):
        for kind in KINDS:
            scratch = f"um_bench_workers_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {scratch}"))
            try:
                url = make_url(args.url).set(database=scratch).render_as_string(hide_password=False)
                rps, p50, errors = run(url, workers, kind, args.seconds, args.connections)
                print(f"{'postgresql':<10} {workers:>7} {kind:<9} {rps:>8.1f} {p50:>7.1f}ms {errors:>6}", flush=True)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
    admin.dispose()
    for kind in KINDS:
        with tempfile.TemporaryDirectory() as tmp:
            rps, p50, errors = run(f"sqlite:///{tmp}/bench.db", 1, kind, args.seconds, args.connections)
            print(f"{'sqlite':<10} {1:>7} {kind:<9} {rps:>8.1f} {p50:>7.1f}ms {errors:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
