"""Answering a CDS Hooks call: each judged order decided with the rule pack, the registry and the plan book, as a PAS
item would be, and told back as coverage information (primary hooks) and cards.

Mapping (crd-digest section 4): member unknown -> not-covered / no-member-found; no active coverage on the date ->
not-covered / no-active-coverage; plan exclusion -> not-covered; the rules' `not_required` -> no-auth; approve or
pend -> auth-needed, with doc-needed clinical + doc-purpose withpa when a rule names documents (never on secondary
hooks, hook-19); an approved authorization of ours already covering the code on that date -> satisfied. Every
assertion is stored (crd_assertions) and cited by its id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..context import RequestContext
from ..coverage import benefits
from ..db.inserts import insert_into, table_of
from ..db.models import Case, CaseItem, CaseParty, CrdAssertion
from ..decision import ItemOutcome
from ..decision.plans import COVERAGE_INACTIVE
from ..dtr import packages
from ..fhir import cds_hooks
from ..fhir.cds_hooks import Assertion, HookRequest
from ..fhir.codes import ReviewAction
from . import ehr_fhir

_APPROVED = (ReviewAction.CERTIFIED, ReviewAction.PARTIAL, ReviewAction.MODIFIED)


@dataclass(frozen=True)
class Judged:
    """One order and what we assert of it."""

    order: dict[str, Any]
    assertion: Assertion
    summary: str
    detail: str
    member_id: str | None = None


def answer(
    session: Session,
    request: HookRequest,
    *,
    client_id: str,
    fhir_servers: Sequence[str],
    reader: ehr_fhir.EhrFhir,
    context: RequestContext,
    canonical_base: str,
) -> dict[str, Any]:
    """The hook's answer: coverage information for each judged order (primary hooks as system actions) and cards.

    What the call did not prefetch is read from the EHR's FHIR server when that server is registered for the client;
    what still cannot be had is said on a warning card (no Coverage means no coverage information, crd-digest 4).
    """
    gathered = ehr_fhir.gather(request, registered=list(fhir_servers), reader=reader)
    request = gathered.request
    patient = next(iter(request.of_type("Patient")), {"resourceType": "Patient", "id": request.context["patientId"]})
    coverages = request.of_type("Coverage")
    orders = cds_hooks.judged_orders(request)
    payer = _payer(coverages[0]) if coverages else "Health plan"
    missing = (
        [
            cds_hooks.instructions_card(
                "Coverage requirements could not be checked",
                " ".join(gathered.problems),
                payer=payer,
                indicator="warning",
            )
        ]
        if gathered.problems
        else []
    )
    if not coverages or not orders:
        return cds_hooks.hook_response(missing, [])
    judged = [_judge(session, request, order, patient, coverages[0], context) for order in orders]
    judged = [_with_forms(j, context, canonical_base) for j in judged]
    rows = [_record(request, j, client_id=client_id, now=context.now) for j in judged]
    session.connection().execute(insert_into(table_of(CrdAssertion)), rows)  # Core: the ORM's bulk path costs more
    # A 2.0 client gets no `indeterminate` coverage information (its value sets lack the code): the card says it.
    told = [j for j in judged if j.assertion.covered != "indeterminate" or request.knows_indeterminate]
    actions = [cds_hooks.system_action(j.order, cds_hooks.coverage_information(j.assertion)) for j in told]
    cards = missing + [cds_hooks.instructions_card(j.summary, j.detail, payer=payer) for j in judged]
    if any(j.assertion.pa_needed == "auth-needed" for j in judged):
        cards.append(
            cds_hooks.reference_card(
                "Services that need prior authorization with this plan",
                label="The plan's list of services requiring prior authorization",
                url=f"{context.base_url.removesuffix('/fhir')}/prior-authorization/services",
                payer=payer,
            )
        )
    if request.configuration.get("coverage-info") is False:
        actions = []
    limit = request.configuration.get("max-cards")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
        cards = cards[:limit]
    return cds_hooks.hook_response(cards, actions if request.primary else [])


def _judge(
    session: Session,
    request: HookRequest,
    order: dict[str, Any],
    patient: dict[str, Any],
    coverage: dict[str, Any],
    context: RequestContext,
) -> Judged:
    today = context.now.date()
    reference = f"Coverage/{coverage.get('id', '')}"
    make = partial(Assertion, assertion_id=str(uuid.uuid4()), coverage_reference=reference, date=today.isoformat())
    name = _name(order)
    pas = cds_hooks.as_pas_request(order, patient, coverage)
    if pas is None:
        text = (
            "The order names no service code, so the plan's rules cannot say whether it needs prior authorization."
            if not cds_hooks.order_codes(order)
            else "The order's patient or coverage could not be read, so the plan's rules cannot be applied."
        )
        assertion = make(covered="indeterminate", pa_needed="indeterminate", reasons=((None, text),))
        return Judged(order, assertion, f"{name}: coverage requirements unknown", text)
    day = benefits.first_day(pas, today)
    membership = benefits.look_up(session, pas, context, on=day)
    member_id = min(pas.parties.member_ids, default=None)
    if membership.unknown:
        looked_for = ", ".join(sorted(pas.parties.member_ids)) or "none given"
        text = f"No member of this plan has the member id given ({looked_for})."
        assertion = make(covered="not-covered", reasons=(("no-member-found", text),))
        return Judged(order, assertion, f"{name}: member not found", text, member_id)
    outcome = benefits.decide(session, pas, membership, context, received=context.now)[1]
    member_ids = membership.member_ids or pas.parties.member_ids
    judged = _from_outcome(session, request, order, name, outcome, member_ids, day, make)
    return replace(judged, member_id=member_id)


def _from_outcome(
    session: Session,
    request: HookRequest,
    order: dict[str, Any],
    name: str,
    outcome: ItemOutcome,
    member_ids: frozenset[str],
    day: dt.date,
    make: Callable[..., Assertion],
) -> Judged:
    if outcome.kind == benefits.ADMINISTRATIVE:
        inactive = any(step.get("administrative") == COVERAGE_INACTIVE for step in outcome.trace)
        code = "no-active-coverage" if inactive else None
        assertion = make(covered="not-covered", reasons=((code, outcome.reason),))
        return Judged(order, assertion, f"{name}: not covered", outcome.reason)
    if outcome.action == ReviewAction.NO_ACTION_REQUIRED:
        assertion = make(covered="covered", pa_needed="no-auth")
        return Judged(order, assertion, f"{name}: no prior authorization needed", outcome.reason)
    codes = [c.get("code") for c in cds_hooks.order_codes(order)]
    satisfied = _authorization_covering(session, member_ids, codes, day)
    if satisfied is not None:
        text = f"Authorization {satisfied} already covers this service on {day.isoformat()}."
        assertion = make(covered="covered", pa_needed="satisfied", satisfied_pa_id=satisfied)
        return Judged(order, assertion, f"{name}: authorized ({satisfied})", text)
    documents = outcome.documents if request.primary else ()
    if documents:
        wanted = "; ".join(f"{d.description} (LOINC {d.loinc})" for d in documents)
        text = f"Prior authorization is needed. Send with the request: {wanted}."
        if outcome.rule_id and outcome.queue is not None and "once these documents arrive" in outcome.reason:
            text += " With these documents the plan approves the request at once."
        assertion = make(
            covered="covered",
            pa_needed="auth-needed",
            doc_needed=("clinical",),
            doc_purpose=("withpa",),
            reasons=((None, text),),
        )
        return Judged(order, assertion, f"{name}: prior authorization and documents needed", text)
    text = "Prior authorization is needed: submit a prior authorization request (PAS) for this service."
    if outcome.action == ReviewAction.CERTIFIED:
        text += " The plan's rules approve it on receipt."
    assertion = make(covered="covered", pa_needed="auth-needed")
    return Judged(order, assertion, f"{name}: prior authorization needed", text)


def _with_forms(judged: Judged, context: RequestContext, base: str) -> Judged:
    """Name the DTR forms (questionnaire canonicals) that can gather what a documentation-needed order lacks."""
    if not judged.assertion.doc_needed:
        return judged
    codes = [(str(c.get("system", "")), str(c.get("code"))) for c in cds_hooks.order_codes(judged.order)]
    found = packages.canonicals_for(context.rules, codes, base=base, today=context.now.date())
    if not found:
        return judged
    text = f"{judged.detail} Or complete the plan's questionnaire (DTR): its answers can approve the request at once."
    assertion = replace(judged.assertion, questionnaires=found, reasons=((None, text),))
    return replace(judged, assertion=assertion, detail=text)


# Built once: a hook call only binds the member ids, codes and day (building the statement cost more than running it).
_COVERING = (
    select(Case.preauth_ref)
    .select_from(CaseItem)
    .join(Case, Case.id == CaseItem.case_id)
    .where(
        CaseItem.case_id.in_(
            select(CaseParty.case_id).where(
                CaseParty.role == "member", CaseParty.value.in_(bindparam("members", expanding=True))
            )
        ),
        CaseItem.review_action.in_(_APPROVED),
        CaseItem.product_code.in_(bindparam("codes", expanding=True)),
        CaseItem.authorized_start <= bindparam("day"),
        CaseItem.authorized_end >= bindparam("day"),
    )
    .limit(1)
)


def _authorization_covering(session: Session, member_ids: frozenset[str], codes: list[Any], day: dt.date) -> str | None:
    """The preauth number of an approved item of the member's that covers one of the codes on that day."""
    codes = [c for c in codes if isinstance(c, str)]
    if not member_ids or not codes:
        return None
    found = session.scalar(_COVERING, {"members": sorted(member_ids), "codes": codes, "day": day.isoformat()})
    return str(found) if found is not None else None


def _record(request: HookRequest, judged: Judged, *, client_id: str, now: dt.datetime) -> dict[str, Any]:
    """The crd_assertions row of an answer: who asked, about which order and codes, for which member, and what."""
    order = judged.order
    a = judged.assertion
    return {
        "id": a.assertion_id,
        "client_id": client_id,
        "hook": request.hook,
        "hook_instance": request.hook_instance[:200],
        "member_id": (judged.member_id or "")[:100] or None,
        "coverage": a.coverage_reference[:500],
        "order": f"{order.get('resourceType')}/{order.get('id', '')}"[:500],
        "codes": [f"{c.get('system', '')}|{c.get('code')}" for c in cds_hooks.order_codes(order)],
        "answer": cds_hooks.coverage_information(a),
        "created_at": now,
    }


def _name(order: dict[str, Any]) -> str:
    codings = cds_hooks.order_codes(order)
    if not codings:
        return str(order.get("resourceType"))
    first = codings[0]
    return str(first.get("display") or first.get("code"))


def _payer(coverage: dict[str, Any]) -> str:
    for payor in coverage.get("payor") or []:
        if isinstance(payor, dict) and isinstance(payor.get("display"), str):
            return str(payor["display"])
    return "Health plan"
