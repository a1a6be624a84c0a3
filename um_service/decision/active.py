"""The rule set in force in this process, swapped whole on reload.

A request takes the current rule set once, at its start, and finishes on it even if a reload lands meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from .ruleset import RuleSet, load_directory


class ActiveRules:
    """Holder of the current RuleSet of a process."""

    def __init__(self, directory: Path, rule_set: RuleSet):
        self.directory = directory
        self._current = rule_set
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: Path) -> ActiveRules:
        """Load the rule set in `directory` (raises RuleSetError if it is invalid)."""
        return cls(directory, load_directory(directory))

    @property
    def current(self) -> RuleSet:
        """The rule set to use for a request starting now."""
        return self._current

    def follow(self, version: str | None, fetch: Callable[[str], RuleSet | None]) -> bool:
        """Switch to `version` (another worker's reload) if it is not the one in use; whether it switched."""
        if version is None or version == self._current.version:
            return False
        with self._lock:
            if version == self._current.version:
                return False
            fresh = fetch(version)
            if fresh is None:
                return False
            self._current = fresh
            return True

    def reload(self) -> tuple[RuleSet, RuleSet]:
        """Load the directory again and swap it in whole; (old, new). An invalid set raises and changes nothing."""
        with self._lock:
            fresh = load_directory(self.directory)
            old, self._current = self._current, fresh
            return old, fresh
