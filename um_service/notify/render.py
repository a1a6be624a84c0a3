"""A written notice as HTML (escaped) and as PDF (fpdf2, core fonts: text is kept to Latin-1)."""

from __future__ import annotations

import html as markup
from typing import TYPE_CHECKING

from fpdf import FPDF

if TYPE_CHECKING:
    from .notices import Notice

_TITLES = {"denial": "Notice of denial", "partial": "Notice of partial approval"}
# What the decision means, in the member's words (their notice only; the provider's goes straight to the items).
_FOR_THE_MEMBER = {
    "denial": "Your plan will not cover the service below as your provider asked for it. This is not a bill. You, "
    "your provider, or someone you choose may appeal: see 'Your right to appeal'.",
    "partial": "Your plan approved part of what your provider asked for: what was approved is under each service "
    "below. This is not a bill. You may appeal the part that was not approved: see 'Your right to appeal'.",
}


def _paragraphs(notice: Notice) -> list[tuple[str, str]]:
    """(style, text) in reading order: h1, h2, p, small."""
    to = "the ordering provider" if notice.audience == "provider" else "the member"
    lines: list[tuple[str, str]] = [
        ("h1", f"{_TITLES[notice.kind]} of prior authorization request {notice.reference}"),
        (
            "small",
            f"Issued {notice.issued.isoformat()} to {to}. Patient: {notice.patient}. "
            f"Ordering provider: {notice.provider}. Plan: {notice.plan or 'not stated'}.",
        ),
    ]
    if notice.audience == "member":
        lines += [("h2", "What this means for you"), ("p", _FOR_THE_MEMBER[notice.kind])]
    for item in notice.items:
        lines.append(("h2", f"Item {item.sequence}, service {item.service}: {item.decision}"))
        lines.append(("p", f"Why: {item.reason}"))
        lines.append(("p", f"Criteria: {item.criteria}"))
        if item.x12_reason:
            lines.append(("p", f"Reason code (X12): {item.x12_reason}"))
        if item.approved_instead:
            lines.append(("p", item.approved_instead))
    lines += [
        ("h2", "Your right to appeal"),
        (
            "p",
            f"You may appeal this decision. Send your appeal by {notice.appeal_by.isoformat()} "
            f"(60 days from this notice), with any records that support the request, quoting {notice.reference}. "
            "A clinician who did not make this decision will review it. If waiting could seriously harm the "
            "patient's health, ask for an expedited appeal: it is decided within 72 hours.",
        ),
        ("h2", "Peer-to-peer discussion"),
        (
            "p",
            f"The ordering provider may ask to discuss this decision with the plan's medical director within "
            f"{notice.p2p_days} days, by calling the number below and quoting {notice.reference}.",
        ),
        ("h2", "Contact"),
        ("p", notice.contact),
    ]
    return lines


def html(notice: Notice) -> str:
    """The notice as a standalone HTML page."""
    tags = {"h1": "h1", "h2": "h2", "p": "p", "small": 'p class="small"'}
    body = "\n".join(
        f"<{tags[style]}>{markup.escape(text)}</{style if style != 'small' else 'p'}>"
        for style, text in _paragraphs(notice)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{markup.escape(_TITLES[notice.kind])} {markup.escape(notice.reference)}</title>"
        "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.45;color:#1f2933}"
        "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.4em}.small{color:#52606d;font-size:.9em}</style>"
        f"</head><body>\n{body}\n</body></html>"
    )


def pdf(notice: Notice) -> bytes:
    """The notice as a one-or-more-page PDF (A4, Helvetica)."""
    document = FPDF(format="A4")
    document.set_margins(20, 20, 20)
    document.set_auto_page_break(auto=True, margin=20)
    document.add_page()
    sizes = {"h1": ("B", 15, 9), "h2": ("B", 12, 7), "p": ("", 10.5, 5.5), "small": ("", 9, 5)}
    for style, text in _paragraphs(notice):
        weight, size, height = sizes[style]
        if style == "h2":
            document.ln(3)
        document.set_font("Helvetica", weight, size)
        document.multi_cell(0, height, _latin1(text))
        document.ln(1.5)
    return bytes(document.output())


def _latin1(text: str) -> str:
    swaps = {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "..."}
    for wide, narrow in swaps.items():
        text = text.replace(wide, narrow)
    return text.encode("latin-1", "replace").decode("latin-1")
