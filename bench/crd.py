"""Latency and throughput of the CRD order-sign hook, next to an endpoint that only parses the same JSON.

usage: python bench/crd.py [--seconds 10] [--concurrency 1 8] [--workers 1] [--body FILE]

Starts the service (uvicorn, one worker, a fresh SQLite file unless UM_DATABASE_URL names another database), registers
an EHR client with a new P-384 key through the CLI, and a bare FastAPI endpoint that only `orjson.loads` the body,
each in its own process. Every call carries a freshly signed ES384 CDS Hooks JWT (signed outside the timed part, as
an EHR would have it ready) and a new hookInstance; the body is the test kit's order-sign request
(tests/fixtures/crd/testkit-requests/order-sign-1.json) unless --body names another. Prints requests/second, p50 and
p99 for each, at each concurrency (one process per connection).
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from submit import free_port, gather, report, serve_floor, wait_up

REPO = Path(__file__).resolve().parent.parent
BODY = REPO / "tests" / "fixtures" / "crd" / "testkit-requests" / "order-sign-1.json"
ISSUER = "https://bench-ehr.example"
PATH = "/cds-services/order-sign-crd"

FLOOR_APP = """
import orjson
from fastapi import FastAPI, Request, Response

app = FastAPI()

@app.post("/cds-services/order-sign-crd")
async def parse(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(b'{"cards":[],"systemActions":[]}', media_type="application/json")
"""


def load(port: int, key_pem: bytes, body_path: str, seconds: float, results: Any) -> None:
    """One keep-alive connection sending hook calls back to back until time is up."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    body = orjson.loads(Path(body_path).read_bytes())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": f"http://127.0.0.1:{port}{PATH}", "iat": now, "exp": now + 300}
        token = jwt.encode(claims | {"jti": str(uuid.uuid4())}, key, algorithm="ES384", headers={"kid": "bench"})
        body["hookInstance"] = str(uuid.uuid4())
        payload = orjson.dumps(body)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        connection.request("POST", PATH, payload, headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    results.put((latencies, statuses))


def measure(port: int, key_pem: bytes, body: Path, seconds: float, concurrency: int) -> dict[str, float]:
    return gather(load, [(port, key_pem, str(body), seconds) for _ in range(concurrency)], seconds)


def _service(tmp: str, key_pem: bytes, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    env = {
        **os.environ,
        "UM_DATABASE_URL": os.environ.get("UM_DATABASE_URL", f"sqlite:///{tmp}/bench.db"),
        "UM_LOG_LEVEL": "warning",
    }
    public = Path(tmp) / "ehr.pem"
    key = serialization.load_pem_private_key(key_pem, password=None)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    cli = [sys.executable, "-m", "um_service"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
    subprocess.run(
        [*cli, "clients", "add", "bench-ehr", "--role", "ehr", "--issuer", ISSUER, "--public-key", str(public)],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(port, "/health/live")
    return process, port


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--body", type=Path, default=BODY)
    parser.add_argument("--workers", type=int, default=1, help="service worker processes (PostgreSQL for more)")
    args = parser.parse_args()
    key_pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            service, port = _service(tmp, key_pem, args.workers)
            processes.append(service)
            floor, floor_port = serve_floor(tmp, FLOOR_APP, workers=args.workers)
            processes.append(floor)
            database = os.environ.get("UM_DATABASE_URL", "SQLite").split("://")[0]
            print(
                f"CRD order-sign: {args.seconds:.0f} s each, {args.body.name} ({args.body.stat().st_size} bytes), {database}"
            )
            for concurrency in args.concurrency:
                print(f"{concurrency} connection(s):")
                report("  um-service order-sign", measure(port, key_pem, args.body, args.seconds, concurrency))
                report("  floor: orjson.loads only", measure(floor_port, key_pem, args.body, args.seconds, concurrency))
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
