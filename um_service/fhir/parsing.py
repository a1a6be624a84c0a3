"""Turning request bytes into JSON: parse once with orjson, refuse absurd nesting, hash content canonically."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from ..errors import InvalidRequest, Problem


def parse_json(raw: bytes, *, max_depth: int, max_string: int = 4 * 1024 * 1024) -> Any:
    """Parse `raw` as JSON, or raise InvalidRequest (400) saying why it cannot be read."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson refuses nesting past its own limit with a recursion message; report it as our depth limit.
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            raise _too_deep(max_depth) from exc
        raise InvalidRequest(400, [Problem("structure", f"The body is not valid JSON: {exc}")]) from exc
    if b"\\u0000" in raw or len(raw) > max_string:
        depth, longest, nul = _shape(document)
    else:
        # JSON can only carry NUL escaped, and no string is longer than the body: only the depth needs a walk.
        depth, longest, nul = _depth(document), 0, False
    if nul:
        raise InvalidRequest(
            400,
            [Problem("value", "A string in the body contains a NUL character (U+0000), which FHIR text cannot hold.")],
        )
    if depth > max_depth:
        raise _too_deep(max_depth)
    if longest > max_string:
        raise InvalidRequest(
            400,
            [
                Problem(
                    "too-costly",
                    f"A string in the body is {longest} characters long; this server accepts at most {max_string}.",
                )
            ],
        )
    return document


def _too_deep(max_depth: int) -> InvalidRequest:
    return InvalidRequest(
        400,
        [Problem("too-costly", f"The JSON nests deeper than the {max_depth} levels this server accepts.")],
    )


def _shape(document: Any) -> tuple[int, int, bool]:
    """The nesting depth, the longest string (or key), and whether any string holds NUL, without recursion."""
    deepest = 0
    longest = 0
    nul = False
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            longest = max(longest, len(node))
            nul = nul or "\x00" in node
        elif isinstance(node, dict):
            longest = max(longest, max(map(len, node), default=0))
            nul = nul or any("\x00" in key for key in node)
            deepest = max(deepest, depth)
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((value, depth + 1) for value in node)
    return deepest, longest, nul


def _depth(document: Any) -> int:
    """The nesting depth alone (as `_shape` counts it), visiting containers only."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)] if isinstance(document, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return deepest


def canonical_hash(document: Any) -> str:
    """A SHA-256 of the document's canonical JSON (sorted keys), equal for equal content however it was spaced."""
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A shallow copy of `document` without `keys`."""
    return {k: v for k, v in document.items() if k not in keys}
