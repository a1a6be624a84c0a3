"""Plain-Python shortcuts for the commonest shapes of rule conditions, with fhirpathpy's exact answers.

fhirpathpy interprets a parsed tree node by node (a `where(url = '...')` over twenty extensions costs about half a
millisecond). Most conditions of the rule pack are one of three shapes:

    %claim.diagnosis.exists()
    %claim.diagnosis.diagnosis.coding.where(memberOf('low-back-pain-diagnoses')).exists()
    %claim.extension.where(url = 'http://...').exists()
    %item.extension.where(url = 'http://...').value.resolve().ofType(ServiceRequest).exists()

`shortcut(text)` turns such an expression into a function of the variables (and the rule set's value sets) that
navigates the same way fhirpathpy does with the R4 model (choice types `[x]`, paths defined elsewhere, `extension`)
and answers what it would; given anything it does not handle the same way for certain (primitive extensions `_x`,
values that are not objects, an unknown value set) it answers None, and the caller asks fhirpathpy.
tests/test_rule_shortcuts.py proves identical answers over every case of the rule pack's tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from ..fhir.references import BundleIndex, Entry
from .index import Coverage


class Within(Protocol):
    """Where an expression is evaluated (expressions.Scope): the Bundle and entry references resolve from, and
    the rule set's value sets."""

    @property
    def index(self) -> BundleIndex: ...
    @property
    def origin(self) -> Entry: ...
    @property
    def valuesets(self) -> Mapping[str, Coverage]: ...


Shortcut = Callable[[Mapping[str, Any], Within | None], list[Any] | None]

_R4 = models["r4"]
_CHOICES: dict[str, list[str]] = _R4["choiceTypePaths"]
_ELSEWHERE: dict[str, str] = _R4["pathsDefinedElsewhere"]
_TYPES: dict[str, str] = _R4["path2Type"]
_SHAPE = re.compile(
    r"^%(?P<variable>claim|patient|coverage|bundle|requested|item)"
    r"(?P<steps>(?:\.[a-z][A-Za-z0-9]*)+?)"
    r"(?:\.where\((?:memberOf\('(?P<valueset>[^']+)'\)|url\s*=\s*'(?P<url>[^'\\]+)')\))?"
    r"(?:\s*\.value\.resolve\(\)\.ofType\((?P<resource_type>[A-Z][A-Za-z]+)\))?"
    r"\.exists\(\)$"
)
# Types others derive from (ofType of one matches its descendants too): left to fhirpathpy.
_PARENTS = frozenset(_R4["type2Parent"].values())
_NOT_STEPS = frozenset({"where", "exists", "resolve", "ofType", "memberOf", "answer", "not", "empty", "first"})

Node = tuple[dict[str, Any], str]


def shortcut(text: str) -> Shortcut | None:
    """A plain-Python evaluation of `text`, if it has one of the shapes above; else None."""
    shape = _SHAPE.match(text.strip())
    if shape is None:
        return None
    steps = shape["steps"].split(".")[1:]
    if any(step in _NOT_STEPS for step in steps):
        return None
    variable, valueset, url, resource_type = shape["variable"], shape["valueset"], shape["url"], shape["resource_type"]
    if url is not None and steps[-1] != "extension":
        return None  # `url` is compared as an Extension's
    if resource_type is not None and (url is None or resource_type in _PARENTS):
        return None

    def evaluate(variables: Mapping[str, Any], within: Within | None) -> list[Any] | None:
        nodes = _start(variables.get(variable))
        for step in steps:
            if nodes is None:
                return None
            nodes = _member(nodes, step)
        if nodes is None:
            return None
        if valueset is not None:
            coverage = within.valuesets.get(valueset) if within is not None else None
            if coverage is None:
                return None  # fhirpathpy says why (no scope, or no such value set)
            found = [_member_of(data, coverage) for data, _ in nodes]
            if None in found:
                return None
            return [any(found)]
        if url is not None:
            if any("_url" in data or not isinstance(data.get("url", ""), str) for data, _ in nodes):
                return None
            nodes = [(data, path) for data, path in nodes if data.get("url") == url]
            if resource_type is not None:
                return _resolved_of_type(nodes, resource_type, within)
            return [bool(nodes)]
        return [bool(nodes)]

    return evaluate


def _resolve(nodes: list[Node], within: Within) -> list[Node]:
    """expressions._resolve for Reference objects: the resources they point to inside the Bundle."""
    found = []
    for data, _ in nodes:
        reference = data.get("reference")
        if isinstance(reference, str):
            entry = within.index.resolve(reference, from_entry=within.origin)
            if entry is not None:
                found.append((entry.resource, entry.resource_type))
    return found


def _resolved_of_type(extensions: list[Node], resource_type: str, within: Within | None) -> list[Any] | None:
    """`extensions.value.resolve().ofType(resource_type).exists()`."""
    if within is None:
        return None
    values = _member(extensions, "value")
    if values is None:
        return None
    return [any(path == resource_type for _, path in _resolve(values, within))]


def _start(value: Any) -> list[Node] | None:
    """The nodes a %variable stands for: a resource (typed by its resourceType), a typed node, or nothing."""
    if isinstance(value, ResourceNode):
        return [(value.data, value.path)] if isinstance(value.data, dict) and isinstance(value.path, str) else None
    if isinstance(value, dict):
        return [(value, value["resourceType"])] if isinstance(value.get("resourceType"), str) else None
    if value == []:
        return []
    return None


def _member(nodes: list[Node], key: str) -> list[Node] | None:
    """`nodes.key`, as fhirpathpy's member invocation navigates it with the R4 model."""
    found: list[Node] = []
    for data, path in nodes:
        child = _ELSEWHERE.get(f"{path}.{key}", f"{path}.{key}")
        field = key
        for choice in _CHOICES.get(child, ()):
            if data.get(key + choice) is not None or data.get(f"_{key}{choice}") is not None:
                field, child = key + choice, child + choice
                break
        else:
            if child in _CHOICES:
                continue  # no value of any of the choice's types
            if key == "extension":
                child = "Extension"
        if f"_{field}" in data:
            return None  # a primitive's extension: fhirpathpy adds nodes for it
        value = data.get(field)
        if value is None or value == []:
            continue
        child = _TYPES.get(child, child)
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                return None
            resource_type = item.get("resourceType")
            found.append((item, resource_type if isinstance(resource_type, str) else child))
    return found


def _member_of(data: dict[str, Any], coverage: Coverage) -> bool | None:
    """expressions._member_of for one Coding or CodeableConcept; None for what it would treat otherwise."""
    codings = data.get("coding") if "coding" in data else [data]
    if not isinstance(codings, list):
        return None
    for coding in codings:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            if coverage.covers(str(coding.get("system") or ""), coding["code"]):
                return True
        elif isinstance(coding, str):
            if coverage.covers_code_any_system(coding):
                return True
        elif coding is not None and not isinstance(coding, dict):
            return None
    return False
