"""Evaluating a rule set against a request, item by item, with a trace of every condition and the value it saw.

Pure: nothing here reads the database or the clock; the time that decides which rules are in force is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from fhirpathpy.engine.nodes import ResourceNode

from ..fhir.codes import EXT_INFO_CHANGED, ReviewAction
from ..fhir.elements import as_dict, as_list, codes, codings, extension
from ..fhir.pas_request import PasRequest, RequestedItem
from . import expressions
from .model import DocumentRequirement, system_url
from .ruleset import CompiledRule, RuleSet

DEFAULT_QUEUE = "general-um"
_LOINC = system_url("loinc")
_PLAN_CLASS_TYPES = frozenset({"plan", "group", "subplan", "subgroup"})


@dataclass(frozen=True)
class ItemOutcome:
    """What automation decided for one item, why, and what it looked at."""

    sequence: int
    action: ReviewAction
    queue: str | None
    reason: str
    rule_id: str | None = None
    skills: tuple[str, ...] = ()
    review_priority: str = "routine"
    authorized_period: tuple[str, str] | None = None
    documents: tuple[DocumentRequirement, ...] = ()
    trace: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    # Set on what intake does not certify for reasons of coverage (never by a rule): kind and X12 886 code.
    kind: str | None = None
    reason_code: str | None = None
    # Where an approval that cannot stand (a benefit limit reached) goes for review.
    fallback_queue: str | None = None
    # An admission's initial stay and the days automation may extend it by (case/stays.py).
    stay_days: int | None = None
    extend_days: int | None = None
    # The care-management referral the deciding rule asks for: (program, reason).
    referral: tuple[str, str] | None = None


def evaluate(
    request: PasRequest,
    rule_set: RuleSet,
    *,
    received: dt.datetime,
    line_of_business: str | None = None,
    plans: frozenset[str] = frozenset(),
) -> dict[int, ItemOutcome]:
    """The outcome of every item that is not cancelled, by sequence.

    `line_of_business` is the member's line of business as the registry and plan book give it; without it, the
    plan book resolves the request's Coverage (plan, else type codes). `plans` are plan ids known beyond the
    request's Coverage.class (the registry's).
    """
    facts = _Facts.of(request)
    parties = request.parties
    line = line_of_business or rule_set.plans.line_of_business(parties.plan, parties.coverage_types)
    if line is not None:
        facts = replace(facts, lines_of_business=frozenset({line}))
    if plans:
        facts = replace(facts, plans=facts.plans | plans)
    return {
        item.sequence: _decide_item(item, facts, rule_set, received.date())
        for item in request.items
        if not item.cancelled
    }


@dataclass(frozen=True)
class _Facts:
    request: PasRequest
    lines_of_business: frozenset[str]
    plans: frozenset[str]
    documents: frozenset[str]

    @classmethod
    def of(cls, request: PasRequest) -> _Facts:
        coverage = request.parties.coverage.resource if request.parties.coverage else {}
        plans = set()
        for coverage_class in as_list(coverage.get("class")):
            coverage_class = as_dict(coverage_class)
            if codes(coverage_class.get("type")) & _PLAN_CLASS_TYPES and isinstance(coverage_class.get("value"), str):
                plans.add(coverage_class["value"])
        documents = set()
        for entry in request.index.entries:
            if entry.resource_type == "DocumentReference":
                for field_name in ("type", "category"):
                    values = as_list(entry.resource.get(field_name)) or [entry.resource.get(field_name)]
                    documents |= {code for value in values for system, code in codings(value) if system == _LOINC}
        for info in as_list(request.claim.get("supportingInfo")):
            documents |= {code for system, code in codings(as_dict(info).get("code")) if system == _LOINC}
        return cls(request, frozenset(codes(coverage.get("type"))), frozenset(plans), frozenset(documents))


def present_documents(request: PasRequest) -> frozenset[str]:
    """LOINC codes of the documents a request carries (DocumentReference type/category, supportingInfo.code)."""
    return _Facts.of(request).documents


def _candidates(item: RequestedItem, rule_set: RuleSet) -> list[tuple[CompiledRule, int]]:
    best: dict[str, tuple[CompiledRule, int]] = {}
    for system, code in item.product_codes:
        for rule, specificity in rule_set.index.lookup(system, code):
            if rule.id not in best or specificity > best[rule.id][1]:
                best[rule.id] = (rule, specificity)
    return sorted(best.values(), key=lambda pair: pair[0].precedence(pair[1]))


def _decide_item(item: RequestedItem, facts: _Facts, rule_set: RuleSet, on: dt.date) -> ItemOutcome:
    trace: list[dict[str, Any]] = []
    variables: dict[str, Any] | None = None
    for rule, _ in _candidates(item, rule_set):
        skipped = _not_applicable(rule, facts, on)
        if skipped:
            trace.append({"rule": rule.id, "skipped": skipped})
            continue
        if variables is None:
            variables = condition_variables(item, facts.request)
        if _conditions_hold(rule, variables, facts.request, rule_set, trace):
            return _outcome(item, rule, facts, trace, rule_set.version)
    trace.append({"default": f"no rule of rule set {rule_set.version} applies; the item pends to {DEFAULT_QUEUE}"})
    return ItemOutcome(
        item.sequence,
        ReviewAction.PENDED,
        DEFAULT_QUEUE,
        "No business rule decides this service: a clinician reviews it.",
        trace=tuple(trace),
    )


def _not_applicable(rule: CompiledRule, facts: _Facts, on: dt.date) -> str | None:
    if not rule.rule.effective.covers(on):
        return f"not in force on {on.isoformat()}"
    if rule.rule.lines_of_business and not facts.lines_of_business & set(rule.rule.lines_of_business):
        return f"line of business {sorted(facts.lines_of_business) or 'unknown'} not in {list(rule.rule.lines_of_business)}"
    if rule.rule.plans and not facts.plans & set(rule.rule.plans):
        return f"plan {sorted(facts.plans) or 'unknown'} not in {list(rule.rule.plans)}"
    return None


def _conditions_hold(
    rule: CompiledRule, variables: dict[str, Any], request: PasRequest, rule_set: RuleSet, trace: list[dict[str, Any]]
) -> bool:
    for compiled in rule.conditions:
        condition = compiled.condition
        step: dict[str, Any] = {"rule": rule.id, "condition": condition.id, "expression": condition.expression}
        try:
            with expressions.scope(request.index, request.claim_entry, rule_set.valueset_coverage):
                value = compiled.evaluate({}, variables)
            step["value"] = _jsonable(value)
            holds = truth(value, condition.if_missing)
        except Exception as exc:  # an expression failing on unusual data is missing data, never a crash
            step["error"] = f"{type(exc).__name__}: {exc}"
            holds = condition.if_missing
        if value_missing(step):
            step["missing"] = True
        step["holds"] = holds
        trace.append(step)
        if not holds:
            return False
    return True


def value_missing(step: dict[str, Any]) -> bool:
    """Whether a trace step saw no data."""
    return "error" in step or step.get("value") == []


def truth(value: list[Any], if_missing: bool) -> bool:
    """FHIRPath boolean evaluation of a result: empty is missing data; a single non-boolean item is true."""
    if not value:
        return if_missing
    if len(value) == 1:
        return value[0] if isinstance(value[0], bool) else True
    raise ValueError(f"the expression gave {len(value)} values where one boolean was expected")


def _outcome(
    item: RequestedItem, rule: CompiledRule, facts: _Facts, trace: list[dict[str, Any]], version: str
) -> ItemOutcome:
    trace.append({"rule": rule.id, "applies": True, "rule_set": version})
    outcome = _action(item, rule, facts, trace)
    referral = rule.rule.referral
    return replace(
        outcome,
        rule_id=rule.id,
        trace=tuple(trace),
        referral=(referral.program, referral.reason.strip()) if referral is not None else None,
    )


def _action(item: RequestedItem, rule: CompiledRule, facts: _Facts, trace: list[dict[str, Any]]) -> ItemOutcome:
    outcome = rule.rule.outcome
    missing = tuple(doc for doc in rule.rule.documents if doc.loinc not in facts.documents)
    if rule.rule.documents:
        # What was asked for and what was absent, so the checklist (criteria.py) needs no rule set to read it.
        required = [d.loinc for d in rule.rule.documents]
        trace.append({"rule": rule.id, "documents_required": required, "documents_missing": [d.loinc for d in missing]})
    if outcome.decision == "not_required":
        return ItemOutcome(
            item.sequence, ReviewAction.NO_ACTION_REQUIRED, None, f"No authorization is required ({rule.id})."
        )
    if outcome.decision == "pend":
        reason = f"{rule.rule.description.strip()} ({rule.id})"
        if missing:
            reason += " Documents requested: " + ", ".join(d.description for d in missing) + "."
        return ItemOutcome(
            item.sequence,
            ReviewAction.PENDED,
            outcome.queue,
            reason,
            skills=outcome.skills,
            review_priority=outcome.review_priority,
            documents=missing,
        )
    fallback = outcome.fallback_queue or DEFAULT_QUEUE
    quantity = as_dict(item.element.get("quantity")).get("value")
    if outcome.max_quantity is not None and isinstance(quantity, (int, float)):
        within = quantity <= outcome.max_quantity
        trace.append({"rule": rule.id, "max_quantity": outcome.max_quantity, "requested": quantity, "holds": within})
        if not within:
            return ItemOutcome(
                item.sequence,
                ReviewAction.PENDED,
                fallback,
                f"{quantity:g} units requested; automation approves at most {outcome.max_quantity:g} ({rule.id}): "
                "a clinician reviews the request.",
            )
    if missing:
        return ItemOutcome(
            item.sequence,
            ReviewAction.PENDED,
            fallback,
            f"Approvable under {rule.id} once these documents arrive: "
            + ", ".join(d.description for d in missing)
            + ".",
            documents=missing,
        )
    return ItemOutcome(
        item.sequence,
        ReviewAction.CERTIFIED,
        None,
        f"Approved: {rule.rule.description.strip()} ({rule.id})",
        authorized_period=_authorized_period(item, outcome.authorized_days),
        fallback_queue=fallback,
        stay_days=outcome.stay_days,
        extend_days=outcome.extend_days,
    )


def _authorized_period(item: RequestedItem, days: int | None) -> tuple[str, str] | None:
    start = service_date(item.element)
    if start is None:
        return None
    if days is None:
        period = as_dict(item.element.get("servicedPeriod"))
        end = period.get("end") if isinstance(period.get("end"), str) else start
        return start[:10], str(end)[:10]
    begin = dt.date.fromisoformat(start[:10])
    return begin.isoformat(), (begin + dt.timedelta(days=days - 1)).isoformat()


def service_date(item: dict[str, Any]) -> str | None:
    """The item's service date (servicedDate, or the start of servicedPeriod)."""
    if isinstance(item.get("servicedDate"), str):
        return str(item["servicedDate"])
    start = as_dict(item.get("servicedPeriod")).get("start")
    return start if isinstance(start, str) else None


def condition_variables(item: RequestedItem, request: PasRequest) -> dict[str, Any]:
    """The %variables of a condition (rules/README.md, "Writing conditions")."""
    parties = request.parties
    requested = None
    ext = extension(item.element, "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService")
    if ext is not None:
        target = request.index.resolve_in(ext.get("valueReference"), from_entry=request.claim_entry)
        requested = target.resource if target is not None else None
    when = service_date(item.element)
    element = {k: v for k, v in item.element.items() if k != "extension"} | {
        "extension": [e for e in as_list(item.element.get("extension")) if as_dict(e).get("url") != EXT_INFO_CHANGED]
    }
    return {
        "item": ResourceNode.create_node(element, "Claim.item"),
        "claim": request.claim,
        "patient": parties.patient.resource,
        "coverage": parties.coverage.resource if parties.coverage else [],
        "bundle": request.bundle,
        "requested": requested if requested is not None else [],
        "serviceDate": when[:10] if when else [],
        "ageYears": _age(parties.patient.resource.get("birthDate"), when),
    }


def _age(birth_date: Any, on: str | None) -> int | list[Any]:
    if not isinstance(birth_date, str) or len(birth_date) < 10 or not on:
        return []
    try:
        born, day = dt.date.fromisoformat(birth_date[:10]), dt.date.fromisoformat(on[:10])
    except ValueError:
        return []
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))
