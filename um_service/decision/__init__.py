"""The business-rules engine: what automation says of each requested item, and why.

Automation may approve, say no authorization is required, or pend to a queue; it never denies (only a
clinician does). Rules are YAML files under `rules/` (see rules/README.md), loaded into a checked, compiled,
versioned RuleSet; `decide` is the one seam intake calls.
"""

from __future__ import annotations

import datetime as dt

from ..fhir.pas_request import PasRequest
from .engine import DEFAULT_QUEUE, ItemOutcome, evaluate, present_documents, service_date
from .ruleset import RuleProblem, RuleSet, RuleSetError, load_directory, load_files

__all__ = [
    "DEFAULT_QUEUE",
    "ItemOutcome",
    "RuleProblem",
    "RuleSet",
    "RuleSetError",
    "decide",
    "load_directory",
    "load_files",
    "present_documents",
    "service_date",
]


def decide(
    request: PasRequest,
    *,
    rule_set: RuleSet,
    received: dt.datetime,
    line_of_business: str | None = None,
    plans: frozenset[str] = frozenset(),
) -> dict[int, ItemOutcome]:
    """The automated outcome of every item of the request that is not cancelled, by item sequence."""
    return evaluate(request, rule_set, received=received, line_of_business=line_of_business, plans=plans)
