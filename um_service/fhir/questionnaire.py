"""DTR JSON: the Questionnaire a rule's questions make, its questionnaire package, and the operation's Parameters.

Questionnaires are built from the rule pack (rules/README.md, "Questions"): canonical `{base}/Questionnaire/{rule id}`,
version = the rule set's version, so a form always matches the rules that read it. They carry no CQL: a library needs
its ELM next to the CQL and only the Java translator makes ELM, so the forms are plain (no prepopulation) and the
package holds the Questionnaire and a draft QuestionnaireResponse (dtr-digest sections 2 and 4).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def questionnaire_responses(resources: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The QuestionnaireResponses among resources, looking one level into Bundles (a DTR QuestionnaireResponse
    Bundle)."""
    for resource in resources:
        if resource.get("resourceType") == "QuestionnaireResponse":
            yield resource
        elif resource.get("resourceType") == "Bundle":
            for entry in as_list(resource.get("entry")):
                inner = as_dict(as_dict(entry).get("resource"))
                if inner.get("resourceType") == "QuestionnaireResponse":
                    yield inner


def answered_items(response: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(item, answer) for every answer a QuestionnaireResponse gives, at any depth, in document order."""
    stack = [as_dict(i) for i in reversed(as_list(response.get("item")))]
    while stack:
        item = stack.pop()
        nested: list[dict[str, Any]] = []
        for answer in map(as_dict, as_list(item.get("answer"))):
            yield item, answer
            nested += map(as_dict, as_list(answer.get("item")))
        nested += map(as_dict, as_list(item.get("item")))
        stack += reversed(nested)


def answer_value(answer: dict[str, Any]) -> Any:
    """What a condition reads of an answer: the value; a coded answer's code, a quantity's number."""
    for key, value in answer.items():
        if key == "valueCoding":
            return as_dict(value).get("code")
        if key == "valueQuantity":
            return as_dict(value).get("value")
        if key.startswith("value"):
            return value
    return None


ADAPTIVE = SDC + "sdc-questionnaire-questionnaireAdaptive"
_VALUE_KEYS = {
    "boolean": ("valueBoolean",),
    "integer": ("valueInteger",),
    "decimal": ("valueDecimal", "valueInteger"),
    "date": ("valueDate",),
    "choice": ("valueCoding",),
    "string": ("valueString",),
}


@dataclass(frozen=True)
class AdaptiveResponse:
    """A $next-question input: the QuestionnaireResponse, its contained Questionnaire and the form it derives from."""

    response: dict[str, Any]
    questionnaire: dict[str, Any]
    derived_from: str  # canonical, possibly url|version

    def answers(self) -> dict[str, dict[str, Any]]:
        """Link id -> the first answer given (its value element), from every level of the response."""
        found: dict[str, dict[str, Any]] = {}
        for item, answer in answered_items(self.response):
            value = {k: v for k, v in answer.items() if k.startswith("value")}
            if value and isinstance(item.get("linkId"), str):
                found.setdefault(item["linkId"], value)
        return found


def read_next_question(document: Any) -> AdaptiveResponse:
    """The `questionnaire-response` of a $next-question call (or a bare QuestionnaireResponse), or 400."""
    response = as_dict(document)
    if response.get("resourceType") == "Parameters":
        named = [
            as_dict(p).get("resource")
            for p in as_list(response.get("parameter"))
            if as_dict(p).get("name") == "questionnaire-response"
        ]
        response = as_dict(named[0]) if named else {}
    if response.get("resourceType") != "QuestionnaireResponse":
        raise InvalidRequest(
            400,
            [Problem("required", "$next-question takes Parameters with a 'questionnaire-response' resource.")],
        )
    reference = str(response.get("questionnaire") or "")
    contained = [as_dict(r) for r in as_list(response.get("contained"))]
    questionnaire = next(
        (r for r in contained if r.get("resourceType") == "Questionnaire" and f"#{r.get('id')}" == reference), None
    )
    if questionnaire is None:
        raise InvalidRequest(
            400,
            [
                Problem(
                    "required",
                    "An adaptive QuestionnaireResponse cites its contained Questionnaire ('questionnaire': '#id').",
                    "QuestionnaireResponse.questionnaire",
                )
            ],
        )
    derived = [d for d in as_list(questionnaire.get("derivedFrom")) if isinstance(d, str)]
    if not derived:
        raise InvalidRequest(
            400,
            [
                Problem(
                    "required",
                    "The contained Questionnaire names the form in derivedFrom.",
                    "Questionnaire.derivedFrom",
                )
            ],
        )
    return AdaptiveResponse(response, questionnaire, derived[0])


def answer_problems(question: Any, value: dict[str, Any]) -> list[str]:
    """What is wrong with an answer to a question (empty when it fits the question's type and options)."""
    keys = _VALUE_KEYS[question.type]
    key = next(iter(value))
    if len(value) != 1 or key not in keys:
        return [f"'{question.link_id}' takes {' or '.join(keys)}; got {', '.join(value)}"]
    if question.type == "choice":
        code = as_dict(value[key]).get("code")
        codes = [o.code for o in question.options]
        if code not in codes:
            return [f"'{question.link_id}' takes one of {', '.join(codes)}; got {code!r}"]
    if question.type in ("integer", "decimal") and (isinstance(value[key], bool) or value[key] < 0):
        return [f"'{question.link_id}' takes a number of 0 or more; got {value[key]!r}"]
    return []


def asked(adaptive: AdaptiveResponse, question: Any) -> dict[str, Any]:
    """The response with the next question added to its contained Questionnaire (and an empty item for it)."""
    response = dict(adaptive.response)
    questionnaire = dict(adaptive.questionnaire)
    questionnaire["item"] = [*as_list(questionnaire.get("item")), _item(question)]
    response["contained"] = [
        questionnaire if as_dict(r).get("id") == questionnaire.get("id") else r
        for r in as_list(response.get("contained"))
    ]
    response["status"] = "in-progress"
    return response


def completed(adaptive: AdaptiveResponse, information: dict[str, Any] | None) -> dict[str, Any]:
    """The response marked completed, with the coverage information the answers lead to (when a coverage is named)."""
    response = dict(adaptive.response)
    response["status"] = "completed"
    if information is not None:
        kept = [e for e in as_list(response.get("extension")) if as_dict(e).get("url") != information["url"]]
        response["extension"] = [*kept, information]
    return response


def coverage_of(response: dict[str, Any]) -> str | None:
    """The Coverage a DTR response names (qr-coverage)."""
    for extension in as_list(response.get("extension")):
        extension = as_dict(extension)
        if extension.get("url") == DTR + "qr-coverage":
            reference = as_dict(extension.get("valueReference")).get("reference")
            return reference if isinstance(reference, str) else None
    return None


def next_question_output(response: dict[str, Any]) -> dict[str, Any]:
    """$next-question's output Parameters."""
    return {"resourceType": "Parameters", "parameter": [{"name": "return", "resource": response}]}
