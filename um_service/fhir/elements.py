"""Tolerant readers for FHIR JSON elements: they never raise on content of the wrong shape.

Profile checks run on every request, including ones the schema has already found broken; reading through these
keeps a malformed field a reported problem rather than a crash.
"""

from __future__ import annotations

from typing import Any

from .codes import SYSTEM_IDENTIFIER_TYPE


def as_list(value: Any) -> list[Any]:
    """`value` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def codings(concept: Any) -> list[tuple[str, str]]:
    """(system, code) of each coding of a CodeableConcept."""
    found = []
    for coding in as_list(as_dict(concept).get("coding")):
        coding = as_dict(coding)
        if isinstance(coding.get("code"), str):
            found.append((str(coding.get("system") or ""), coding["code"]))
    return found


def codes(concept: Any) -> set[str]:
    """The codes of a CodeableConcept, whatever their system."""
    return {code for _, code in codings(concept)}


def extension(element: Any, url: str, *, modifier: bool = False) -> dict[str, Any] | None:
    """The first (modifier) extension with this url."""
    key = "modifierExtension" if modifier else "extension"
    for ext in as_list(as_dict(element).get(key)):
        if as_dict(ext).get("url") == url:
            return as_dict(ext)
    return None


def extension_codes(element: Any, url: str) -> set[str]:
    """The codes of an extension's valueCodeableConcept or valueCode."""
    ext = extension(element, url)
    if ext is None:
        return set()
    if isinstance(ext.get("valueCode"), str):
        return {ext["valueCode"]}
    return codes(ext.get("valueCodeableConcept"))


def identifier_pairs(resource: Any) -> set[tuple[str, str]]:
    """(system, value) of each identifier of a resource."""
    pairs = set()
    for identifier in as_list(as_dict(resource).get("identifier")):
        identifier = as_dict(identifier)
        if isinstance(identifier.get("value"), str):
            pairs.add((str(identifier.get("system") or ""), identifier["value"]))
    return pairs


def typed_identifier_values(resource: Any, type_code: str) -> set[str]:
    """Values of identifiers whose type carries this v2-0203 code (e.g. MB, member number)."""
    values = set()
    for identifier in as_list(as_dict(resource).get("identifier")):
        identifier = as_dict(identifier)
        type_codes = {
            code for system, code in codings(identifier.get("type")) if system in ("", SYSTEM_IDENTIFIER_TYPE)
        }
        if type_code in type_codes and isinstance(identifier.get("value"), str):
            values.add(identifier["value"])
    return values


def person_name(resource: Any) -> str:
    """A person's first name as people read it ("Jane Doe"), or "" when there is none."""
    names = [as_dict(n) for n in as_list(as_dict(resource).get("name"))]
    if not names:
        return ""
    given = [g for g in as_list(names[0].get("given")) if isinstance(g, str)]
    family = names[0].get("family")
    return " ".join([*given, family if isinstance(family, str) else ""]).strip()
