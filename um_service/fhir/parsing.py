"""Turning request bytes into JSON: parse once with orjson, refuse absurd nesting, hash content canonically."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from .outcome import InvalidRequest, Problem


def parse_json(raw: bytes, *, max_depth: int) -> Any:
    """Parse `raw` as JSON, or raise InvalidRequest (400) saying why it cannot be read."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson refuses nesting past its own limit with a recursion message; report it as our depth limit.
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            raise _too_deep(max_depth) from exc
        raise InvalidRequest(400, [Problem("structure", f"The body is not valid JSON: {exc}")]) from exc
    if _depth(document) > max_depth:
        raise _too_deep(max_depth)
    return document


def _too_deep(max_depth: int) -> InvalidRequest:
    return InvalidRequest(
        400,
        [Problem("too-costly", f"The JSON nests deeper than the {max_depth} levels this server accepts.")],
    )


def _depth(document: Any) -> int:
    """The nesting depth of a parsed document, without recursion (so a deep one cannot overflow the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((value, depth + 1) for value in node)
    return deepest


def canonical_hash(document: Any) -> str:
    """A SHA-256 of the document's canonical JSON (sorted keys), equal for equal content however it was spaced."""
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A shallow copy of `document` without `keys`."""
    return {k: v for k, v in document.items() if k not in keys}
