"""FHIR Subscription routes (PAS 2.2 R4 backport): create (201, status requested, handshake queued), read, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..db.models import Subscription
from ..notify import subscriptions
from .deps import ContextDep, FhirAccept, FhirBody, SessionDep, SettingsDep
from .errors import FHIR_JSON, fhir_response

router = APIRouter(prefix="/fhir", tags=["FHIR (PAS 2.2)"], dependencies=[FhirAccept])
_RESOURCE = {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}
_OUTCOME = {"description": "OperationOutcome", **_RESOURCE}


@router.post(
    "/Subscription",
    status_code=201,
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {FHIR_JSON: {"schema": {"type": "object", "title": "Subscription"}}},
        }
    },
    responses={
        201: {"description": "Subscription accepted as 'requested'; the handshake follows", **_RESOURCE},
        400: _OUTCOME,
        415: _OUTCOME,
        422: _OUTCOME,
    },
)
def create_subscription(
    body: FhirBody, request: Request, session: SessionDep, context: ContextDep, settings: SettingsDep
) -> Response:
    """Subscribe to PAS results: the PAS topic, an org-identifier filter, rest-hook, full-resource."""
    resource = subscriptions.create(
        session,
        raw=body,
        owner=context.submitter,
        organization=context.organization,
        now=context.now,
        base_url=context.base_url,
        max_depth=settings.max_json_depth,
    )
    return fhir_response(201, resource, {"Location": f"{context.base_url}/Subscription/{resource['id']}"})


def _subscription(subscription_id: str, session: SessionDep, context: ContextDep) -> Subscription:
    """The caller's own subscription named in the path, or 404 (another's is not known either)."""
    return subscriptions.get(session, subscription_id, owner=context.submitter)


SubscriptionDep = Annotated[Subscription, Depends(_subscription)]


@router.get(
    "/Subscription/{subscription_id}",
    response_class=Response,
    responses={200: {"description": "The Subscription with its current status", **_RESOURCE}, 404: _OUTCOME},
)
def read_subscription(subscription: SubscriptionDep) -> Response:
    """A subscription with its status (requested, active, error, off)."""
    return fhir_response(200, subscriptions.as_resource(subscription))


@router.delete(
    "/Subscription/{subscription_id}",
    response_class=Response,
    responses={200: {"description": "The Subscription, now off", **_RESOURCE}, 404: _OUTCOME},
)
def delete_subscription(subscription: SubscriptionDep, context: ContextDep) -> Response:
    """End a subscription: nothing more is sent to it."""
    subscriptions.turn_off(subscription, now=context.now)
    return fhir_response(200, subscriptions.as_resource(subscription))
