"""The PAS Inquiry Request Bundle ($inquire) read into the keys a search needs (digest 6).

An inquiry is query-by-example: its Claim names the patient, the requesting provider and the insurer, and may
carry the request's identifiers or our authorization / administration reference numbers. Only those parties must
resolve inside the Bundle; references elsewhere (prior claims, orders, documents) are examples from the
provider's record, not data we need, and the test kit's own inquiry leaves several of them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Problem
from .codes import EXT_ADMINISTRATION_REFERENCE_NUMBER, EXT_AUTHORIZATION_NUMBER
from .elements import as_dict, extension, identifier_pairs
from .envelope import Limits, read_bundle
from .parties import Parties, read_parties
from .references import Entry

Identifier = tuple[str, str]


@dataclass(frozen=True)
class InquiryRequest:
    """What an inquiry asks for."""

    bundle: dict[str, Any]
    claim_entry: Entry
    parties: Parties
    identifiers: frozenset[Identifier]
    reference_numbers: frozenset[str]

    @property
    def bundle_identifier(self) -> dict[str, Any] | None:
        """The inquirer's transaction identifier."""
        value = self.bundle.get("identifier")
        return value if isinstance(value, dict) else None


def read_inquiry_request(raw: bytes, *, limits: Limits) -> InquiryRequest:
    """Read an $inquire body, or raise InvalidRequest (4xx) naming every problem."""
    reading = read_bundle(raw, limits=limits, what="PAS inquiry request Bundle")
    entries = reading.index.entries
    where = "Bundle.entry[0].resource"
    if not entries or entries[0].index != 0 or entries[0].resource_type != "Claim":
        if entries and entries[0].index == 0:
            reading.profile.append(
                Problem(
                    "structure",
                    f"The first entry must be the PAS Claim Inquiry; found {entries[0].resource_type!r}.",
                    where,
                )
            )
        reading.fail_if_problems()
        raise AssertionError("unreachable: a missing Claim is always a problem")
    claim_entry = entries[0]
    claim = claim_entry.resource
    problems = reading.profile
    if claim.get("use") != "preauthorization":
        problems.append(Problem("value", "An inquiry's Claim.use is 'preauthorization'.", f"{where}.use"))
    for field in ("patient", "provider", "insurer"):
        element = as_dict(claim.get(field))
        if not element:
            problems.append(Problem("required", f"An inquiry names the {field} (Claim.{field}).", f"{where}.{field}"))
        elif reading.index.resolve_in(element, from_entry=claim_entry) is None:
            problems.append(
                Problem(
                    "not-found",
                    f"Claim.{field} does not resolve to a resource in the Bundle.",
                    f"{where}.{field}",
                )
            )
    parties, party_problems = read_parties(reading.index, claim_entry, where, require_coverage=False)
    problems += party_problems
    if parties is not None:
        # PAS 6: the payer SHALL require the member id and the provider's identifier (NPI).
        if not parties.member_ids:
            problems.append(
                Problem(
                    "required",
                    "An inquiry must carry the member id (a Coverage or Patient "
                    "identifier of type MB, or Coverage.subscriberId).",
                    f"{where}.patient",
                )
            )
        if not parties.provider_ids:
            problems.append(
                Problem(
                    "required",
                    "An inquiry must identify the requesting provider (e.g. NPI).",
                    f"{where}.provider",
                )
            )
    if parties is None and not (reading.structural or reading.profile):
        problems.append(
            Problem("required", "The inquiry's patient, insurer and provider must resolve in the Bundle.", where)
        )
    reading.fail_if_problems()
    assert parties is not None
    numbers = set()
    for url in (EXT_AUTHORIZATION_NUMBER, EXT_ADMINISTRATION_REFERENCE_NUMBER):
        ext = extension(claim, url)
        if ext is not None and isinstance(ext.get("valueString"), str):
            numbers.add(ext["valueString"])
    return InquiryRequest(
        bundle=reading.bundle,
        claim_entry=claim_entry,
        parties=parties,
        identifiers=frozenset(identifier_pairs(claim)),
        reference_numbers=frozenset(numbers),
    )
