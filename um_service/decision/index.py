"""Finding the candidate rules of an item by its code: a dict for exact codes, elementary intervals for ranges.

The cost of a lookup depends on how many rules cover the code, not on how many rules the set has.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

# How a rule came to cover a code: the more specific, the earlier it is tried (rules/README.md, "Precedence").
EXACT, VALUESET, RANGE = 3, 2, 1


@dataclass(frozen=True)
class Coverage:
    """What one rule covers: exact codes and ranges per system, each with its specificity."""

    codes: dict[tuple[str, str], int] = field(default_factory=dict)
    ranges: list[tuple[str, str, str, int]] = field(default_factory=list)  # (system, start, end, specificity)

    def add_code(self, system: str, code: str, specificity: int) -> None:
        """Cover one code (keeping the most specific way it is covered)."""
        key = (system, code)
        self.codes[key] = max(self.codes.get(key, 0), specificity)

    def covers_code_any_system(self, code: str) -> bool:
        """Whether the code is covered in some system (for bare codes with no system)."""
        systems = {system for system, _ in self.codes} | {r[0] for r in self.ranges}
        return any(self.covers(system, code) for system in systems)

    def covers(self, system: str, code: str) -> int:
        """The specificity with which this covers the code (0 = not at all)."""
        best = self.codes.get((system, code), 0)
        for range_system, start, end, specificity in self.ranges:
            if range_system == system and len(code) == len(start) and start <= code <= end:
                best = max(best, specificity)
        return best


class _Intervals(Generic[T]):
    """Elementary intervals over ranges of equal-length codes: each code maps to the values covering it."""

    def __init__(self, ranges: list[tuple[str, str, T]]):
        points = sorted({start for start, _, _ in ranges} | {end for _, end, _ in ranges})
        self._points = points
        # Segment 2k covers exactly points[k]; segment 2k+1 the codes strictly between points[k] and points[k+1].
        self._segments: list[list[T]] = [[] for _ in range(2 * len(points))]
        for start, end, value in ranges:
            first = 2 * bisect.bisect_left(points, start)
            last = 2 * bisect.bisect_left(points, end)
            for segment in range(first, last + 1):
                self._segments[segment].append(value)

    def lookup(self, code: str) -> list[T]:
        position = bisect.bisect_left(self._points, code)
        if position < len(self._points) and self._points[position] == code:
            return self._segments[2 * position]
        if position == 0 or position == len(self._points):
            return []
        return self._segments[2 * position - 1]


class CodeIndex(Generic[T]):
    """Values (rules) by the codes they cover, with the specificity of each match."""

    def __init__(self, entries: Iterable[tuple[T, Coverage]]):
        self._exact: dict[tuple[str, str], list[tuple[T, int]]] = defaultdict(list)
        ranges: dict[tuple[str, int], list[tuple[str, str, tuple[T, int]]]] = defaultdict(list)
        for value, coverage in entries:
            for key, specificity in coverage.codes.items():
                self._exact[key].append((value, specificity))
            for system, start, end, specificity in coverage.ranges:
                ranges[(system, len(start))].append((start, end, (value, specificity)))
        self._ranges = {key: _Intervals(items) for key, items in ranges.items()}

    def lookup(self, system: str, code: str) -> list[tuple[T, int]]:
        """Every value covering (system, code), with how specifically it covers it."""
        found = list(self._exact.get((system, code), ()))
        intervals = self._ranges.get((system, len(code)))
        if intervals is not None:
            found.extend(intervals.lookup(code))
        return found
