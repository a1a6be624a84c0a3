"""The CapabilityStatement at /metadata: exactly what this server implements, nothing more."""

from __future__ import annotations

from typing import Any

from .codes import OPERATION_INQUIRE, OPERATION_SUBMIT

FHIR_JSON = "application/fhir+json"


def capability_statement(*, base_url: str, token_url: str, software_version: str, published: str) -> dict[str, Any]:
    """A CapabilityStatement for this instance."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": published,
        "publisher": "um-service",
        "kind": "instance",
        "software": {"name": "um-service", "version": software_version},
        "implementation": {
            "description": "Payer-side prior authorization (Da Vinci PAS 2.2)",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json", "application/json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Da Vinci PAS 2.2 payer endpoint. Requests are application/fhir+json; errors are "
                "OperationOutcome resources. Business refusals are ClaimResponses with outcome 'error'.",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer tokens from OAuth 2.0 client credentials (SMART Backend Services: a "
                    "private_key_jwt client assertion, or a client secret for portals). Discovery at "
                    "/.well-known/smart-configuration.",
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                },
                "operation": [
                    {
                        "name": "submit-attachment",
                        "definition": "http://hl7.org/fhir/us/davinci-cdex/OperationDefinition/submit-attachment",
                        "documentation": "CDex attachments for a pended prior authorization request: TrackingId "
                        "(or AdminRefNumber) = the request's reference number (PA-...), MemberId and the caller's "
                        "organisation must match. Content: DocumentReference or Binary with inline data (PDF, "
                        "PNG, JPEG, TIFF, plain text, XML/C-CDA; the bytes must match the declared type; at most "
                        "3 MB each, 413 past it), QuestionnaireResponse or a DTR QuestionnaireResponse Bundle. "
                        "Final is supported: false waits for more; the waiting items are decided again once every "
                        "requested document is here or Final arrives. 200 when matched, 202 when held.",
                    }
                ],
                "resource": [
                    {
                        "type": "Claim",
                        "operation": [
                            {
                                "name": "submit",
                                "definition": OPERATION_SUBMIT,
                                "documentation": "Submit a PAS Request Bundle (initial request, Claim Update or "
                                "cancellation); answered with a PAS Response Bundle.",
                            },
                            {
                                "name": "inquire",
                                "definition": OPERATION_INQUIRE,
                                "documentation": "Inquire about earlier requests with a PAS Inquiry Request Bundle; "
                                "answered with Parameters holding one PAS Inquiry Response Bundle per match.",
                            },
                        ],
                    },
                    {
                        "type": "Questionnaire",
                        "operation": [
                            {
                                "name": "questionnaire-package",
                                "definition": "http://hl7.org/fhir/us/davinci-dtr/OperationDefinition/"
                                "questionnaire-package",
                                "documentation": "DTR questionnaire packages (also at the base): the forms the rules "
                                "read answers from, chosen by order codes, canonical or CRD coverage-assertion-id. "
                                "Plain forms: no CQL libraries and no prepopulation (ELM is not produced here); "
                                "each package holds the Questionnaire and a draft QuestionnaireResponse.",
                            },
                            {
                                "name": "next-question",
                                "definition": "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question",
                                "documentation": "Adaptive forms: a QuestionnaireResponse whose contained Questionnaire "
                                "derives from one of our forms gets the next question whose answer can still change "
                                "the rules' decision, or comes back completed with coverage information.",
                            },
                        ],
                    },
                    {
                        "type": "Subscription",
                        "supportedProfile": [
                            "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-subscription",
                            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription",
                        ],
                        "interaction": [{"code": "create"}, {"code": "read"}, {"code": "delete"}],
                        "documentation": "PAS topic subscriptions (R4 backport): filter org-identifier, rest-hook "
                        "channel, full-resource payload. A handshake is sent to the endpoint after creation.",
                    },
                    {
                        "type": "ClaimResponse",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "versioning": "versioned",
                        "readHistory": False,
                        "conditionalRead": "not-match",
                        "searchParam": [
                            {
                                "name": "identifier",
                                "type": "token",
                                "documentation": "The request's Claim.identifier, or our preAuthRef.",
                            },
                            {
                                "name": "patient",
                                "type": "reference",
                                "documentation": "Only the chained form patient.identifier (patient or member id).",
                            },
                            {"name": "status", "type": "token"},
                            {"name": "_count", "type": "number", "documentation": "Page size, at most 100."},
                            {
                                "name": "_offset",
                                "type": "number",
                                "documentation": "How many matches to skip (the next link carries it).",
                            },
                        ],
                    },
                ],
            }
        ],
    }
