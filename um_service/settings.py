"""Service configuration: one Settings class, read from `UM_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from .context import DEFAULT_NOTICE_CONTACT

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything an operator can tune; defaults run a single process on an embedded SQLite file."""

    model_config = SettingsConfigDict(env_prefix="UM_", extra="ignore")

    database_url: str = "sqlite:///./um-service.db"
    migrations_dir: Path = REPO_ROOT / "migrations"
    rules_dir: Path = REPO_ROOT / "rules"
    # Request bodies shown as examples in the OpenAPI document (examples/pas-request.json for $submit).
    examples_dir: Path = REPO_ROOT / "examples"

    # Public FHIR base used in fullUrls; derived from each request when unset.
    public_base_url: str | None = None
    payer_identifier_system: str = "urn:um-service:preauth-ref"
    # Canonical base of the DTR Questionnaires the rules make (stable, whatever host serves them).
    canonical_base: str = "http://example-health-plan.org/fhir"
    # The contact line of written notices (phone, hours, address).
    notice_contact: str = DEFAULT_NOTICE_CONTACT

    # Where care-management referral events go (outbox, JSON POST), with extra headers ("Name: value"); unset:
    # referrals are only listed under /um/referrals.
    referral_endpoint: str | None = None
    referral_headers: list[str] = []

    # Limits on what a caller may send; each answered with a clear OperationOutcome.
    max_body_bytes: int = 5 * 1024 * 1024
    max_json_depth: int = 64
    max_bundle_entries: int = 1000
    max_claim_items: int = 999
    max_string_length: int = 4 * 1024 * 1024

    # Eligibility: "auto" checks members against the registry once it holds anyone, "required" always, "off" never.
    eligibility: Literal["auto", "required", "off"] = "auto"

    # Per line of business (Coverage.type code): {"medicaid": {"standard_days": 7, "expedited_hours": 72}}.
    due_overrides: dict[str, dict[str, int]] = {}
    # Staff seed file (queues, reviewers) loaded at start-up when present.
    staff_file: Path = REPO_ROOT / "rules" / "staff" / "staff.yaml"

    # Notification delivery (transactional outbox, background dispatcher in every worker).
    dispatcher: bool = True
    dispatcher_poll_seconds: float = 1.0
    clock_sweep_seconds: float = 300.0
    notify_timeout_seconds: float = 10.0
    notify_max_attempts: int = 8

    # Access tokens: HS256 key shared by every worker (created in the database when unset), and lifetime.
    token_secret: str | None = None
    token_lifetime_seconds: int = 300

    # CMS-0057-F reports: how a partially approved request counts (approved, denied, or neither).
    report_partial_as: Literal["approved", "denied", "neither"] = "approved"

    # How often a worker checks which rule-set version is active (a reload in another worker).
    rules_follow_seconds: float = 2.0

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # JSON log lines (set by `um-service serve`, so every worker process logs the same way).
    log_json: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own Settings instead."""
    return Settings()
