"""CDex `$submit-attachment` input (pas-additional-info-digest section 3), read and checked at the door.

Each Attachment's Content is a DocumentReference (inline base64 attachment), a Binary, a QuestionnaireResponse or a
Bundle (a DTR QuestionnaireResponse Bundle). Inline documents must be of an allowed type, and the bytes must be what
the declared type says (a PDF starts %PDF-, a PNG with its signature, text is UTF-8 without control characters, XML
starts with '<'): a script labelled PDF is refused. Anything malformed is 400 and nothing is stored; too large, 413.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, Problem, ServiceError
from .elements import as_dict, as_list

MAX_DOCUMENT_BYTES = 3 * 1024 * 1024  # base64 in a body within the 5 MiB default body limit
CONTENT_RESOURCES = ("DocumentReference", "Binary", "QuestionnaireResponse", "Bundle")
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
_XML = ("text/xml", "application/xml", "application/hl7-cda+xml")
ALLOWED_TYPES = (*_SIGNATURES, *_XML, "text/plain")


@dataclass(frozen=True)
class Attachment:
    """One Attachment part: the lines it is for (none = the whole request), the LOINC code, the Content."""

    line_items: tuple[int, ...]
    code: str | None
    content: dict[str, Any]
    content_type: str | None
    size: int


@dataclass(frozen=True)
class Submission:
    """A $submit-attachment call."""

    tracking_id: str
    admin_ref: str | None
    attach_to: str
    member_id: str
    organization_id: str | None
    provider_id: str | None
    attachments: tuple[Attachment, ...]
    final: bool


def read_submission(document: Any) -> Submission:
    """The call's Parameters as a Submission, or 400 (413 for a document past the size limit) saying what is wrong."""
    if as_dict(document).get("resourceType") != "Parameters":
        raise InvalidRequest(400, [Problem("structure", "$submit-attachment takes a Parameters resource.")])
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    attachments: list[Attachment] = []
    for position, parameter in enumerate(as_list(as_dict(document).get("parameter"))):
        parameter = as_dict(parameter)
        name = parameter.get("name")
        where = f"Parameters.parameter[{position}]"
        if name == "Attachment":
            attachment = _attachment(parameter, where, problems)
            if attachment is not None:
                attachments.append(attachment)
        elif name in ("TrackingId", "AdminRefNumber", "MemberId", "OrganizationId", "ProviderId", "PayerId"):
            value = as_dict(parameter.get("valueIdentifier")).get("value")
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem("value", f"{name} is an Identifier with a value.", where))
            else:
                values[name] = value.strip()
        elif name == "AttachTo":
            values[name] = parameter.get("valueCode")
        elif name == "Final":
            values[name] = parameter.get("valueBoolean")
    for required in ("TrackingId", "MemberId"):
        if required not in values:
            problems.append(Problem("required", f"{required} is required.", "Parameters.parameter"))
    if values.get("AttachTo") not in ("preauthorization", "claim"):
        problems.append(Problem("value", "AttachTo is 'preauthorization' (or 'claim').", "Parameters.parameter"))
    if not values.get("OrganizationId") and not values.get("ProviderId"):
        problems.append(Problem("required", "OrganizationId or ProviderId is required.", "Parameters.parameter"))
    if not attachments and not problems:
        problems.append(Problem("required", "At least one Attachment is required.", "Parameters.parameter"))
    if problems:
        raise InvalidRequest(400, problems)
    return Submission(
        tracking_id=values["TrackingId"],
        admin_ref=values.get("AdminRefNumber"),
        attach_to=values["AttachTo"],
        member_id=values["MemberId"],
        organization_id=values.get("OrganizationId"),
        provider_id=values.get("ProviderId"),
        attachments=tuple(attachments),
        final=values.get("Final") is not False,
    )


def _attachment(parameter: dict[str, Any], where: str, problems: list[Problem]) -> Attachment | None:
    lines: list[int] = []
    code = None
    content: dict[str, Any] | None = None
    for part in as_list(parameter.get("part")):
        part = as_dict(part)
        if part.get("name") == "LineItem":
            text = part.get("valueString")
            if not isinstance(text, str) or not text.isdigit() or int(text) < 1:
                problems.append(Problem("value", "LineItem is an item sequence number (1, 2, ...).", f"{where}.part"))
            else:
                lines.append(int(text))
        elif part.get("name") == "Code":
            codings = as_list(as_dict(part.get("valueCodeableConcept")).get("coding"))
            code = next((c.get("code") for c in map(as_dict, codings) if isinstance(c.get("code"), str)), None)
        elif part.get("name") == "Content":
            content = as_dict(part.get("resource")) or None
    if content is None or content.get("resourceType") not in CONTENT_RESOURCES:
        problems.append(
            Problem("value", f"Content is a resource: one of {', '.join(CONTENT_RESOURCES)}.", f"{where}.part")
        )
        return None
    content_type, size = _check_bytes(content, where, problems)
    return Attachment(tuple(sorted(set(lines))), code, content, content_type, size)


def _check_bytes(content: dict[str, Any], where: str, problems: list[Problem]) -> tuple[str | None, int]:
    """The declared type and decoded size of a document's inline data (checked), or (None, 0) for a form."""
    if content["resourceType"] == "DocumentReference":
        inline = [as_dict(as_dict(c).get("attachment")) for c in as_list(content.get("content"))]
    elif content["resourceType"] == "Binary":
        inline = [content]
    else:
        return None, 0
    if not inline or not all(isinstance(a.get("data"), str) for a in inline):
        problems.append(Problem("value", "A document carries its bytes inline (attachment.data, base64).", where))
        return None, 0
    declared = None
    size = 0
    for attachment in inline:
        declared = str(attachment.get("contentType") or "").split(";")[0].strip().lower()
        try:
            data = base64.b64decode(attachment["data"], validate=True)
        except (binascii.Error, ValueError):
            problems.append(Problem("value", "attachment.data is not base64.", where))
            continue
        size += len(data)
        if size > MAX_DOCUMENT_BYTES:
            limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
            raise ServiceError(413, [Problem("too-long", f"A document may be at most {limit} MB.", where)])
        if declared not in ALLOWED_TYPES:
            problems.append(
                Problem(
                    "value",
                    f"Content type {declared or 'none'!r} is not accepted; send one of {', '.join(ALLOWED_TYPES)}.",
                    where,
                )
            )
        elif not _matches(declared, data):
            problems.append(Problem("value", f"The bytes are not {declared}: the declared type must match.", where))
    return declared, size


def _matches(declared: str, data: bytes) -> bool:
    if declared in _SIGNATURES:
        return data.startswith(_SIGNATURES[declared])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
        return False
    return text.lstrip("\ufeff \r\n\t").startswith("<") if declared in _XML else True
