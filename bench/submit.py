"""Throughput and latency of $submit, next to the floor: an endpoint that only parses the bundle with fhir.resources.

usage: python bench/submit.py [--seconds 10] [--url http://host:port/fhir] [--concurrency 1]

Without --url it starts the service (uvicorn, one worker, a fresh SQLite file) and the bare parsing endpoint,
each in its own process. The load comes from a separate process per connection; every request carries a new
Claim identifier, so each is a new request, not an idempotent replay. Prints requests/second, p50 and p99.
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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
SAMPLE = (
    REPO.parent
    / "shared"
    / "examples"
    / "pas"
    / "testkit-2.2.1"
    / "server-suite-requests"
    / "submit-request-for-approval.json"
)

FLOOR_APP = """
from fastapi import FastAPI, Request, Response
from fhir.resources.R4B.bundle import Bundle

app = FastAPI()

@app.post("/fhir/Claim/$submit")
async def parse(request: Request) -> Response:
    Bundle.model_validate_json(await request.body())
    return Response(b"{}", media_type="application/fhir+json")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not come up")


def serve_floor(directory: str, source: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start the reference endpoint (`source`, a FastAPI app named `app`) with uvicorn in `directory`; (process, port)."""
    (Path(directory) / "floor_app.py").write_text(source)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(port, "/docs")
    return process, port


def load(url: str, seconds: float, worker: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """One keep-alive connection sending new requests back to back until time is up."""
    bundle = json.loads(SAMPLE.read_text())
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    latencies = []
    statuses: dict[int, int] = {}
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        bundle["entry"][0]["resource"]["identifier"][0]["value"] = f"BENCH-{os.getpid()}-{worker}-{n}"
        body = json.dumps(bundle).encode()
        started = time.perf_counter()
        connection.request("POST", parts.path + "/Claim/$submit", body, {"Content-Type": "application/fhir+json"})
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    results.put((latencies, statuses))


def gather(target: Any, argument_lists: list[tuple[Any, ...]], seconds: float) -> dict[str, float]:
    """Run `target(*arguments, results)` in one process per argument list (one connection each, each sending for
    `seconds`) and pool what they put on the queue, (latencies, statuses): requests, requests/second, p50, p99."""
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=target, args=(*arguments, results)) for arguments in argument_lists]
    for w in workers:
        w.start()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for _ in workers:
        got, codes = results.get()
        latencies += got
        for code, count in codes.items():
            statuses[code] = statuses.get(code, 0) + count
    for w in workers:
        w.join()
    if set(statuses) != {200}:
        print(f"  (statuses: {statuses})")
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000,
    }


def measure(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    return gather(load, [(url, seconds, i) for i in range(concurrency)], seconds)


def report(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:<42} {figures['requests']:>7.0f} requests  {figures['rps']:>8.1f} req/s  "
        f"p50 {figures['p50_ms']:>7.2f} ms  p99 {figures['p99_ms']:>7.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--url", help="FHIR base of a running service (default: start one on SQLite)")
    args = parser.parse_args()
    processes = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.url:
                service_url = args.url.rstrip("/")
            else:
                port = free_port()
                env = {
                    **os.environ,
                    "UM_DATABASE_URL": os.environ.get("UM_DATABASE_URL", f"sqlite:///{tmp}/bench.db"),
                    "UM_LOG_LEVEL": "warning",
                }
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "um_service", "serve", "--port", str(port)],
                        env=env,
                        cwd=REPO,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                wait_up(port, "/health/live")
                service_url = f"http://127.0.0.1:{port}/fhir"
            floor, floor_port = serve_floor(tmp, FLOOR_APP)
            processes.append(floor)
            print(
                f"$submit benchmark: {args.seconds:.0f} s each, {args.concurrency} connection(s), "
                f"bundle {SAMPLE.stat().st_size} bytes"
            )
            report("um-service $submit", measure(service_url, args.seconds, args.concurrency))
            report(
                "floor: parse with fhir.resources",
                measure(f"http://127.0.0.1:{floor_port}/fhir", args.seconds, args.concurrency),
            )
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
