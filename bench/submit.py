"""Throughput and latency of $submit, next to two floors: an endpoint that only parses the same Bundle with
fhir.resources (the "naive floor"), and one that only `orjson.loads` it.

usage: python bench/submit.py [--seconds 10] [--rounds 5] [--concurrency 1] [--workers 1]
                              [--url http://host:port/fhir --token T [--kit-token T]]

Without --url it starts the service (uvicorn, one worker, a fresh SQLite file unless UM_DATABASE_URL names another
database), registers a provider client for each bundle's organisation and takes its token (POST /auth/token), and
starts the two floor endpoints, each in its own process. With --url it sends to a running service with the tokens
given (a provider token for organisation 1234567893, and one for the kit's 8189991234).

Two bundles: the repository's own example (examples/pas-request.json, its lumbar MRI swapped for six visits of
physical therapy, which the shipped rules approve) and the PAS test kit's request for approval (read from
../shared/examples/...; skipped, with a message, when that directory is absent). The load comes from a separate
process per connection; every request carries a new Claim identifier, so each is a new request, not an idempotent
replay. Every answer must be 200 and, from $submit, a ClaimResponse certifying every item in total (A1); anything
else is counted and printed as an error. Prints requests/second, p50 and p99, and ours as a share of each floor.
The seconds of each are spread over --rounds rounds, in each of which ours and the floors take turns, so that a
drift of this machine's speed (often 1.5x within minutes) reaches all three alike; the ratio is also given for the
slowest and the fastest round.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

REPO = Path(__file__).resolve().parent.parent
REPO_EXAMPLE = REPO / "examples" / "pas-request.json"
KIT_EXAMPLE = (
    REPO.parent
    / "shared"
    / "examples"
    / "pas"
    / "testkit-2.2.1"
    / "server-suite-requests"
    / "submit-request-for-approval.json"
)
# What the benchmark's clients register as (the organisation each bundle's provider names).
REPO_ORG, KIT_ORG = "1234567893", "8189991234"
PLACEHOLDER = "BENCH-IDENTIFIER-PLACEHOLDER"

FLOOR_APP = """
from fastapi import FastAPI, Request, Response
from fhir.resources.R4B.bundle import Bundle

app = FastAPI()

@app.post("/fhir/Claim/$submit")
async def parse(request: Request) -> Response:
    Bundle.model_validate_json(await request.body())
    return Response(b"{}", media_type="application/fhir+json")
"""

ORJSON_APP = """
import orjson
from fastapi import FastAPI, Request, Response

app = FastAPI()

@app.post("/fhir/Claim/$submit")
async def parse(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(b"{}", media_type="application/fhir+json")
"""


@dataclass(frozen=True)
class Sample:
    """A bundle to send: its name, its JSON with the Claim identifier replaced by PLACEHOLDER, its organisation."""

    name: str
    template: bytes
    organization: str


def repo_sample() -> Sample:
    """The repository's example, asking for six visits of physical therapy (approved by therapy.yaml)."""
    bundle = json.loads(REPO_EXAMPLE.read_text())
    claim = bundle["entry"][0]["resource"]
    for item in claim["item"]:
        item["productOrService"]["coding"][0]["code"] = "97110"
        item["quantity"] = {"value": 6}
    return _sample(f"repo example ({REPO_EXAMPLE.name}, CPT 97110 x6)", bundle, REPO_ORG)


def kit_sample() -> Sample | None:
    """The PAS test kit's request for approval, or None when ../shared is not beside the repository."""
    if not KIT_EXAMPLE.is_file():
        return None
    return _sample(f"kit ({KIT_EXAMPLE.name})", json.loads(KIT_EXAMPLE.read_text()), KIT_ORG)


def _sample(name: str, bundle: dict[str, Any], organization: str) -> Sample:
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = PLACEHOLDER
    return Sample(name, orjson.dumps(bundle), organization)


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


def serve_floor(
    directory: str, source: str, name: str = "floor_app", workers: int = 1
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the reference endpoint (`source`, a FastAPI app named `app`) with uvicorn in `directory`, with as many
    worker processes as the service gets; (process, port)."""
    (Path(directory) / f"{name}.py").write_text(source)
    port = free_port()
    # Served as the service is (um_service/serving.py: uvicorn, TCP_NODELAY on a socket several workers share).
    process = subprocess.Popen(
        [sys.executable, "-m", "um_service.serving", f"{name}:app", str(port), str(workers)],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(port, "/docs")
    return process, port


def approved_in_total(body: bytes) -> bool:
    """Whether a PAS response Bundle's ClaimResponse certifies every item in total (X12 306 code A1)."""
    try:
        claim_response = orjson.loads(body)["entry"][0]["resource"]
        codes = [
            extension["valueCodeableConcept"]["coding"][0]["code"]
            for item in claim_response["item"]
            for adjudication in item["adjudication"]
            for review in adjudication.get("extension", [])
            for extension in review.get("extension", [])
            if extension["url"].endswith("extension-reviewActionCode")
        ]
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return claim_response["resourceType"] == "ClaimResponse" and bool(codes) and set(codes) == {"A1"}


def load(url: str, token: str, template: bytes, check_a1: bool, seconds: float, worker: int, results: Any) -> None:
    """One keep-alive connection sending new requests back to back until time is up."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    latencies = []
    statuses: dict[int | str, int] = {}
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        body = template.replace(PLACEHOLDER.encode(), f"BENCH-{os.getpid()}-{worker}-{n}".encode())
        started = time.perf_counter()
        connection.request("POST", parts.path + "/Claim/$submit", body, headers)
        response = connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - started)
        status: int | str = response.status
        if status == 200 and check_a1 and not approved_in_total(answer):
            status = "200 but not A1"
        statuses[status] = statuses.get(status, 0) + 1
    results.put((latencies, statuses))


Pooled = tuple[list[float], dict[int | str, int]]


def gather(target: Any, argument_lists: list[tuple[Any, ...]], seconds: float) -> dict[str, float]:
    """Run `target(*arguments, results)` in one process per argument list (one connection each, each sending for
    `seconds`) and pool what they put on the queue, (latencies, statuses): requests, requests/second, p50, p99,
    and errors (every answer that is not 200; a loader may count a 200 it finds wrong under a string key)."""
    return summarize(gather_raw(target, argument_lists, seconds), seconds)


def summarize(pooled: Pooled, seconds: float) -> dict[str, float]:
    """Requests, requests/second over `seconds`, p50, p99 and errors of pooled (latencies, statuses)."""
    latencies, statuses = sorted(pooled[0]), pooled[1]
    if set(statuses) != {200}:
        print(f"  (statuses: {statuses})")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000,
        "errors": sum(count for code, count in statuses.items() if code != 200),
    }


def gather_raw(target: Any, argument_lists: list[tuple[Any, ...]], seconds: float) -> Pooled:
    """`gather`'s pooled (latencies, statuses), to be added to other runs' before summing up."""
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=target, args=(*arguments, results)) for arguments in argument_lists]
    for w in workers:
        w.start()
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    for _ in workers:
        got, codes = _next_result(results, workers, deadline=time.monotonic() + seconds + 60)
        latencies += got
        for code, count in codes.items():
            statuses[code] = statuses.get(code, 0) + count
    for w in workers:
        w.join()
    return latencies, statuses


def _next_result(results: Any, workers: list[multiprocessing.Process], *, deadline: float) -> Any:
    """The next load process's (latencies, statuses); stops the bench, rather than waiting for ever, when a load
    process died without them (the server under test stopped or reset its connection)."""
    while True:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                for w in workers:
                    w.terminate()
                raise SystemExit(
                    f"a load process ended without results (exit codes {dead}): did the server under test stop? "
                    "Run it by hand with the same UM_DATABASE_URL to see its log."
                ) from None


def report(name: str, figures: dict[str, float], ratio: str = "") -> None:
    print(
        f"{name:<42} {figures['requests']:>7.0f} requests  {figures['rps']:>8.1f} req/s  "
        f"p50 {figures['p50_ms']:>7.2f} ms  p99 {figures['p99_ms']:>7.2f} ms  "
        f"errors {figures.get('errors', 0):.0f}{ratio}"
    )


def start_service(
    tmp: str, organizations: tuple[str, ...], workers: int = 1
) -> tuple[subprocess.Popen[bytes], int, Callable[[str], str]]:
    """Start the service (`workers` processes) on a fresh database (or UM_DATABASE_URL) with a provider client per
    organisation; (process, port, a function taking a fresh token for an organisation). Shared by the benches that
    need a provider token."""
    env = {
        **os.environ,
        "UM_DATABASE_URL": os.environ.get("UM_DATABASE_URL", f"sqlite:///{tmp}/bench.db"),
        "UM_LOG_LEVEL": "warning",
    }
    cli = [sys.executable, "-m", "um_service"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
    secrets = {}
    for organization in organizations:
        secrets[organization] = subprocess.run(
            [
                *cli,
                "clients",
                "add",
                f"bench-{organization}",
                "--role",
                "provider",
                "--org",
                organization,
                "--generate-secret",
            ],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    port = free_port()
    process = subprocess.Popen(
        [*cli, "serve", "--no-upgrade", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(port, "/health/live")

    def token(organization: str) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request(
            "POST",
            "/auth/token",
            f"grant_type=client_credentials&client_id=bench-{organization}&client_secret={secrets[organization]}",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        return str(json.loads(connection.getresponse().read())["access_token"])

    return process, port, token


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds that share the seconds, each target in turn in every round"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes, for the service and each floor (PostgreSQL for >1)"
    )
    parser.add_argument("--url", help="FHIR base of a running service (default: start one)")
    parser.add_argument("--token", help=f"with --url: a provider access token for organisation {REPO_ORG}")
    parser.add_argument("--kit-token", help=f"with --url: a provider access token for organisation {KIT_ORG}")
    args = parser.parse_args()
    if args.url and not args.token:
        parser.error("--url needs --token (POST /auth/token as a provider client of organisation 1234567893)")
    samples = [repo_sample()]
    kit = kit_sample()
    if kit is None:
        print(f"(the kit's bundle is not at {KIT_EXAMPLE}: the repository's example only)")
    elif args.url and not args.kit_token:
        print("(no --kit-token: the repository's example only)")
    else:
        samples.append(kit)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.url:
                service_url = args.url.rstrip("/")
                given = {REPO_ORG: args.token, KIT_ORG: args.kit_token}

                def token(organization: str) -> str:
                    return str(given[organization])
            else:
                service, port, token = start_service(tmp, (REPO_ORG, KIT_ORG), args.workers)
                service_url = f"http://127.0.0.1:{port}/fhir"
                processes.append(service)
            floor, floor_port = serve_floor(tmp, FLOOR_APP, workers=args.workers)
            processes.append(floor)
            bare, bare_port = serve_floor(tmp, ORJSON_APP, "orjson_app", workers=args.workers)
            processes.append(bare)
            database = "running service" if args.url else os.environ.get("UM_DATABASE_URL", "sqlite").split("+")[0]
            print(
                f"$submit benchmark: {args.seconds:.0f} s each, {args.concurrency} connection(s), "
                f"{args.workers} worker(s), {database}; "
                "the load processes share this machine's cores with the servers"
            )
            targets = {
                "ours": (service_url, True),
                "naive": (f"http://127.0.0.1:{floor_port}/fhir", False),
                "parse": (f"http://127.0.0.1:{bare_port}/fhir", False),
            }
            for sample in samples:
                print(f"{sample.name}, {len(sample.template)} bytes:")
                figures, ratios = _interleaved(targets, sample, token, args)
                ours = figures["ours"]
                per_worker = f"  {ours['rps'] / args.workers:.1f} req/s per worker" if args.workers > 1 else ""
                report("  um-service $submit", ours, per_worker)
                for name, label in (
                    ("naive", "floor: parse with fhir.resources"),
                    ("parse", "floor: orjson.loads only"),
                ):
                    low, high = min(ratios[name]), max(ratios[name])
                    spread = f" (rounds {low:.2f}-{high:.2f})" if args.rounds > 1 else ""
                    report(f"  {label}", figures[name], f"  ours/this {ours['rps'] / figures[name]['rps']:.2f}{spread}")
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    return 0


def _interleaved(
    targets: dict[str, tuple[str, bool]], sample: Sample, token: Callable[[str], str], args: argparse.Namespace
) -> tuple[dict[str, dict[str, float]], dict[str, list[float]]]:
    """Each target's figures over `args.rounds` rounds, each round giving every target its share of the seconds in
    turn (a drift of the machine's speed then reaches them all alike); and each round's ratio of ours to each other."""
    share = args.seconds / args.rounds
    pooled: dict[str, Pooled] = {name: ([], {}) for name in targets}
    ratios: dict[str, list[float]] = {name: [] for name in targets if name != "ours"}
    for _ in range(args.rounds):
        rates = {}
        for name, (url, check_a1) in targets.items():
            # A fresh token for each run (they live 5 minutes by default).
            arguments = (url, token(sample.organization), sample.template, check_a1, share)
            latencies, statuses = gather_raw(load, [(*arguments, i) for i in range(args.concurrency)], share)
            rates[name] = len(latencies) / share
            pooled[name][0].extend(latencies)
            for code, count in statuses.items():
                pooled[name][1][code] = pooled[name][1].get(code, 0) + count
        for name in ratios:
            ratios[name].append(rates["ours"] / rates[name])
    return {name: summarize(pooled[name], args.seconds) for name in targets}, ratios


if __name__ == "__main__":
    raise SystemExit(main())
