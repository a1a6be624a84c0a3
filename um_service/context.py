"""The context one request is handled in: who sent it, when, and the public base our answers cite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .decision import RuleSet
from .fhir.envelope import Limits


@dataclass(frozen=True)
class RequestContext:
    """Caller identity and request-scoped facts the domain needs (it never sees the HTTP request)."""

    submitter: str
    base_url: str
    now: datetime
    payer_system: str
    limits: Limits
    rules: RuleSet
    expedited_hours: int = 72
    standard_days: int = 7
