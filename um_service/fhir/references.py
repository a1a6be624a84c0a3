"""Resolving references between the resources of one Bundle, as the FHIR Bundle rules define it.

A reference may be a `urn:uuid:`, an absolute URL, or relative (`Patient/x`) and then resolved against the base
of the referring entry's fullUrl (IG examples use `http://example.org/fhir/...`, test-kit files `urn:uuid:`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .elements import as_list


@dataclass(frozen=True, slots=True)
class Entry:
    """One Bundle entry: its position, fullUrl and resource."""

    index: int
    full_url: str
    resource: dict[str, Any]

    @property
    def resource_type(self) -> str:
        """The resource's type."""
        return str(self.resource.get("resourceType", ""))

    @property
    def type_and_id(self) -> str:
        """`Type/id`, the usual relative reference to this resource."""
        return f"{self.resource_type}/{self.resource.get('id', '')}"


@dataclass(frozen=True, slots=True)
class FoundReference:
    """A Reference.reference found inside a resource, with the FHIRPath of the Reference element."""

    path: str
    value: str


class BundleIndex:
    """Lookup of a Bundle's entries by fullUrl and by `Type/id`."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self._by_url: dict[str, Entry] = {}
        self._by_type_id: dict[str, Entry] = {}
        for entry in entries:
            self._by_url.setdefault(entry.full_url, entry)
            if entry.resource.get("id"):
                self._by_type_id.setdefault(entry.type_and_id, entry)

    @classmethod
    def of(cls, bundle: dict[str, Any]) -> BundleIndex:
        """Index the well-formed entries of a Bundle (ones with a resource object)."""
        entries = []
        for index, raw in enumerate(as_list(bundle.get("entry"))):
            if isinstance(raw, dict) and isinstance(raw.get("resource"), dict):
                entries.append(Entry(index, str(raw.get("fullUrl") or ""), raw["resource"]))
        return cls(entries)

    def resolve(self, reference: str, *, from_entry: Entry | None = None) -> Entry | None:
        """The entry a reference points to, or None when it is not in the Bundle."""
        target = reference.split("/_history/", 1)[0]
        if target in self._by_url:
            return self._by_url[target]
        if "://" in target or target.startswith("urn:"):
            return None
        if from_entry is not None and "://" in from_entry.full_url:
            base = _rest_base(from_entry.full_url)
            if base is not None and f"{base}/{target}" in self._by_url:
                return self._by_url[f"{base}/{target}"]
        # A relative reference from a urn-identified entry has no base; the resource's own Type/id decides.
        return self._by_type_id.get(target)

    def resolve_in(self, element: Any, *, from_entry: Entry) -> Entry | None:
        """Resolve a Reference element (a dict with `reference`), or None."""
        if isinstance(element, dict) and isinstance(element.get("reference"), str):
            return self.resolve(element["reference"], from_entry=from_entry)
        return None

    def full_url_of(self, entry: Entry) -> str:
        """The fullUrl to cite this entry by (its `Type/id` when the entry has none)."""
        return entry.full_url or entry.type_and_id


def _rest_base(full_url: str) -> str | None:
    """`http://x/fhir` from `http://x/fhir/Type/id` (FHIR RESTful URL form)."""
    parts = full_url.split("/_history/", 1)[0].rstrip("/").rsplit("/", 2)
    return parts[0] if len(parts) == 3 else None


def iter_references(node: Any, path: str) -> Iterator[FoundReference]:
    """Every Reference.reference under `node` (contained `#id` references excluded)."""
    stack: list[tuple[Any, str]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            value = current.get("reference")
            if isinstance(value, str) and not value.startswith("#"):
                yield FoundReference(where, value)
            for key, child in current.items():
                if key != "contained" and isinstance(child, (dict, list)):
                    stack.append((child, f"{where}.{key}"))
        elif isinstance(current, list):
            for position, child in enumerate(current):
                if isinstance(child, (dict, list)):
                    stack.append((child, f"{where}[{position}]"))
