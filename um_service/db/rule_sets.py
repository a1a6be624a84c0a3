"""Rule-set versions kept in the database, so any stored case can be replayed under the rules it was decided by."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..decision import RuleSet, load_files
from . import lasting
from .models import ActiveRuleSet, RuleSetVersion


def remember(session: Session, rule_set: RuleSet, *, now: dt.datetime) -> None:
    """Keep the files of this rule-set version, once."""

    def stored() -> bool:
        known = select(RuleSetVersion.version).where(RuleSetVersion.version == rule_set.version)
        return session.connection().execute(known).first() is not None  # the version alone: its files are large

    if not lasting.holds(session, ("rule set stored", rule_set.version), stored):
        session.add(RuleSetVersion(version=rule_set.version, first_loaded_at=now, files=dict(rule_set.files)))
        session.flush()


def activate(session: Session, rule_set: RuleSet, *, now: dt.datetime) -> None:
    """Make this version the one every worker uses."""
    remember(session, rule_set, now=now)
    row = session.get(ActiveRuleSet, 1, with_for_update=True)
    if row is None:
        session.add(ActiveRuleSet(id=1, version=rule_set.version, activated_at=now))
    elif row.version != rule_set.version:
        row.version = rule_set.version
        row.activated_at = now
    session.flush()


def active_version(session: Session) -> str | None:
    """The version every worker should be using."""
    row = session.get(ActiveRuleSet, 1)
    return row.version if row is not None else None


def stored(session: Session, version: str) -> RuleSet | None:
    """A rule-set version as it was, compiled again from its stored files."""
    row = session.get(RuleSetVersion, version)
    if row is None:
        return None
    return load_files(row.files)
