"""Reading what a hook call did not prefetch from the EHR's FHIR server (crd-digest section 3, "Fallback").

The `fhirServer` URL comes from the caller, so it is only ever contacted when it is one of the FHIR bases registered
for that EHR client (`um-service clients add ... --fhir-server URL`), and even then never at a loopback, private,
link-local or otherwise non-public address: the connection is made to the address that was checked (a name that
resolves elsewhere between check and connect cannot slip through). Redirects are not followed; every read is bounded
in time and size. The EHR's `fhirAuthorization` token is sent to that server only. A read that fails is reported in
plain words for the answer (the hook is still answered, never with a 500).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

import httpcore
import httpx
import orjson

from ..fhir.cds_hooks import HookRequest, bundle_resources, judged_orders, judged_references

TIMEOUT = httpx.Timeout(3.0, connect=2.0)
MAX_BYTES = 2 * 1024 * 1024
FHIR_JSON = "application/fhir+json"


class _PublicAddressesOnly(httpcore.SyncBackend):
    """Connects only to public (global) addresses, to the very address it checked."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        addresses = [str(info[4][0]) for info in found]
        for address in addresses:
            if not ipaddress.ip_address(address.split("%")[0]).is_global:
                raise httpcore.ConnectError(f"{host} is at {address}, not a public address")
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


def public_only_transport() -> httpx.HTTPTransport:
    """An httpx transport whose connections go to public addresses only."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(  # the one hook httpx leaves for a network backend
        ssl_context=httpx.create_ssl_context(), network_backend=_PublicAddressesOnly()
    )
    return transport


def same_base(url: str) -> str:
    """A FHIR base as compared with the registered ones: scheme and host in lower case, no trailing slash."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def check_base(url: str) -> str | None:
    """Why a URL cannot be registered as an EHR's FHIR base, or None when it can."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"FHIR server {url!r} is not an http(s) URL"
    if parts.username or parts.password or parts.query or parts.fragment:
        return f"FHIR server {url!r} carries credentials, a query or a fragment; give the base URL only"
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        return f"FHIR server {url!r} is on this machine; only public addresses are read"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return f"FHIR server {url!r} is at a non-public address; only public addresses are read"
    return None


@dataclass
class EhrFhir:
    """Reads resources from EHR FHIR servers (one shared pooled client; tests mock it with respx)."""

    _http: httpx.Client = field(
        default_factory=lambda: httpx.Client(transport=public_only_transport(), timeout=TIMEOUT, follow_redirects=False)
    )

    def read(self, url: str, token: str | None) -> tuple[dict[str, Any] | None, str | None]:
        """The JSON resource at `url`, or None and why not."""
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with self._http.stream("GET", url, headers=headers) as answer:
                if answer.status_code != 200:
                    return None, f"answered HTTP {answer.status_code}"
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        return None, f"sent more than {MAX_BYTES // (1024 * 1024)} MB"
        except httpx.TimeoutException:
            return None, "did not answer in time"
        except httpx.HTTPError as exc:
            return None, f"could not be reached ({exc})"
        try:
            resource = orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            return None, "did not send JSON"
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            return None, "did not send a FHIR resource"
        return resource, None

    def close(self) -> None:
        self._http.close()


@dataclass(frozen=True)
class Gathered:
    """The hook call with what was read from the EHR, and why anything still missing is missing."""

    request: HookRequest
    problems: tuple[str, ...] = ()


def gather(request: HookRequest, *, registered: list[str], reader: EhrFhir) -> Gathered:
    """Read the Coverage and referenced orders the call lacks from its fhirServer, when that is allowed."""
    wanted = _wanted(request)
    if not wanted:
        return Gathered(request)
    server = request.fhir_server
    if not server:
        return Gathered(request, (f"The EHR sent no {_names(wanted)} and no FHIR server to read them from.",))
    if same_base(server) not in {same_base(base) for base in registered}:
        return Gathered(
            request,
            (
                f"The EHR sent no {_names(wanted)}, and its FHIR server {server} is not one registered for it; "
                "it was not contacted.",
            ),
        )
    base = server.rstrip("/")
    found: list[dict[str, Any]] = []
    problems: list[str] = []
    for what, path in wanted:
        resource, why = reader.read(f"{base}/{path}", request.fhir_token)
        if why is not None or resource is None:
            problems.append(f"The {what} could not be read from the EHR: {server} {why}.")
            continue
        found += [r for r in bundle_resources(resource) if r.get("status", "active") == "active" or what != "Coverage"]
    return Gathered(replace(request, resources=request.resources + tuple(found)), tuple(problems))


def _wanted(request: HookRequest) -> list[tuple[str, str]]:
    """(what, relative URL) for each thing the call lacks."""
    references = judged_references(request)
    if not references and not judged_orders(request):
        return []  # nothing to judge (encounter hooks), so nothing worth reading
    patient = quote(str(request.context["patientId"]), safe="")
    wanted: list[tuple[str, str]] = []
    if not request.of_type("Coverage"):
        wanted.append(("Coverage", f"Coverage?patient={patient}&status=active"))
    for reference in references:
        if request.find(reference) is None:
            resource_type, rid = reference.split("/")[-2:]
            wanted.append((f"order {resource_type}/{rid}", f"{resource_type}/{quote(rid, safe='')}"))
    return wanted


def _names(wanted: list[tuple[str, str]]) -> str:
    return " or ".join(what for what, _ in wanted)
