"""The PAS request Bundle ($submit) read into a typed view, after the PAS profile rules of our own (digest 2, 3, 7).

`read_submit_request(raw)` is the gate: it returns a `PasRequest` or raises `InvalidRequest` listing every problem at
once. `view_stored_request(raw)` reads a request accepted earlier without checking it again. Nothing here touches the
database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import Problem
from .codes import (
    CERTIFICATION_CANCEL,
    EXPEDITED_LEVELS_OF_SERVICE,
    EXT_CERTIFICATION_TYPE,
    EXT_INFO_CANCELLED,
    EXT_INFO_CHANGED,
    EXT_ITEM_CANCELLED_201,
    EXT_LEVEL_OF_SERVICE,
    SYSTEM_RELATED_CLAIM,
)
from .elements import as_dict, as_list, codes, codings, extension, extension_codes, identifier_pairs
from .envelope import Limits, Reading, read_bundle, unwrap_parameters
from .parsing import canonical_hash, without
from .parties import Parties, read_parties
from .references import BundleIndex, Entry

Identifier = tuple[str, str]


@dataclass(frozen=True)
class RequestedItem:
    """One Claim.item as sent, with what the PAS update extensions say of it (digest 7)."""

    sequence: int
    element: dict[str, Any]
    cancelled: bool
    change: str | None
    content_hash: str

    @property
    def product_codes(self) -> list[tuple[str, str]]:
        """(system, code) of the requested service."""
        return codings(self.element.get("productOrService"))


@dataclass(frozen=True)
class PasRequest:
    """A readable, profile-valid PAS request (initial, update or cancel)."""

    raw: bytes
    bundle: dict[str, Any]
    index: BundleIndex
    claim_entry: Entry
    parties: Parties
    items: tuple[RequestedItem, ...]
    prior: Entry | None
    cancels_all: bool
    expedited: bool
    content_hash: str
    claim_hash: str

    @property
    def claim(self) -> dict[str, Any]:
        """The Claim (entry 0)."""
        return self.claim_entry.resource

    @property
    def identifiers(self) -> set[Identifier]:
        """(system, value) of each Claim.identifier."""
        return identifier_pairs(self.claim)

    @property
    def bundle_identifier(self) -> dict[str, Any] | None:
        """The sender's transaction identifier (Bundle.identifier)."""
        value = self.bundle.get("identifier")
        return value if isinstance(value, dict) else None

    @property
    def is_update(self) -> bool:
        """Whether this is a PAS Claim Update (it names a prior request)."""
        return self.prior is not None


def claim_hash(claim: dict[str, Any]) -> str:
    """The content hash a Claim version is recognised by (narrative and meta do not count)."""
    return canonical_hash(without(claim, "meta", "text"))


def read_submit_request(raw: bytes, *, limits: Limits) -> PasRequest:
    """Read a $submit body, or raise InvalidRequest (4xx) naming every problem."""
    reading = read_bundle(raw, limits=limits, what="PAS request Bundle")
    claim_entry = _first_claim(reading)
    if claim_entry is None:
        reading.fail_if_problems()
        raise AssertionError("unreachable: a missing Claim is always a problem")
    claim = claim_entry.resource
    where = "Bundle.entry[0].resource"
    problems = reading.profile
    problems += _claim_problems(claim, where, limits)
    problems += _reference_problems(reading.index)
    parties, party_problems = read_parties(reading.index, claim_entry, where)
    problems += party_problems
    prior, prior_problems = _prior(reading.index, claim_entry, where)
    problems += prior_problems
    if parties is None and not (reading.structural or reading.profile):
        problems.append(
            Problem("required", "The Claim's patient, insurer and provider must resolve in the Bundle.", where)
        )
    reading.fail_if_problems()
    assert parties is not None
    return _request(raw, reading.bundle, reading.index, claim_entry, parties, prior)


def view_stored_request(raw: bytes) -> PasRequest:
    """A request accepted earlier, read back from the exact bytes stored, without checking it again: checks tightened
    since then must not make a stored case unreadable (design: validate at the door, once)."""
    bundle = unwrap_parameters(orjson.loads(raw))
    index = BundleIndex.of(bundle)
    claim_entry = index.entries[0]
    where = "Bundle.entry[0].resource"
    parties, _ = read_parties(index, claim_entry, where)
    assert parties is not None, "a stored request's parties resolved when it was accepted"
    prior, _ = _prior(index, claim_entry, where)
    return _request(raw, bundle, index, claim_entry, parties, prior)


def _request(
    raw: bytes, bundle: dict[str, Any], index: BundleIndex, claim_entry: Entry, parties: Parties, prior: Entry | None
) -> PasRequest:
    claim = claim_entry.resource
    return PasRequest(
        raw=raw,
        bundle=bundle,
        index=index,
        claim_entry=claim_entry,
        parties=parties,
        items=tuple(_items(claim)),
        prior=prior,
        cancels_all=claim.get("status") == "cancelled"
        or CERTIFICATION_CANCEL in extension_codes(claim, EXT_CERTIFICATION_TYPE),
        expedited=_expedited(claim),
        # Bundle.id, meta and timestamp are transport details: a retry may renew them and still be the same request.
        content_hash=canonical_hash(without(bundle, "id", "meta", "timestamp")),
        claim_hash=claim_hash(claim),
    )


def _first_claim(reading: Reading) -> Entry | None:
    entries = reading.index.entries
    if not entries or entries[0].index != 0:
        return None
    if entries[0].resource_type != "Claim":
        reading.profile.append(
            Problem(
                "structure",
                f"The first entry must be the PAS Claim; found {entries[0].resource_type!r}.",
                "Bundle.entry[0].resource",
            )
        )
        return None
    return entries[0]


def _claim_problems(claim: dict[str, Any], where: str, limits: Limits) -> list[Problem]:
    problems = []
    if claim.get("use") != "preauthorization":
        problems.append(
            Problem(
                "value",
                f"Claim.use must be 'preauthorization' for a PAS request; found {claim.get('use')!r}.",
                f"{where}.use",
            )
        )
    if claim.get("status") not in ("active", "cancelled"):
        problems.append(
            Problem(
                "value",
                "Claim.status must be 'active' (or 'cancelled' to withdraw a request).",
                f"{where}.status",
            )
        )
    if not identifier_pairs(claim):
        problems.append(
            Problem(
                "required",
                "The Claim needs an identifier with a value (the request's trace number).",
                f"{where}.identifier",
            )
        )
    for field, label in (
        ("patient", "the patient"),
        ("insurer", "the insurer"),
        ("provider", "the requesting provider"),
        ("priority", "a priority"),
        ("created", "its creation time"),
        ("type", "a claim type"),
    ):
        if not claim.get(field):
            problems.append(Problem("required", f"The Claim must name {label} (Claim.{field}).", f"{where}.{field}"))
    insurance = as_list(claim.get("insurance"))
    if not insurance:
        problems.append(
            Problem(
                "required",
                "The Claim must list the member's coverage (Claim.insurance).",
                f"{where}.insurance",
            )
        )
    elif not any(as_dict(i).get("focal") is True for i in insurance):
        problems.append(
            Problem("value", "One Claim.insurance must be focal (PAS fixes focal = true).", f"{where}.insurance")
        )
    items = as_list(claim.get("item"))
    if not items:
        problems.append(Problem("required", "The Claim must request at least one item.", f"{where}.item"))
    elif len(items) > limits.max_claim_items:
        problems.append(
            Problem(
                "too-costly",
                f"The Claim has {len(items)} items; this server accepts at most {limits.max_claim_items}.",
                f"{where}.item",
            )
        )
    sequences = {}
    for list_name in ("item", "supportingInfo", "careTeam", "diagnosis", "insurance"):
        sequences[list_name] = _unique_sequences(claim, list_name, where, problems)
    pointers = (
        ("careTeamSequence", "careTeam"),
        ("diagnosisSequence", "diagnosis"),
        ("informationSequence", "supportingInfo"),
    )
    for position, item in enumerate(items):
        for pointer, target in pointers:
            for slot, value in enumerate(as_list(as_dict(item).get(pointer))):
                if isinstance(value, int) and value not in sequences[target]:
                    problems.append(
                        Problem(
                            "value",
                            f"item {as_dict(item).get('sequence')} points at {target} "
                            f"sequence {value}, which the Claim does not have.",
                            f"{where}.item[{position}].{pointer}[{slot}]",
                        )
                    )
    return problems


def _unique_sequences(claim: dict[str, Any], list_name: str, where: str, problems: list[Problem]) -> set[int]:
    seen: set[int] = set()
    for position, element in enumerate(as_list(claim.get(list_name))):
        sequence = as_dict(element).get("sequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            problems.append(
                Problem(
                    "required",
                    f"Every {list_name} element has a positive integer sequence.",
                    f"{where}.{list_name}[{position}].sequence",
                )
            )
            continue
        if sequence in seen:
            problems.append(
                Problem(
                    "duplicate",
                    f"{list_name} sequence {sequence} is used twice; sequences "
                    "identify elements for the whole life of the request.",
                    f"{where}.{list_name}[{position}].sequence",
                )
            )
        seen.add(sequence)
    return seen


def _reference_problems(index: BundleIndex) -> list[Problem]:
    """Every reference must resolve inside the Bundle (PAS 2: the Bundle carries all it references).

    Exception: an included prior Claim's own `related` points at its predecessor, which PAS does not include.
    """
    problems = []
    for entry in index.entries:
        where = f"Bundle.entry[{entry.index}].resource"
        for found in index.scan(entry).references:
            if entry.index > 0 and entry.resource_type == "Claim" and found.path.startswith(f"{where}.related"):
                continue
            if index.resolve(found.value, from_entry=entry) is None:
                problems.append(
                    Problem(
                        "not-found",
                        f"Reference '{found.value}' does not resolve to a resource in the Bundle.",
                        f"{found.path}.reference",
                    )
                )
    return problems


def _prior(index: BundleIndex, claim_entry: Entry, where: str) -> tuple[Entry | None, list[Problem]]:
    """The earlier version of the request a Claim Update points at (related.relationship = prior)."""
    priors = []
    for position, related in enumerate(as_list(claim_entry.resource.get("related"))):
        related = as_dict(related)
        relationship = codings(related.get("relationship"))
        if relationship and not any(c == "prior" and s in ("", SYSTEM_RELATED_CLAIM) for s, c in relationship):
            continue
        priors.append((position, related))
    if not priors:
        return None, []
    if len(priors) > 1:
        return None, [Problem("value", "A Claim Update names exactly one prior request.", f"{where}.related")]
    position, related = priors[0]
    path = f"{where}.related[{position}].claim"
    target = index.resolve_in(related.get("claim"), from_entry=claim_entry)
    if target is None:
        return None, [
            Problem(
                "required",
                "A Claim Update includes the prior Claim it updates in the Bundle (related.claim must resolve to it).",
                path,
            )
        ]
    if target.resource_type != "Claim" or target.index == 0:
        return None, [
            Problem("value", "related.claim must point at the prior Claim, another entry of the Bundle.", path)
        ]
    return target, []


def _items(claim: dict[str, Any]) -> list[RequestedItem]:
    items = []
    for element in as_list(claim.get("item")):
        element = as_dict(element)
        cancelled_flag = (
            extension(element, EXT_INFO_CANCELLED, modifier=True)
            or extension(element, EXT_ITEM_CANCELLED_201, modifier=True)
            or extension(element, EXT_ITEM_CANCELLED_201)
        )
        cancelled = bool(cancelled_flag and cancelled_flag.get("valueBoolean") is True)
        cancelled = cancelled or CERTIFICATION_CANCEL in extension_codes(element, EXT_CERTIFICATION_TYPE)
        change = extension_codes(element, EXT_INFO_CHANGED)
        items.append(
            RequestedItem(
                sequence=int(element["sequence"]),
                element=element,
                cancelled=cancelled,
                change=next(iter(sorted(change)), None),
                content_hash=_item_hash(element),
            )
        )
    return items


def _item_hash(element: dict[str, Any]) -> str:
    """What the item asks for, without the update markers that say it changed."""
    markers = {EXT_INFO_CHANGED, EXT_INFO_CANCELLED, EXT_ITEM_CANCELLED_201}
    body = dict(element)
    body["extension"] = [e for e in as_list(element.get("extension")) if as_dict(e).get("url") not in markers]
    body["modifierExtension"] = [
        e for e in as_list(element.get("modifierExtension")) if as_dict(e).get("url") not in markers
    ]
    return canonical_hash(body)


def _expedited(claim: dict[str, Any]) -> bool:
    """CMS-0057-F expedited handling: Claim.priority 'stat' or X12 level of service urgent/emergency."""
    if "stat" in codes(claim.get("priority")):
        return True
    return bool(extension_codes(claim, EXT_LEVEL_OF_SERVICE) & EXPEDITED_LEVELS_OF_SERVICE)
