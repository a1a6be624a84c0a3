"""Who a PAS Claim is about and between: patient, member coverage, requesting provider and insurer.

These are the keys $inquire matches on (digest 6) and what a response echoes back (digest 4).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Problem
from .codes import EXT_TRANSMISSION_IDENTIFIERS
from .elements import as_dict, as_list, codings, extension, identifier_pairs, typed_identifier_values
from .references import BundleIndex, Entry

Identifier = tuple[str, str]


@dataclass(frozen=True)
class Parties:
    """The resolved parties of a Claim and the identifiers they are recognised by."""

    patient: Entry
    insurer: Entry
    provider: Entry
    coverage: Entry | None
    member_ids: frozenset[str]
    patient_ids: frozenset[Identifier]
    provider_ids: frozenset[Identifier]
    insurer_ids: frozenset[Identifier]
    sender_ids: frozenset[str] = frozenset()

    @property
    def line_of_business(self) -> str | None:
        """The focal Coverage's type code (e.g. commercial, medicare-advantage), if any."""
        if self.coverage is None:
            return None
        found = codings(self.coverage.resource.get("type"))
        return found[0][1] if found else None

    @property
    def coverage_types(self) -> list[str]:
        """The focal Coverage's type codes, in the order sent."""
        return [code for _, code in codings(self.coverage.resource.get("type"))] if self.coverage else []

    @property
    def plan(self) -> str | None:
        """The focal Coverage's plan (Coverage.class of type plan), if sent."""
        for coverage_class in as_list(self.coverage.resource.get("class") if self.coverage else None):
            coverage_class = as_dict(coverage_class)
            value = coverage_class.get("value")
            if any(code == "plan" for _, code in codings(coverage_class.get("type"))) and isinstance(value, str):
                return value
        return None

    @property
    def member_state(self) -> str | None:
        """The member's state (first address), for reviewer licensing."""
        for address in as_list(self.patient.resource.get("address")):
            state = as_dict(address).get("state")
            if isinstance(state, str) and state:
                return state[:10]
        return None


_EXPECTED = {
    "patient": ("Patient",),
    "insurer": ("Organization",),
    "provider": ("Organization", "PractitionerRole", "Practitioner"),
}


def read_parties(
    index: BundleIndex, claim_entry: Entry, where: str, *, require_coverage: bool = True
) -> tuple[Parties | None, list[Problem]]:
    """Resolve the Claim's parties, or say which of them is missing or of the wrong kind."""
    claim = claim_entry.resource
    problems: list[Problem] = []
    resolved: dict[str, Entry] = {}
    for field, allowed in _EXPECTED.items():
        element = claim.get(field)
        if not element:
            continue  # reported as missing by the Claim rules
        target = index.resolve_in(element, from_entry=claim_entry)
        if target is None:
            if not isinstance(as_dict(element).get("reference"), str):
                # A dangling reference string is reported by the reference rules; anything else is reported here.
                problems.append(
                    Problem("required", f"Claim.{field} must reference a resource in the Bundle.", f"{where}.{field}")
                )
            continue
        if target.resource_type not in allowed:
            problems.append(
                Problem(
                    "value",
                    f"Claim.{field} must point at a {' or '.join(allowed)}; it points at a {target.resource_type}.",
                    f"{where}.{field}",
                )
            )
            continue
        resolved[field] = target
    coverage = _focal_coverage(index, claim_entry, where, problems, required=require_coverage)
    if problems or len(resolved) < len(_EXPECTED):
        return None, problems
    provider_ids = set(identifier_pairs(resolved["provider"].resource))
    if resolved["provider"].resource_type == "PractitionerRole":
        # A PractitionerRole is known by its practitioner's and its organisation's identifiers (NPI).
        for field in ("practitioner", "organization"):
            target = index.resolve_in(resolved["provider"].resource.get(field), from_entry=resolved["provider"])
            if target is not None:
                provider_ids |= identifier_pairs(target.resource)
    member_ids = set(typed_identifier_values(resolved["patient"].resource, "MB"))
    if coverage is not None:
        member_ids |= typed_identifier_values(coverage.resource, "MB")
        subscriber_id = coverage.resource.get("subscriberId")
        if isinstance(subscriber_id, str) and subscriber_id:
            member_ids.add(subscriber_id)
    return (
        Parties(
            patient=resolved["patient"],
            insurer=resolved["insurer"],
            provider=resolved["provider"],
            coverage=coverage,
            member_ids=frozenset(member_ids),
            patient_ids=frozenset(identifier_pairs(resolved["patient"].resource)),
            provider_ids=frozenset(provider_ids),
            insurer_ids=frozenset(identifier_pairs(resolved["insurer"].resource)),
            sender_ids=frozenset(_senders(claim)),
        ),
        problems,
    )


def _focal_coverage(
    index: BundleIndex, claim_entry: Entry, where: str, problems: list[Problem], *, required: bool
) -> Entry | None:
    chosen = None
    for position, insurance in enumerate(as_list(claim_entry.resource.get("insurance"))):
        insurance = as_dict(insurance)
        target = index.resolve_in(insurance.get("coverage"), from_entry=claim_entry)
        if target is None:
            if required and insurance.get("coverage") is not None and "reference" not in as_dict(insurance["coverage"]):
                problems.append(
                    Problem(
                        "required",
                        "Claim.insurance.coverage must reference the Coverage in the Bundle.",
                        f"{where}.insurance[{position}].coverage",
                    )
                )
            continue
        if target.resource_type != "Coverage":
            problems.append(
                Problem(
                    "value",
                    f"Claim.insurance.coverage must point at a Coverage; it points at a {target.resource_type}.",
                    f"{where}.insurance[{position}].coverage",
                )
            )
            continue
        if chosen is None or insurance.get("focal") is True:
            chosen = target
    return chosen


def _senders(claim: dict[str, object]) -> set[str]:
    """The sending system's interchange id (ISA06, TransmissionIdentifiers.interchangeSenderID)."""
    transmission = extension(claim, EXT_TRANSMISSION_IDENTIFIERS)
    found = set()
    for part in as_list(as_dict(transmission).get("extension")):
        part = as_dict(part)
        if part.get("url") == "interchangeSenderID" and isinstance(part.get("valueString"), str):
            found.add(part["valueString"])
    return found
