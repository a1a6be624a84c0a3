"""The context one request is handled in: who sent it, when, and the public base our answers cite."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .decision import RuleSet
from .fhir.envelope import Limits

DEFAULT_NOTICE_CONTACT = (
    "Utilization Management, Example Health Plan: 1-800-555-0100 (Monday to Friday, 8 am to 6 pm), "
    "um@example-health-plan.org, PO Box 1000, Springfield."
)


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
    # Who providers and members contact about a decision (written notices).
    notice_contact: str = DEFAULT_NOTICE_CONTACT
    # Where care-management referral events are delivered (notify/referrals.py); None: listed only.
    referral_endpoint: str | None = None
    referral_headers: tuple[str, ...] = ()
