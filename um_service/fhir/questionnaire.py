"""DTR JSON: the Questionnaire a rule's questions make, its questionnaire package, and the operation's Parameters.

Questionnaires are built from the rule pack (rules/README.md, "Questions"): canonical `{base}/Questionnaire/{rule id}`,
version = the rule set's version, so a form always matches the rules that read it. They carry no CQL: a library needs
its ELM next to the CQL and only the Java translator makes ELM, so the forms are plain (no prepopulation) and the
package holds the Questionnaire and a draft QuestionnaireResponse (dtr-digest sections 2 and 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, Problem
from .elements import as_dict, as_list

DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
UCUM = "http://unitsofmeasure.org"
ORDER_TYPES = (
    "Appointment",
    "Encounter",
    "CommunicationRequest",
    "DeviceRequest",
    "MedicationRequest",
    "NutritionOrder",
    "ServiceRequest",
    "SupplyRequest",
    "VisionPrescription",
)


@dataclass(frozen=True)
class Form:
    """A rule's questions as the Questionnaire serves them."""

    rule_id: str
    title: str
    questions: tuple[Any, ...]  # decision.model.Question


def canonical(base: str, rule_id: str) -> str:
    """The canonical URL of a rule's Questionnaire (without version)."""
    return f"{base.rstrip('/')}/Questionnaire/{rule_id}"


def questionnaire(form: Form, *, base: str, version: str, date: str) -> dict[str, Any]:
    """The Questionnaire (DTR standard questionnaire) for a rule's questions."""
    return {
        "resourceType": "Questionnaire",
        "id": form.rule_id,
        "meta": {"profile": [DTR + "dtr-std-questionnaire"]},
        "url": canonical(base, form.rule_id),
        "version": version,
        "name": "".join(part.capitalize() for part in form.rule_id.replace(".", "-").split("-")),
        "title": form.title,
        "status": "active",
        "subjectType": ["Patient"],
        "date": date,
        "item": [_item(q) for q in form.questions],
    }


def _item(question: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": question.link_id,
        "text": question.text,
        "type": question.type,
        "required": question.required,
    }
    if question.options:
        item["answerOption"] = [
            {"valueCoding": {k: v for k, v in (("system", o.system), ("code", o.code), ("display", o.display)) if v}}
            for o in question.options
        ]
    if question.unit:
        item["extension"] = [{"url": UNIT, "valueCoding": {"system": UCUM, "code": question.unit}}]
    return item


def draft_response(
    questionnaire_resource: dict[str, Any], *, patient: str | None, coverage: str | None, orders: list[str]
) -> dict[str, Any]:
    """The draft QuestionnaireResponse a package carries for its Questionnaire (DTR 2.2, oper-18)."""
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"{questionnaire_resource['id']}-draft",
        "questionnaire": f"{questionnaire_resource['url']}|{questionnaire_resource['version']}",
        "status": "in-progress",
    }
    extensions = [{"url": DTR + "qr-context", "valueReference": {"reference": order}} for order in orders]
    if coverage:
        extensions.append({"url": DTR + "qr-coverage", "valueReference": {"reference": coverage}})
    if extensions:
        response["extension"] = extensions
    if patient:
        response["subject"] = {"reference": patient}
    return response


def package_bundle(questionnaire_resource: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """A DTR questionnaire package Bundle: the Questionnaire first, then its draft response."""
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [DTR + "DTR-QPackageBundle"]},
        "type": "collection",
        "entry": [{"resource": questionnaire_resource}, {"resource": response}],
    }


def package_output(bundles: list[dict[str, Any]], warnings: list[str]) -> dict[str, Any]:
    """The operation's output Parameters: one `packagebundle` per form (and the 2.0.1 name `PackageBundle`'s
    clients still read it: the name is the 2.2 one), warnings as an `outcome` OperationOutcome."""
    parameters: list[dict[str, Any]] = [{"name": "packagebundle", "resource": b} for b in bundles]
    if warnings:
        parameters.append(
            {
                "name": "outcome",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "warning", "code": "not-found", "diagnostics": w} for w in warnings],
                },
            }
        )
    return {"resourceType": "Parameters", "parameter": parameters}


@dataclass(frozen=True)
class PackageRequest:
    """What $questionnaire-package was asked for."""

    coverage: dict[str, Any] | None
    orders: tuple[dict[str, Any], ...]
    canonicals: tuple[str, ...]
    context: str | None


def read_package_request(document: Any) -> PackageRequest:
    """The operation's input Parameters, or 400 saying what is wrong (dtr-1: an order, a questionnaire or a
    context)."""
    if not isinstance(document, dict) or document.get("resourceType") != "Parameters":
        raise InvalidRequest(400, [Problem("structure", "$questionnaire-package takes a Parameters resource.")])
    coverage = None
    orders: list[dict[str, Any]] = []
    canonicals: list[str] = []
    context = None
    for parameter in as_list(document.get("parameter")):
        parameter = as_dict(parameter)
        name, resource = parameter.get("name"), as_dict(parameter.get("resource"))
        if name == "coverage" and resource.get("resourceType") == "Coverage":
            coverage = coverage or resource
        elif name == "order" and resource.get("resourceType") in ORDER_TYPES:
            orders.append(resource)
        elif name == "questionnaire" and isinstance(parameter.get("valueCanonical"), str):
            canonicals.append(parameter["valueCanonical"])
        elif name == "context":
            value = parameter.get("valueString") or parameter.get("valueId")
            context = value if isinstance(value, str) else context
    if not orders and not canonicals and not context:
        raise InvalidRequest(
            400,
            [Problem("required", "Give at least one order, questionnaire or context (dtr-1).", "Parameters.parameter")],
        )
    return PackageRequest(coverage, tuple(orders), tuple(canonicals), context)
