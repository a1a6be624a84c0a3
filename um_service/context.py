"""The context one request is handled in: who sent it, when, and the public base our answers cite."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .decision import RuleSet
from .fhir.envelope import Limits


@dataclass(frozen=True)
class RequestContext:
    """Caller identity and request-scoped facts the domain needs (it never sees the HTTP request)."""

    submitter: str
    # Set for provider callers: what they see and send is limited to this organisation.
    organization: str | None
    base_url: str
    now: datetime
    payer_system: str
    limits: Limits
    rules: RuleSet
    due_overrides: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    eligibility: str = "auto"
