"""Latency of the adaptive DTR $next-question, next to an endpoint that only parses the same JSON.

usage: python bench/dtr.py [--seconds 8] [--concurrency 1]

Starts the service (uvicorn, one worker, a fresh SQLite file unless UM_DATABASE_URL names another database),
registers a provider client, takes a token, and a bare FastAPI endpoint that only `orjson.loads` the body, each in its
own process. Three calls of the lumbar MRI form are timed: the first (nothing answered: the first question comes
back), a later one (two weeks of therapy: the red-flag question comes back) and the last (no red flag: completed,
with coverage information, one row written). The DTR IG allows 5 s for a first call and 1 s for later ones.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from submit import gather, report, serve_floor, start_service

REPO = Path(__file__).resolve().parent.parent
PATH = "/fhir/Questionnaire/$next-question"
ORGANIZATION = "1234567893"
FORM = "http://example-health-plan.org/fhir/Questionnaire/imaging-lumbar-mri-form"
FLOOR_APP = """
import orjson
from fastapi import FastAPI, Request, Response

app = FastAPI()

@app.post("/fhir/Questionnaire/$next-question")
async def parse(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(b'{"resourceType":"Parameters"}', media_type="application/fhir+json")
"""


def body(answers: list[tuple[str, dict[str, Any]]]) -> bytes:
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "bench",
        "contained": [{"resourceType": "Questionnaire", "id": "q", "status": "active", "derivedFrom": [FORM]}],
        "questionnaire": "#q",
        "status": "in-progress",
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/qr-coverage",
                "valueReference": {"reference": "Coverage/cov-1"},
            }
        ],
        "item": [{"linkId": link, "answer": [value]} for link, value in answers],
    }
    return orjson.dumps(
        {"resourceType": "Parameters", "parameter": [{"name": "questionnaire-response", "resource": response}]}
    )


CALLS = {
    "first call (asks the first question)": body([]),
    "later call (asks the next question)": body([("conservative-therapy-weeks", {"valueInteger": 2})]),
    "last call (completes, writes a row)": body(
        [("conservative-therapy-weeks", {"valueInteger": 2}), ("red-flag", {"valueCoding": {"code": "none"}})]
    ),
}


def load(port: int, token: str, payload: bytes, seconds: float, results: Any) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        connection.request("POST", PATH, payload, headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    results.put((latencies, statuses))


def measure(port: int, token: str, payload: bytes, seconds: float, concurrency: int) -> dict[str, float]:
    return gather(load, [(port, token, payload, seconds) for _ in range(concurrency)], seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            service, port, token_for = start_service(tmp, (ORGANIZATION,))
            token = token_for(ORGANIZATION)
            processes.append(service)
            floor, floor_port = serve_floor(tmp, FLOOR_APP)
            processes.append(floor)
            database = os.environ.get("UM_DATABASE_URL", "SQLite").split("://")[0]
            print(f"DTR $next-question: {args.seconds:.0f} s each, {args.concurrency} connection(s), {database}")
            for name, payload in CALLS.items():
                report(f"  {name}", measure(port, token, payload, args.seconds, args.concurrency))
            report(
                "  floor: orjson.loads only",
                measure(
                    floor_port, token, CALLS["last call (completes, writes a row)"], args.seconds, args.concurrency
                ),
            )
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
