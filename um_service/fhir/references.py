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


@dataclass(frozen=True, slots=True)
class Scan:
    """What one walk of a resource found: its references (outside `contained`, see `iter_references`) and every
    modifierExtension element anywhere in it, as (FHIRPath of the element holding it, position, extension)."""

    references: list[FoundReference]
    modifier_extensions: list[tuple[str, int, Any]]


class BundleIndex:
    """Lookup of a Bundle's entries by fullUrl and by `Type/id`, and each entry's one walk (`scan`)."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self._scans: dict[int, Scan] = {}
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

    def scan(self, entry: Entry) -> Scan:
        """The references and modifier extensions of an entry's resource, found in one walk and remembered (the
        envelope checks, the reference checks and the answer's closure all read them); paths start at
        `Bundle.entry[n].resource`."""
        found = self._scans.get(entry.index)
        if found is None:
            found = self._scans[entry.index] = scan(entry.resource, f"Bundle.entry[{entry.index}].resource")
        return found

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
    # Each node carries its steps from `node` as a linked (parent, step) pair; a path is written only when found.
    stack: list[tuple[Any, Any]] = [(node, None)]
    while stack:
        current, trail = stack.pop()
        if isinstance(current, dict):
            value = current.get("reference")
            if isinstance(value, str) and not value.startswith("#"):
                yield FoundReference(path_of(path, trail), value)
            for key, child in current.items():
                if key != "contained" and isinstance(child, (dict, list)):
                    stack.append((child, (trail, key)))
        elif isinstance(current, list):
            for position, child in enumerate(current):
                if isinstance(child, (dict, list)):
                    stack.append((child, (trail, position)))


def scan(resource: dict[str, Any], where: str) -> Scan:
    """Walk a resource once: its references outside `contained` (`iter_references`) and its modifier extensions
    anywhere but inside another modifier extension."""
    references: list[FoundReference] = []
    modifiers: list[tuple[str, int, Any]] = []
    # (node, trail, inside contained, inside a modifierExtension); a trail is a linked (parent, step) pair, written
    # out only for what is found.
    stack: list[tuple[Any, Any, bool, bool]] = [(resource, None, False, False)]
    while stack:
        current, trail, contained, modifier = stack.pop()
        if isinstance(current, dict):
            if not contained:
                value = current.get("reference")
                if isinstance(value, str) and not value.startswith("#"):
                    references.append(FoundReference(path_of(where, trail), value))
            if not modifier and isinstance(current.get("modifierExtension"), list):
                holder = path_of(where, trail)
                modifiers += [(holder, position, ext) for position, ext in enumerate(current["modifierExtension"])]
            for key, child in current.items():
                if isinstance(child, (dict, list)):
                    stack.append(
                        (child, (trail, key), contained or key == "contained", modifier or key == "modifierExtension")
                    )
        elif isinstance(current, list):
            for position, child in enumerate(current):
                if isinstance(child, (dict, list)):
                    stack.append((child, (trail, position), contained, modifier))
    return Scan(references, modifiers)


def path_of(start: str, trail: Any) -> str:
    """`start` followed by the steps of a (parent, step) chain: `.key` for a key, `[n]` for a position."""
    steps = []
    while trail is not None:
        trail, step = trail
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return start + "".join(reversed(steps))
