"""The practitioners a PAS Claim names for an item: its care team (ordering, rendering, referring ...), read for the
staff case view.

An item's care team is the Claim.careTeam entries its `careTeamSequence` cites, plus those the PAS extension
`careTeamClaimScope` applies to every item. A Claim whose care team names no practitioner falls back to
Claim.provider when that is a practitioner (the requesting provider).
"""

from __future__ import annotations

from typing import Any

from .elements import as_dict, as_list, extension, person_name
from .pas_request import PasRequest, RequestedItem
from .references import Entry

EXT_CLAIM_SCOPE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-careTeamClaimScope"
_PRACTITIONERS = ("Practitioner", "PractitionerRole")


def item_practitioners(request: PasRequest, item: RequestedItem) -> list[dict[str, str | None]]:
    """Name and care-team role (display or code, None when not given) of each practitioner of the item."""
    cited = {n for n in as_list(item.element.get("careTeamSequence")) if isinstance(n, int)}
    found: list[dict[str, str | None]] = []
    for member in as_list(request.claim.get("careTeam")):
        member = as_dict(member)
        scoped = as_dict(extension(member, EXT_CLAIM_SCOPE)).get("valueBoolean") is True
        if member.get("sequence") not in cited and not scoped:
            continue
        name = _name(request, member.get("provider"))
        if name:
            found.append({"name": name, "role": _role(member.get("role"))})
    if not found:
        provider = request.parties.provider
        if provider.resource_type in _PRACTITIONERS:
            name = _practitioner_name(request, provider)
            if name:
                found.append({"name": name, "role": "requesting provider"})
    return found


def _name(request: PasRequest, reference: Any) -> str | None:
    target = request.index.resolve_in(reference, from_entry=request.claim_entry)
    if target is None or target.resource_type not in _PRACTITIONERS:
        display = as_dict(reference).get("display")
        return display if isinstance(display, str) and target is None else None
    return _practitioner_name(request, target)


def _practitioner_name(request: PasRequest, entry: Entry) -> str | None:
    """A Practitioner's name, or a PractitionerRole's practitioner's (its reference's display when not in the
    Bundle)."""
    if entry.resource_type == "Practitioner":
        return person_name(entry.resource) or None
    reference = entry.resource.get("practitioner")
    practitioner = request.index.resolve_in(reference, from_entry=entry)
    if practitioner is not None and practitioner.resource_type == "Practitioner":
        return person_name(practitioner.resource) or None
    display = as_dict(reference).get("display")
    return display if isinstance(display, str) else None


def _role(concept: Any) -> str | None:
    for coding in as_list(as_dict(concept).get("coding")):
        coding = as_dict(coding)
        shown = coding.get("display") or coding.get("code")
        if isinstance(shown, str):
            return shown
    text = as_dict(concept).get("text")
    return text if isinstance(text, str) else None
