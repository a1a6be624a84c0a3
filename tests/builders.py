"""Small builders of PAS request Bundles for tests: a valid request, and updates of one.

Items default to CPT 27447 (total knee arthroplasty), which no shipped rule decides, so they pend to review.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
X12 = "https://codesystem.x12.org/005010/"
CPT = "http://www.ama-assn.org/go/cpt"

PATIENT_URL = "urn:uuid:5c0b1d66-0a56-4f0e-9d0e-0b7d1f0a0001"
COVERAGE_URL = "urn:uuid:5c0b1d66-0a56-4f0e-9d0e-0b7d1f0a0002"
INSURER_URL = "urn:uuid:5c0b1d66-0a56-4f0e-9d0e-0b7d1f0a0003"
PROVIDER_URL = "urn:uuid:5c0b1d66-0a56-4f0e-9d0e-0b7d1f0a0004"


def item(
    sequence: int, code: str = "72148", *, system: str = CPT, quantity: int = 1, date: str = "2026-12-01"
) -> dict[str, Any]:
    """A PAS Claim.item requesting one service."""
    return {
        "extension": [
            {
                "url": PAS + "extension-serviceItemRequestType",
                "valueCodeableConcept": {"coding": [{"system": X12 + "1525", "code": "HS"}]},
            },
            {
                "url": PAS + "extension-certificationType",
                "valueCodeableConcept": {"coding": [{"system": X12 + "1322", "code": "I"}]},
            },
            {
                "url": PAS + "extension-itemTraceNumber",
                "valueIdentifier": {"system": "urn:test:item-trace", "value": f"TRACE-{sequence}"},
            },
        ],
        "sequence": sequence,
        "category": {"coding": [{"system": X12 + "1365", "code": "1"}]},
        "productOrService": {"coding": [{"system": system, "code": code}]},
        "servicedDate": date,
        "quantity": {"value": quantity},
        "locationCodeableConcept": {
            "coding": [
                {
                    "system": "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
                    "code": "22",
                }
            ]
        },
    }


def request_bundle(
    *,
    identifier: str = "REQ-0001",
    items: list[dict[str, Any]] | None = None,
    member_id: str = "MBR-1001",
    provider_npi: str = "1234567893",
    insurer_id: str = "PAYER-01",
    priority: str = "normal",
    claim_id: str = "claim-1",
    transaction: str | None = None,
) -> dict[str, Any]:
    """A valid PAS request Bundle (urn:uuid fullUrls) with the given items."""
    claim_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, claim_id + identifier)}"
    claim = {
        "resourceType": "Claim",
        "id": claim_id,
        "identifier": [{"system": "urn:trnorg:9012345678", "value": identifier}],
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "preauthorization",
        "patient": {"reference": PATIENT_URL},
        "created": "2026-11-20T10:00:00Z",
        "insurer": {"reference": INSURER_URL},
        "provider": {"reference": PROVIDER_URL},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": priority}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": COVERAGE_URL}}],
        "diagnosis": [
            {
                "sequence": 1,
                "diagnosisCodeableConcept": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.16"}]
                },
            }
        ],
        "item": items if items is not None else [item(1)],
    }
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:test:transaction", "value": transaction or f"TX-{identifier}"},
        "type": "collection",
        "timestamp": "2026-11-20T10:00:00Z",
        "entry": [
            {"fullUrl": claim_url, "resource": claim},
            {
                "fullUrl": PATIENT_URL,
                "resource": {
                    "resourceType": "Patient",
                    "id": "patient-1",
                    "identifier": [
                        {
                            "type": {
                                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]
                            },
                            "system": "urn:test:member",
                            "value": member_id,
                        }
                    ],
                    "name": [{"family": "Doe", "given": ["Jane"]}],
                    "gender": "female",
                    "birthDate": "1970-01-01",
                },
            },
            {
                "fullUrl": COVERAGE_URL,
                "resource": {
                    "resourceType": "Coverage",
                    "id": "coverage-1",
                    "status": "active",
                    "identifier": [
                        {
                            "type": {
                                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]
                            },
                            "system": "urn:test:member",
                            "value": member_id,
                        }
                    ],
                    "subscriberId": member_id,
                    "beneficiary": {"reference": PATIENT_URL},
                    "relationship": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                                "code": "self",
                            }
                        ]
                    },
                    "payor": [{"reference": INSURER_URL}],
                },
            },
            {
                "fullUrl": INSURER_URL,
                "resource": {
                    "resourceType": "Organization",
                    "id": "insurer-1",
                    "name": "Test Health Plan",
                    "identifier": [{"system": "urn:test:payer-id", "value": insurer_id}],
                    "type": [{"coding": [{"system": X12 + "98", "code": "PR"}]}],
                },
            },
            {
                "fullUrl": PROVIDER_URL,
                "resource": {
                    "resourceType": "Organization",
                    "id": "provider-1",
                    "name": "Test Clinic",
                    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": provider_npi}],
                    "type": [{"coding": [{"system": X12 + "98", "code": "X3"}]}],
                },
            },
        ],
    }


def claim_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Claim (entry 0) of a request Bundle."""
    resource: dict[str, Any] = bundle["entry"][0]["resource"]
    return resource


def update_of(
    previous: dict[str, Any],
    *,
    claim_id: str,
    items: list[dict[str, Any]],
    identifier: str | None = None,
    cancel_all: bool = False,
) -> dict[str, Any]:
    """A PAS Claim Update of `previous`: the new Claim first, the previous Claim included and named in related."""
    bundle = copy.deepcopy(previous)
    prior_entry = copy.deepcopy(previous["entry"][0])
    claim = copy.deepcopy(prior_entry["resource"])
    claim.pop("related", None)
    claim["id"] = claim_id
    if identifier is not None:
        claim["identifier"] = [{"system": "urn:trnorg:9012345678", "value": identifier}]
    claim["item"] = items
    claim["related"] = [
        {
            "claim": {"reference": prior_entry["fullUrl"]},
            "relationship": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship",
                        "code": "prior",
                    }
                ]
            },
        }
    ]
    if cancel_all:
        claim["extension"] = [
            {
                "url": PAS + "extension-certificationType",
                "valueCodeableConcept": {"coding": [{"system": X12 + "1322", "code": "3"}]},
            }
        ]
    new_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, claim_id)}"
    others = [e for e in previous["entry"][1:] if e["resource"]["resourceType"] != "Claim"]
    bundle["entry"] = [{"fullUrl": new_url, "resource": claim}, prior_entry, *others]
    bundle["identifier"] = {"system": "urn:test:transaction", "value": f"TX-{claim_id}"}
    return bundle


def changed(element: dict[str, Any], mode: str) -> dict[str, Any]:
    """The item marked infoChanged = mode ('added' or 'changed')."""
    element = copy.deepcopy(element)
    element["extension"] = [e for e in element["extension"] if not e["url"].endswith("infoChanged")]
    element["extension"].append({"url": PAS + "extension-infoChanged", "valueCode": mode})
    return element


def cancelled(element: dict[str, Any]) -> dict[str, Any]:
    """The item marked cancelled (infoCancelled modifier + certificationType 3)."""
    element = changed(element, "changed")
    for ext in element["extension"]:
        if ext["url"].endswith("certificationType"):
            ext["valueCodeableConcept"] = {"coding": [{"system": X12 + "1322", "code": "3"}]}
    element["modifierExtension"] = [{"url": PAS + "modifierextension-infoCancelled", "valueBoolean": True}]
    return element
