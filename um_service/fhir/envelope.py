"""Reading a PAS Bundle body: JSON, schema, and the Bundle-level rules shared by $submit and $inquire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, Problem
from . import schema
from .codes import KNOWN_MODIFIER_EXTENSIONS
from .elements import as_dict, as_list
from .outcome import dedupe
from .parsing import parse_json
from .references import BundleIndex


@dataclass(frozen=True)
class Limits:
    """Caller-facing size limits (from Settings)."""

    max_json_depth: int = 64
    max_bundle_entries: int = 1000
    max_claim_items: int = 999
    max_string_length: int = 4 * 1024 * 1024


@dataclass
class Reading:
    """A Bundle being read: the document, its index, and the problems found so far, by kind."""

    bundle: dict[str, Any]
    index: BundleIndex
    structural: list[Problem]
    profile: list[Problem]

    def fail_if_problems(self) -> None:
        """Raise InvalidRequest with every problem: 400 when the structure is broken, else 422 (profiles)."""
        if self.structural or self.profile:
            status = 400 if self.structural else 422
            problems = sorted(dedupe(self.structural + self.profile), key=lambda p: p.expression or "")
            raise InvalidRequest(status, problems)


def read_json(raw: bytes, *, limits: Limits) -> Any:
    """A request body as JSON within the configured depth and string limits, or InvalidRequest (400) saying why not:
    the one gate every JSON body passes (PAS, CRD, DTR, CDex)."""
    return parse_json(raw, max_depth=limits.max_json_depth, max_string=limits.max_string_length)


def read_bundle(raw: bytes, *, limits: Limits, what: str) -> Reading:
    """Parse and check a PAS Bundle (`what` names it in messages); raise InvalidRequest if it is not a Bundle."""
    document = read_json(raw, limits=limits)
    document = unwrap_parameters(document)
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        found = document.get("resourceType") if isinstance(document, dict) else type(document).__name__
        raise InvalidRequest(
            400, [Problem("structure", f"The body must be a {what} (a FHIR Bundle); found {found!r}.")]
        )
    entries = as_list(document.get("entry"))
    if len(entries) > limits.max_bundle_entries:
        raise InvalidRequest(
            422,
            [
                Problem(
                    "too-costly",
                    f"The Bundle has {len(entries)} entries; this server accepts at most {limits.max_bundle_entries}.",
                    "Bundle.entry",
                )
            ],
        )
    index = BundleIndex.of(document)
    reading = Reading(document, index, schema.check_bundle(document), [])
    reading.profile += _envelope_problems(document, what)
    reading.profile += _unknown_modifiers(index)
    return reading


def unwrap_parameters(document: Any) -> Any:
    """Accept the operation's `resource` parameter wrapped in Parameters (PAS OperationDefinition input name)."""
    if isinstance(document, dict) and document.get("resourceType") == "Parameters":
        for parameter in as_list(document.get("parameter")):
            parameter = as_dict(parameter)
            if parameter.get("name") == "resource" and isinstance(parameter.get("resource"), dict):
                return parameter["resource"]
    return document


def _envelope_problems(bundle: dict[str, Any], what: str) -> list[Problem]:
    problems = []
    if bundle.get("type") != "collection":
        problems.append(Problem("value", f"A {what} has Bundle.type 'collection'.", "Bundle.type"))
    if not bundle.get("identifier"):
        problems.append(
            Problem("required", f"A {what} carries the sender's transaction identifier.", "Bundle.identifier")
        )
    if not bundle.get("timestamp"):
        problems.append(Problem("required", f"A {what} carries a timestamp.", "Bundle.timestamp"))
    entries = as_list(bundle.get("entry"))
    if not entries:
        problems.append(Problem("required", f"A {what} has at least one entry, the Claim first.", "Bundle.entry"))
        return problems
    seen_urls: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for position, entry in enumerate(entries):
        where = f"Bundle.entry[{position}]"
        entry = as_dict(entry)
        for key in ("request", "response", "search"):
            if key in entry:
                problems.append(Problem("structure", f"Entries of a {what} carry no '{key}'.", f"{where}.{key}"))
        url = entry.get("fullUrl")
        if not isinstance(url, str):
            url = None  # a fullUrl of the wrong type is reported by the schema check
        if not url:
            problems.append(Problem("required", "Every entry has a fullUrl.", f"{where}.fullUrl"))
        elif url in seen_urls:
            problems.append(
                Problem(
                    "duplicate",
                    f"fullUrl '{url}' already appears at entry {seen_urls[url]}.",
                    f"{where}.fullUrl",
                )
            )
        else:
            seen_urls[str(url)] = position
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            problems.append(Problem("required", "Every entry has a resource.", f"{where}.resource"))
            continue
        if resource.get("id"):
            key = f"{resource.get('resourceType')}/{resource.get('id')}"
            if key in seen_ids:
                problems.append(
                    Problem(
                        "duplicate",
                        f"{key} is present twice (also at entry {seen_ids[key]}).",
                        f"{where}.resource",
                    )
                )
            else:
                seen_ids[key] = position
    return problems


def _unknown_modifiers(index: BundleIndex) -> list[Problem]:
    """Modifier extensions change meaning; one this server does not understand makes the request unreadable."""
    return [
        Problem("not-supported", f"Unknown modifier extension '{url}'.", f"{holder}.modifierExtension[{position}]")
        for entry in index.entries
        for holder, position, ext in index.scan(entry).modifier_extensions
        if (url := as_dict(ext).get("url")) not in KNOWN_MODIFIER_EXTENSIONS
    ]
