"""The CRD face: CDS Hooks discovery and one service per hook (`/cds-services/{hook}-crd`).

Hook calls are trusted by the CDS Hooks JWT of a registered EHR client (auth/cds_hooks.py), not by our access
tokens; discovery is public. Refusals are OperationOutcome bodies (hook-10).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ..auth import cds_hooks as trust
from ..auth.clients import ClientError
from ..crd import hooks
from ..errors import NotFound, Unauthenticated
from ..fhir import cds_hooks
from ..reports import cms
from .deps import ContextDep, SessionDep, WorkDep, read_body

log = logging.getLogger(__name__)
router = APIRouter(tags=["CRD (CDS Hooks)"])
_HOOKS = {cds_hooks.service_id(hook): hook for hook in cds_hooks.PRIMARY + cds_hooks.SECONDARY}
_LIMIT = 5 * 1024 * 1024


@router.get("/cds-services", name="cds_services")
def discovery() -> dict[str, Any]:
    """The CDS services: one per hook, with the CRD version and configuration options."""
    return cds_hooks.discovery()


@router.get("/prior-authorization/services", name="pa_services")
def services_requiring_authorization(request: Request) -> dict[str, Any]:
    """The public list of services requiring prior authorization (CMS-0057-F), from the rule pack in force."""
    rules = request.app.state.rules.current
    return {"rule_set": rules.version, "services": cms.services_requiring_authorization(rules)}


def _trusted(request: Request, session: SessionDep, context: ContextDep) -> trust.TrustedEhr:
    # First of the hook's dependencies: a call without a good JWT learns nothing else (not even 404 or 415).
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        log.warning("hook call refused", extra={"reason": "no JWT"})
        raise Unauthenticated("A hook call carries the EHR's CDS Hooks JWT: Authorization: Bearer <JWT>.")
    audience = _service_url(request)
    try:
        _, client = trust.verify(
            session,
            token.strip(),
            audience=audience,
            now=context.now,
            jwks=request.app.state.jwks,
            clients=request.app.state.ehr_clients,
        )
    except ClientError as exc:
        reason = exc.problems[0].diagnostics if exc.problems else str(exc)
        log.warning("hook call refused", extra={"reason": reason})
        raise Unauthenticated(f"The hook JWT was refused: {reason}") from exc
    return client


async def _hook_body(request: Request) -> bytes:
    # Read on the event loop; the hook itself runs in the thread pool (it may read from the EHR's FHIR server).
    return await read_body(request, accepted=("application/json",), limit=_LIMIT)


@router.post(
    "/cds-services/{service_id}",
    name="cds_hook",
    responses={400: {"description": "Not a hook request"}, 401: {"description": "JWT refused"}},
)
async def call_hook(
    service_id: str,
    request: Request,
    client: Annotated[trust.TrustedEhr, Depends(_trusted)],
    body: Annotated[bytes, Depends(_hook_body)],
    work: WorkDep,
    context: ContextDep,
) -> dict[str, Any]:
    """Answer a hook call with coverage information (system actions on primary hooks) and cards."""
    hook = _HOOKS.get(service_id)
    if hook is None:
        raise NotFound(f"no CDS service {service_id!r}; GET /cds-services lists them")

    def answer(session: Session) -> dict[str, Any]:
        hook_request = cds_hooks.read_hook_request(body, hook=hook, limits=context.limits)
        return hooks.answer(
            session,
            hook_request,
            client_id=client.id,
            fhir_servers=client.fhir_servers,  # the bases its registration allows reading from
            reader=request.app.state.ehr_fhir,  # may ask the EHR's FHIR server: in the thread, like the rest
            context=context,
            canonical_base=request.app.state.settings.canonical_base,
        )

    return await work.run(answer)


def _service_url(request: Request) -> str:
    """The URL the EHR called (the JWT's aud), under the configured public base when there is one."""
    base = request.app.state.settings.public_base_url
    if base:
        root = str(base).rstrip("/").removesuffix("/fhir")
        return f"{root}{request.url.path}"
    return str(request.url).split("?", 1)[0]
