"""CDS Hooks JSON for the CRD face: reading a hook call, and building discovery, coverage information and cards.

Shapes follow CRD 2.2.1 (crd-digest), with the test kit's (2.0.1) differences accepted on input: its old
order-dispatch context (`order` instead of `dispatchedOrders`), its own prefetch keys (data is found by
resourceType, never by key), hookInstance values that are not UUIDs. Unknown fields are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidRequest, Problem
from .elements import as_dict, as_list
from .envelope import Limits, read_json
from .parsing import canonical_hash
from .parties import read_parties
from .pas_request import PasRequest, RequestedItem
from .references import BundleIndex, Entry

CI_URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
PRIMARY = ("appointment-book", "order-sign", "order-dispatch")
SECONDARY = ("order-select", "encounter-start", "encounter-discharge")
ORDER_TYPES = (
    "ServiceRequest",
    "DeviceRequest",
    "MedicationRequest",
    "NutritionOrder",
    "VisionPrescription",
    "CommunicationRequest",
)
_TITLES = {
    "appointment-book": "Coverage requirements when booking an appointment",
    "order-sign": "Coverage requirements when signing orders",
    "order-dispatch": "Coverage requirements when dispatching orders to a performer",
    "order-select": "Coverage requirements while choosing orders",
    "encounter-start": "Coverage reminders at the start of an encounter",
    "encounter-discharge": "Coverage reminders at discharge",
}


def service_id(hook: str) -> str:
    """The id of the service for a hook (`order-sign-crd`)."""
    return f"{hook}-crd"


def discovery() -> dict[str, Any]:
    """GET /cds-services: one service per hook, with the CRD version and configuration options."""
    services = []
    for hook in PRIMARY + SECONDARY:
        services.append(
            {
                "hook": hook,
                "id": service_id(hook),
                "title": _TITLES[hook],
                "description": f"{_TITLES[hook]}: whether prior authorization is needed and what documentation "
                "the plan asks for, from the plan's rules and member registry.",
                "prefetch": {
                    "patient": "Patient/{{context.patientId}}",
                    "coverage": "Coverage?patient={{context.patientId}}&status=active",
                },
                "extension": {
                    "davinci-crd.version": ["2.2", "2.0"],
                    "davinci-crd.configuration-options": [
                        {
                            "code": "coverage-info",
                            "type": "boolean",
                            "name": "Coverage information",
                            "description": "Return coverage information (prior authorization and documentation).",
                            "default": True,
                        },
                        {
                            "code": "max-cards",
                            "type": "integer",
                            "name": "Maximum cards",
                            "description": "The most cards to return for one call.",
                            "default": 10,
                        },
                    ],
                },
            }
        )
    return {"services": services}


@dataclass(frozen=True)
class HookRequest:
    """A hook call as the service needs it."""

    hook: str
    hook_instance: str
    context: dict[str, Any]
    resources: tuple[dict[str, Any], ...]
    configuration: dict[str, Any] = field(default_factory=dict)
    fhir_server: str | None = None
    fhir_token: str | None = None
    requested_version: str | None = None  # extension davinci-crd.requestedVersion ("2.2"); None from 2.0 clients

    @property
    def knows_indeterminate(self) -> bool:
        """Whether the client reads CRD 2.1+ codes (`indeterminate`); 2.0.1 validators reject them."""
        return (self.requested_version or "2.0") >= "2.1"

    @property
    def primary(self) -> bool:
        """Whether the hook is one whose coverage information is an update system action (hook-16)."""
        return self.hook in PRIMARY

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        """Every resource of a type the call carries (context and prefetch), first seen first."""
        return [r for r in self.resources if r.get("resourceType") == resource_type]

    def find(self, reference: Any) -> dict[str, Any] | None:
        """The resource a `Type/id` reference names, among those the call carries."""
        text = reference if isinstance(reference, str) else as_dict(reference).get("reference")
        if not isinstance(text, str) or "/" not in text:
            return None
        resource_type, rid = text.split("/")[-2:]
        return next((r for r in self.resources if r.get("resourceType") == resource_type and r.get("id") == rid), None)


def read_hook_request(body: bytes, *, hook: str, limits: Limits) -> HookRequest:
    """Parse a hook call for the service of `hook`; 400 with the reason when it is not one."""
    document = read_json(body, limits=limits)
    if not isinstance(document, dict):
        raise InvalidRequest(400, [Problem("structure", "A hook request is a JSON object.")])
    problems = []
    if document.get("hook") != hook:
        problems.append(
            Problem(
                "value", f"This service answers the {hook} hook; the request says {document.get('hook')!r}.", "hook"
            )
        )
    if not isinstance(document.get("hookInstance"), str) or not document["hookInstance"]:
        problems.append(Problem("required", "hookInstance is required.", "hookInstance"))
    context = document.get("context")
    if not isinstance(context, dict):
        problems.append(Problem("required", "context is required and is an object.", "context"))
    elif not isinstance(context.get("patientId"), str):
        problems.append(Problem("required", "context.patientId is required.", "context.patientId"))
    if problems:
        raise InvalidRequest(400, problems)
    assert isinstance(context, dict)
    resources: list[dict[str, Any]] = []
    for key in ("draftOrders", "appointments"):
        resources += bundle_resources(context.get(key))
    for value in as_dict(document.get("prefetch")).values():
        resources += bundle_resources(value)
    configuration = as_dict(as_dict(document.get("extension")).get("davinci-crd.configuration"))
    server = document.get("fhirServer")
    token = as_dict(document.get("fhirAuthorization")).get("access_token")
    version = as_dict(document.get("extension")).get("davinci-crd.requestedVersion")
    return HookRequest(
        hook,
        document["hookInstance"],
        context,
        tuple(resources),
        configuration,
        fhir_server=server if isinstance(server, str) and server else None,
        fhir_token=token if isinstance(token, str) and token else None,
        requested_version=version if isinstance(version, str) else None,
    )


def bundle_resources(value: Any) -> list[dict[str, Any]]:
    """A resource, or the resources of a Bundle (entries' `resource`), as plain dicts."""
    value = as_dict(value)
    if value.get("resourceType") == "Bundle":
        return [
            entry["resource"]
            for entry in as_list(value.get("entry"))
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
        ]
    return [value] if isinstance(value.get("resourceType"), str) else []


def judged_orders(request: HookRequest) -> list[dict[str, Any]]:
    """The orders (or appointments) the hook asks about: selections, dispatched orders, draft orders, appointments."""
    if request.hook == "appointment-book":
        return request.of_type("Appointment")
    if request.hook in ("order-select", "order-dispatch"):
        found = [request.find(ref) for ref in judged_references(request)]
        return [order for order in found if order is not None]
    if request.hook == "order-sign":
        return [r for r in bundle_resources(request.context.get("draftOrders")) if r.get("resourceType") in ORDER_TYPES]
    return []


def judged_references(request: HookRequest) -> list[str]:
    """The `Type/id` references of the orders a hook names rather than carries (order-select, order-dispatch)."""
    if request.hook == "order-select":
        refs = as_list(request.context.get("selections"))
    elif request.hook == "order-dispatch":
        refs = as_list(request.context.get("dispatchedOrders")) or [request.context.get("order")]
    else:
        return []
    texts = [ref if isinstance(ref, str) else as_dict(ref).get("reference") for ref in refs]
    return [t for t in texts if isinstance(t, str) and "/" in t and t.split("/")[-2] in ORDER_TYPES]


def order_codes(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The codings that name what an order asks for."""
    for key in ("code", "codeCodeableConcept", "medicationCodeableConcept", "serviceType", "serviceCategory"):
        concept = order.get(key)
        if isinstance(concept, list):
            concept = concept[0] if concept else None
        codings = [c for c in as_list(as_dict(concept).get("coding")) if isinstance(c, dict) and c.get("code")]
        if codings:
            return codings
    return []


def _service_date(order: dict[str, Any]) -> str | None:
    for key in ("occurrenceDateTime", "authoredOn", "start", "dateWritten"):
        if isinstance(order.get(key), str):
            return str(order[key])[:10]
    for key in ("occurrencePeriod", "requestedPeriod"):
        period = order.get(key)
        period = period[0] if isinstance(period, list) and period else period
        if isinstance(as_dict(period).get("start"), str):
            return str(as_dict(period)["start"])[:10]
    validity = as_dict(as_dict(order.get("dispenseRequest")).get("validityPeriod")).get("start")
    return str(validity)[:10] if isinstance(validity, str) else None


def _quantity(order: dict[str, Any]) -> float | None:
    for value in (
        as_dict(order.get("quantityQuantity")).get("value"),
        as_dict(as_dict(order.get("dispenseRequest")).get("quantity")).get("value"),
    ):
        if isinstance(value, (int, float)):
            return float(value)
    return None


def as_pas_request(order: dict[str, Any], patient: dict[str, Any], coverage: dict[str, Any]) -> PasRequest | None:
    """The facts a PAS item would give the rules, built from an order: one Claim item, its patient and coverage.

    None when the order names no code (there is nothing to decide).
    """
    codings = order_codes(order)
    if not codings:
        return None
    element: dict[str, Any] = {"sequence": 1, "productOrService": {"coding": codings}}
    date = _service_date(order)
    if date:
        element["servicedDate"] = date
    quantity = _quantity(order)
    if quantity is not None:
        element["quantity"] = {"value": quantity}
    diagnoses = [
        {"sequence": n, "diagnosisCodeableConcept": concept}
        for n, concept in enumerate(as_list(order.get("reasonCode")), start=1)
        if isinstance(concept, dict)
    ]
    claim = {
        "resourceType": "Claim",
        "id": "crd-order",
        "use": "preauthorization",
        "patient": {"reference": "urn:crd:patient"},
        "insurer": {"reference": "urn:crd:insurer"},
        "provider": {"reference": "urn:crd:provider"},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "urn:crd:coverage"}}],
        "diagnosis": diagnoses,
        "item": [element],
    }
    entries = [
        Entry(0, "urn:crd:claim", claim),
        Entry(1, "urn:crd:patient", patient),
        Entry(2, "urn:crd:coverage", coverage),
        Entry(3, "urn:crd:insurer", {"resourceType": "Organization", "id": "insurer"}),
        Entry(4, "urn:crd:provider", {"resourceType": "Organization", "id": "provider"}),
        Entry(5, "urn:crd:order", order),
    ]
    index = BundleIndex(entries)
    parties, _ = read_parties(index, entries[0], "Claim", require_coverage=False)
    if parties is None:
        return None
    digest = canonical_hash(element)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": e.resource} for e in entries]}
    return PasRequest(
        raw=b"",
        bundle=bundle,
        index=index,
        claim_entry=entries[0],
        parties=parties,
        items=(RequestedItem(1, element, False, None, digest),),
        prior=None,
        cancels_all=False,
        expedited=False,
        content_hash=digest,
        claim_hash=digest,
    )


@dataclass(frozen=True)
class Assertion:
    """What we assert of one order under one coverage (the coverage-information extension's content)."""

    assertion_id: str
    coverage_reference: str
    covered: str
    date: str
    pa_needed: str | None = None
    doc_needed: tuple[str, ...] = ()
    doc_purpose: tuple[str, ...] = ()
    reasons: tuple[tuple[str | None, str], ...] = ()  # (code of the CRD temp system or None, text)
    satisfied_pa_id: str | None = None
    billing_codes: tuple[dict[str, Any], ...] = ()
    questionnaires: tuple[str, ...] = ()  # DTR forms (canonical|version) that gather what documentation needs


def coverage_information(assertion: Assertion) -> dict[str, Any]:
    """The ext-coverage-information extension for an assertion."""
    parts: list[dict[str, Any]] = [
        {"url": "coverage", "valueReference": {"reference": assertion.coverage_reference}},
        {"url": "covered", "valueCode": assertion.covered},
    ]
    if assertion.pa_needed:
        parts.append({"url": "pa-needed", "valueCode": assertion.pa_needed})
    parts += [{"url": "doc-needed", "valueCode": code} for code in assertion.doc_needed]
    parts += [{"url": "doc-purpose", "valueCode": code} for code in assertion.doc_purpose]
    parts += [{"url": "billingCode", "valueCoding": coding} for coding in assertion.billing_codes]
    for code, text in assertion.reasons:
        concept: dict[str, Any] = {"text": text}
        if code:
            concept["coding"] = [{"system": CRD_TEMP, "code": code}]
        parts.append({"url": "reason", "valueCodeableConcept": concept})
    parts += [{"url": "questionnaire", "valueCanonical": url} for url in assertion.questionnaires]
    parts.append({"url": "date", "valueDate": assertion.date})
    parts.append({"url": "coverage-assertion-id", "valueString": assertion.assertion_id})
    if assertion.satisfied_pa_id:
        parts.append({"url": "satisfied-pa-id", "valueString": assertion.satisfied_pa_id})
    return {"url": CI_URL, "extension": parts}


def updated_with(order: dict[str, Any], extension: dict[str, Any]) -> dict[str, Any]:
    """The order unchanged but for its coverage-information extension (replacing any earlier one, resp-37)."""
    updated = dict(order)
    kept = [e for e in as_list(order.get("extension")) if as_dict(e).get("url") != CI_URL]
    updated["extension"] = [*kept, extension]
    return updated


def system_action(order: dict[str, Any], extension: dict[str, Any]) -> dict[str, Any]:
    """The update system action carrying coverage information (resp-25)."""
    return {
        "type": "update",
        "description": "Coverage information for this order",
        "resource": updated_with(order, extension),
    }


def instructions_card(summary: str, detail: str, *, payer: str, indicator: str = "info") -> dict[str, Any]:
    """An Instructions card: plain words for the clinician (`warning` when we could not say what is needed)."""
    return {
        "summary": summary[:139],
        "indicator": indicator,
        "detail": detail,
        "source": {"label": payer, "topic": {"system": CRD_TEMP, "code": "coverage-info", "display": "Coverage Info"}},
    }


def reference_card(summary: str, *, label: str, url: str, payer: str) -> dict[str, Any]:
    """An External Reference card: a link the clinician can open (type absolute)."""
    return {
        "summary": summary[:139],
        "indicator": "info",
        "source": {"label": payer, "topic": {"system": CRD_TEMP, "code": "coverage-info", "display": "Coverage Info"}},
        "links": [{"label": label, "url": url, "type": "absolute"}],
    }


def hook_response(cards: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The hook's answer (cards always, systemActions always, possibly empty)."""
    return {"cards": cards, "systemActions": actions}
