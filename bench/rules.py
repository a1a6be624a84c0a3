"""Per-item decision time of the rules engine with 10, 1,000 and 10,000 rules in the set.

usage: python bench/rules.py [--repeat 2000]

Generated rule sets: each rule covers its own CPT-like code (a third of them through ranges), half carry a
FHIRPath condition, one in ten requires a document. The request asks for one item whose code three rules cover
(two with conditions), so every run evaluates conditions, not only lookups. Prints load (check + compile) time
and the per-item decision time; lookups go through the code index, so the 10,000 figure should stay near the
10 figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from um_service.decision import decide, load_files
from um_service.fhir.envelope import Limits
from um_service.fhir.pas_request import read_submit_request

from builders import item, request_bundle

TARGET = "50000"


def generate(count: int) -> dict[str, str]:
    """A rule file with `count` rules; three of them cover TARGET."""
    lines = ["rules:"]
    for n in range(count):
        code = f"{10000 + n * 3:05d}"
        if n % 3 == 0:
            services = f'      - {{system: cpt, range: {{from: "{code}", to: "{10000 + n * 3 + 1:05d}"}}}}'
        else:
            services = f'      - {{system: cpt, codes: ["{code}"]}}'
        lines += [
            f"  - id: generated-{n}",
            "    description: A generated rule for the benchmark.",
            "    services:",
            services,
            "    effective: {from: 2026-01-01}",
        ]
        if n % 2 == 0:
            lines += [
                "    when:",
                "      - {id: dx, description: a diagnosis, expression: \"%claim.diagnosis.diagnosis.coding.where(code.startsWith('M5')).exists()\"}",
            ]
        if n % 10 == 5:
            lines += ["    documents:", '      - {loinc: "11506-3", description: progress notes}']
        lines.append("    outcome: {decision: pend, queue: q}" if n % 4 == 1 else "    outcome: {decision: approve}")
    lines += [
        "  - id: target-high",
        "    description: A conditional rule on the benchmarked code.",
        "    priority: 300",
        f'    services: [{{system: cpt, codes: ["{TARGET}"]}}]',
        "    effective: {from: 2026-01-01}",
        "    when:",
        "      - {id: age, description: a child, expression: '%ageYears < 18'}",
        "    outcome: {decision: pend, queue: pediatric}",
        "  - id: target-mid",
        "    description: A conditional approval on the benchmarked code.",
        "    priority: 200",
        f'    services: [{{system: cpt, codes: ["{TARGET}"]}}]',
        "    effective: {from: 2026-01-01}",
        "    when:",
        "      - {id: dx, description: low back pain, expression: \"%claim.diagnosis.diagnosis.coding.where(code.startsWith('M54')).exists()\"}",
        "    outcome: {decision: approve, authorized_days: 60}",
        "  - id: target-low",
        "    description: The fallback review of the benchmarked code.",
        f'    services: [{{system: cpt, range: {{from: "{TARGET}", to: "50009"}}}}]',
        "    effective: {from: 2026-01-01}",
        "    outcome: {decision: pend, queue: review}",
    ]
    return {"generated.yaml": "\n".join(lines) + "\n"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    request = read_submit_request(orjson.dumps(request_bundle(items=[item(1, TARGET)])), limits=Limits())
    received = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    print(f"{'rules':>7}  {'load':>9}  {'per item (median of 5 runs)':>28}  outcome")
    baseline = None
    for count in (10, 1_000, 10_000):
        started = time.perf_counter()
        rule_set = load_files(generate(count))
        load_seconds = time.perf_counter() - started
        outcome = decide(request, rule_set=rule_set, received=received)[1]
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(args.repeat):
                decide(request, rule_set=rule_set, received=received)
            runs.append((time.perf_counter() - started) / args.repeat)
        per_item = statistics.median(runs)
        baseline = baseline or per_item
        print(
            f"{len(rule_set.rules):>7}  {load_seconds:>8.2f}s  {per_item * 1e6:>22.1f} µs ({per_item / baseline:.2f}x)  "
            f"{outcome.action.value} by {outcome.rule_id}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
