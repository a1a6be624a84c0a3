"""A FHIR searchset Bundle of current ClaimResponses, with self and next links and a weak ETag of its contents."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode


def searchset(
    matches: Sequence[tuple[dict[str, Any], int]],
    *,
    total: int,
    base_url: str,
    query: list[tuple[str, str]],
    count: int,
    offset: int,
) -> tuple[dict[str, Any], str]:
    """The searchset of (ClaimResponse, version) matches and its weak ETag."""
    link_query = urlencode(query)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": f"{base_url}/ClaimResponse" + (f"?{link_query}" if link_query else "")}],
    }
    entries = [
        {"fullUrl": f"{base_url}/ClaimResponse/{resource['id']}", "resource": resource, "search": {"mode": "match"}}
        for resource, _ in matches
    ]
    if entries:
        bundle["entry"] = entries
    if offset + count < total:
        params = [(k, v) for k, v in query if k not in ("_offset", "_count")]
        params += [("_count", str(count)), ("_offset", str(offset + count))]
        bundle["link"].append({"relation": "next", "url": f"{base_url}/ClaimResponse?{urlencode(params)}"})
    fingerprint = ",".join(f"{resource['id']}:{version}" for resource, version in matches) + f"|{total}"
    return bundle, f'W/"{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}"'
