"""Reading an enrollment feed as a payer's systems export it: FHIR Patient and Coverage resources, either in one
Bundle (JSON) or as NDJSON (one resource per line). Nothing here touches the database.

A Coverage gives a member id (its `MB` identifier, else `subscriberId`), its period (start required), status, payor,
class (group, plan), relationship and type; its beneficiary, when it names one, must be a Patient of the same file.
Every problem is reported with the line (NDJSON) or entry (Bundle) it is on; a file with any problem yields no
records at all (the caller stores nothing of it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import Problem
from .elements import as_dict, as_list, codes, typed_identifier_values

_DATE_LENGTHS = (4, 7, 10)


@dataclass(frozen=True)
class MemberRecord:
    """A member as the feed describes them."""

    member_id: str
    family: str | None
    given: str | None
    birth_date: str | None
    gender: str | None


@dataclass(frozen=True)
class CoverageRecord:
    """One coverage of a member."""

    member_id: str
    coverage_key: str
    status: str
    start: str
    end: str | None
    payor: str | None
    group_id: str | None
    plan: str | None
    relationship: str | None
    type_code: str | None


@dataclass(frozen=True)
class Feed:
    """What a file holds once read: members and coverages, or the problems that stop it."""

    members: list[MemberRecord]
    coverages: list[CoverageRecord]
    problems: list[Problem]


def read_feed(raw: bytes, *, name: str = "feed") -> Feed:
    """Read a Bundle or an NDJSON file of Patients and Coverages; `name` prefixes where each problem is."""
    problems: list[Problem] = []
    resources = list(_resources(raw, name, problems))
    patients: dict[str, dict[str, Any]] = {}
    for where, resource in resources:
        if resource.get("resourceType") == "Patient":
            for key in _patient_keys(resource, where):
                patients[key] = resource
    members: dict[str, MemberRecord] = {}
    coverages: list[CoverageRecord] = []
    for where, resource in resources:
        kind = resource.get("resourceType")
        if kind == "Patient":
            continue
        if kind != "Coverage":
            problems.append(Problem("not-supported", f"{kind!r} is not a Patient or a Coverage.", where))
            continue
        record = _coverage(resource, where, patients, problems)
        if record is None:
            continue
        coverage, patient = record
        coverages.append(coverage)
        if coverage.member_id not in members or patient is not None:
            members[coverage.member_id] = _member(coverage.member_id, patient)
    if problems:
        return Feed([], [], sorted(problems, key=_position))
    return Feed(list(members.values()), coverages, [])


def _position(problem: Problem) -> int:
    """The line or entry number a problem is on (problems are reported in file order)."""
    where = (problem.expression or "").split(":", 1)[0]
    number = where.rsplit(" ", 1)[-1]
    return int(number) if number.isdigit() else 0


def _resources(raw: bytes, name: str, problems: list[Problem]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, resource) for every resource of the file, whichever of the two shapes it has."""
    text = raw.lstrip()
    if text.startswith(b"{"):
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            document = None  # several lines of JSON: NDJSON
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            for position, entry in enumerate(as_list(document.get("entry"))):
                resource = as_dict(as_dict(entry).get("resource"))
                where = f"{name} entry {position + 1}"
                if not resource:
                    problems.append(Problem("structure", "The entry has no resource.", where))
                    continue
                yield where, resource
            return
        if isinstance(document, dict):
            if not isinstance(document.get("resourceType"), str):
                problems.append(Problem("structure", "Not a FHIR resource (no resourceType).", f"{name} line 1"))
                return
            yield f"{name} line 1", document
            return
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(Problem("structure", f"Not JSON: {exc}.", where))
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(Problem("structure", "Not a FHIR resource (no resourceType).", where))
            continue
        yield where, resource


def _patient_keys(patient: dict[str, Any], where: str) -> list[str]:
    keys = []
    if isinstance(patient.get("id"), str):
        keys += [f"Patient/{patient['id']}", patient["id"]]
    if isinstance(patient.get("fullUrl"), str):
        keys.append(patient["fullUrl"])
    return keys


def _coverage(
    resource: dict[str, Any], where: str, patients: dict[str, dict[str, Any]], problems: list[Problem]
) -> tuple[CoverageRecord, dict[str, Any] | None] | None:
    found = len(problems)
    member_ids = sorted(typed_identifier_values(resource, "MB"))
    subscriber_id = resource.get("subscriberId")
    member_id = member_ids[0] if member_ids else subscriber_id if isinstance(subscriber_id, str) else None
    if not member_id:
        problems.append(
            Problem("required", "The Coverage names no member id (an MB identifier or subscriberId).", where)
        )
    period = as_dict(resource.get("period"))
    start, end = period.get("start"), period.get("end")
    if start is None:
        problems.append(Problem("required", "The Coverage has no period.start.", f"{where}: Coverage.period.start"))
    for field, value in (("start", start), ("end", end)):
        if value is not None and _date(value) is None:
            problems.append(
                Problem("value", f"period.{field} {value!r} is not a date.", f"{where}: Coverage.period.{field}")
            )
    beneficiary = as_dict(resource.get("beneficiary")).get("reference")
    patient = None
    if isinstance(beneficiary, str):
        patient = patients.get(beneficiary) or patients.get(beneficiary.rsplit("/", 1)[-1])
        if patient is None:
            problems.append(
                Problem(
                    "not-found",
                    f"The beneficiary {beneficiary} is not a Patient of this file.",
                    f"{where}: Coverage.beneficiary",
                )
            )
    if len(problems) > found or member_id is None:
        return None
    classes = {
        code: as_dict(c).get("value") for c in as_list(resource.get("class")) for code in codes(as_dict(c).get("type"))
    }
    payor = as_dict(next(iter(as_list(resource.get("payor"))), {}))
    record = CoverageRecord(
        member_id=member_id,
        coverage_key=_coverage_key(resource, member_id),
        status=str(resource.get("status") or "active"),
        start=str(_date(start)),
        end=_date(end) if end is not None else None,
        payor=payor.get("display") or payor.get("reference") or _identifier_value(payor),
        group_id=_text(classes.get("group")),
        plan=_text(classes.get("plan")),
        relationship=next(iter(codes(resource.get("relationship"))), None),
        type_code=next(iter(codes(resource.get("type"))), None),
    )
    return record, patient


def _coverage_key(resource: dict[str, Any], member_id: str) -> str:
    """The coverage's own identifier (the first that is not the member id), else its id, else the member id."""
    for identifier in as_list(resource.get("identifier")):
        identifier = as_dict(identifier)
        value = identifier.get("value")
        if isinstance(value, str) and value != member_id:
            return f"{identifier.get('system', '')}|{value}"
    if isinstance(resource.get("id"), str):
        return f"Coverage/{resource['id']}"
    return member_id


def _identifier_value(element: dict[str, Any]) -> str | None:
    value = as_dict(element.get("identifier")).get("value")
    return value if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _date(value: Any) -> str | None:
    """A FHIR date or dateTime as YYYY-MM-DD (a year or month counts from its first day), or None if not a date."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    day = value[:10]
    if len(day) not in _DATE_LENGTHS:
        return None
    padded = day + "-01-01"[len(day) - 4 :] if len(day) < 10 else day
    try:
        return dt.date.fromisoformat(padded).isoformat()
    except ValueError:
        return None


def _member(member_id: str, patient: dict[str, Any] | None) -> MemberRecord:
    if patient is None:
        return MemberRecord(member_id, None, None, None, None)
    name = as_dict(next(iter(as_list(patient.get("name"))), {}))
    given = " ".join(g for g in as_list(name.get("given")) if isinstance(g, str)) or None
    return MemberRecord(
        member_id,
        _text(name.get("family")),
        given,
        _date(patient.get("birthDate")),
        _text(patient.get("gender")),
    )
