"""Plain-language descriptions of the codes a request carries, from the tables shipped in data/ and the rule pack.

The tables are read once, on first use, and kept for the life of the process (they never change while it runs).
Where each table comes from, and under what licence, is in this package's README.md.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

from ..decision import RuleSet
from ..decision.model import system_url

ICD10CM = system_url("icd10cm")
HCPCS = system_url("hcpcs")
LOINC = system_url("loinc")
X12_SERVICE_TYPES = system_url("x12-1365")

# Code system URL -> the table under data/ describing it. CPT has none: its descriptors are the AMA's, licensed;
# the rule pack names CPT codes in its own words (`displays:`, rules/README.md).
_TABLES = {
    ICD10CM: "icd10cm.tsv.gz",
    HCPCS: "hcpcs.tsv",
    LOINC: "loinc.tsv",
    X12_SERVICE_TYPES: "x12-1365.tsv",
}


def describe(system: str, code: str, *, rule_set: RuleSet | None = None) -> str | None:
    """A code's description: the rule pack's own display, else the shipped table's, else (for a LOINC document
    type) the description of a document the pack's rules ask for; None when nothing describes it."""
    if rule_set is not None:
        display = rule_set.displays.get((system, code))
        if display is not None:
            return display
    name = _TABLES.get(system)
    found = _table(name).get(_key(system, code)) if name is not None else None
    if found is None and system == LOINC and rule_set is not None:
        found = _document_description(rule_set, code)
    return found


def coded(system: str, code: str, *, rule_set: RuleSet | None = None) -> dict[str, str | None]:
    """A code as staff views show it: system, code and description (None when unknown)."""
    return {"system": system, "code": code, "display": describe(system, code, rule_set=rule_set)}


def _key(system: str, code: str) -> str:
    # ICD-10-CM is sent with or without its dot (M54.16, M5416); both name the same code.
    code = code.strip().upper()
    return code.replace(".", "") if system == ICD10CM else code


@lru_cache(maxsize=len(_TABLES))
def _table(name: str) -> Mapping[str, str]:
    """A shipped table, code -> description (tab-separated lines; gzip when the name says so)."""
    raw = resources.files(__package__).joinpath("data", name).read_bytes()
    text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")
    system = next(s for s, n in _TABLES.items() if n == name)
    table = {}
    for line in text.splitlines():
        code, _, description = line.partition("\t")
        if code and description:
            table[_key(system, code)] = description
    return table


def _document_description(rule_set: RuleSet, loinc: str) -> str | None:
    """What the pack calls a document it asks for (`documents:` of a rule), for LOINC codes the table lacks."""
    for rule in rule_set.rules:
        for document in rule.rule.documents:
            if document.loinc == loinc:
                return document.description
    return None
