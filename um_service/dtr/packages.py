"""$questionnaire-package: which of the rule pack's forms an order (or a CRD assertion) needs, and their packages.

Forms are chosen (dtr-digest section 2): the canonicals asked for (a warning for one we do not have); else the forms
of the rules covering the codes of the given orders and of the CRD assertion named by `context`. An unknown context
is a 404 (spec-130); a CRD assertion that asked for documentation with no form to give is an OperationOutcome
saying what to send instead (oper-8).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..db.models import CrdAssertion
from ..decision.ruleset import CompiledRule, RuleSet
from ..errors import NotFound, Unprocessable
from ..fhir import questionnaire as forms
from ..fhir.cds_hooks import order_codes
from ..fhir.questionnaire import PackageRequest


@dataclass(frozen=True)
class Packages:
    """The package Bundles to return and warnings for the outcome."""

    bundles: list[dict[str, Any]]
    warnings: list[str]


def forms_of(rules: RuleSet) -> dict[str, CompiledRule]:
    """The rules that ask questions, by rule id."""
    return {rule.id: rule for rule in rules.rules if rule.rule.questions}


def forms_for(rules: RuleSet, codes: list[tuple[str, str]], today: dt.date) -> list[CompiledRule]:
    """The rules in force that ask questions and cover one of the (system, code) pairs, by rule id."""
    found: dict[str, CompiledRule] = {}
    for system, code in codes:
        for rule, _ in rules.index.lookup(system, code):
            if rule.rule.questions and rule.rule.effective.covers(today):
                found.setdefault(rule.id, rule)
    return [found[k] for k in sorted(found)]


def form_named(rules: RuleSet, canonical: str, *, base: str) -> CompiledRule | None:
    """The rule whose form a canonical (`url` or `url|version`) names, if it is one of ours that asks questions."""
    url = canonical.partition("|")[0].rstrip("/")
    rule_id = url.rsplit("/", 1)[-1]
    return forms_of(rules).get(rule_id) if url == forms.canonical(base, rule_id) else None


def canonicals_for(rules: RuleSet, codes: list[tuple[str, str]], *, base: str, today: dt.date) -> tuple[str, ...]:
    """Version-specific canonicals (`url|version`) of the forms for these codes (what CRD names)."""
    return tuple(f"{forms.canonical(base, r.id)}|{rules.version}" for r in forms_for(rules, codes, today))


def questionnaire_of(rule: CompiledRule, rules: RuleSet, *, base: str, today: dt.date) -> dict[str, Any]:
    """The Questionnaire of a rule that asks questions."""
    title = rule.rule.description.split(". ")[0].strip().rstrip(".")
    form = forms.Form(rule.id, title, rule.rule.questions)
    return forms.questionnaire(form, base=base, version=rules.version, date=today.isoformat())


def package(session: Session, request: PackageRequest, *, rules: RuleSet, base: str, today: dt.date) -> Packages:
    """The questionnaire packages for a $questionnaire-package call."""
    chosen: dict[str, CompiledRule] = {}
    warnings: list[str] = []
    for wanted in request.canonicals:
        url, _, version = wanted.partition("|")
        form = form_named(rules, wanted, base=base)
        if form is None:
            warnings.append(f"No questionnaire {wanted} here.")
            continue
        if version and version != rules.version:
            warnings.append(f"Questionnaire {url} is at version {rules.version}, not {version}; that is what is sent.")
        chosen[form.id] = form
    codes: list[tuple[str, str]] = []
    documentation_asked = False
    if request.context:
        assertion = session.get(CrdAssertion, request.context)
        if assertion is None:
            raise NotFound(f"no coverage assertion {request.context!r}: give the coverage-assertion-id CRD returned")
        codes += [tuple(code.split("|", 1)) for code in assertion.codes if "|" in code]  # type: ignore[misc]
        documentation_asked = any(p.get("url") == "doc-needed" for p in assertion.answer.get("extension", []))
    for order in request.orders:
        codes += [(str(c.get("system", "")), str(c["code"])) for c in order_codes(order)]
    if not request.canonicals:
        for rule in forms_for(rules, codes, today):
            chosen.setdefault(rule.id, rule)
    if documentation_asked and not chosen:
        raise Unprocessable(
            "CRD asked for documentation for this order, and the plan has no form for it: send the documents CRD "
            "named (its reason gives the LOINC codes) with the PAS request."
        )
    patient = _patient(request)
    coverage = f"Coverage/{request.coverage['id']}" if request.coverage and request.coverage.get("id") else None
    orders = [f"{o['resourceType']}/{o['id']}" for o in request.orders if o.get("id")]
    bundles = []
    for rule in sorted(chosen.values(), key=lambda r: r.id):
        resource = questionnaire_of(rule, rules, base=base, today=today)
        draft = forms.draft_response(resource, patient=patient, coverage=coverage, orders=orders)
        bundles.append(forms.package_bundle(resource, draft))
    return Packages(bundles, warnings)


def _patient(request: PackageRequest) -> str | None:
    beneficiary = (request.coverage or {}).get("beneficiary")
    if isinstance(beneficiary, dict) and isinstance(beneficiary.get("reference"), str):
        return str(beneficiary["reference"])
    for order in request.orders:
        subject = order.get("subject") or order.get("patient")
        if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
            return str(subject["reference"])
    return None
