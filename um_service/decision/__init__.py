"""The business-rules seam: what automation says of each requested item.

Automation may approve, say no authorization is required, or pend to a queue; it never denies (only a
clinician does). Until the YAML rules engine is plugged in here, every item pends to the default queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..fhir.codes import ReviewAction
from ..fhir.pas_request import PasRequest

DEFAULT_QUEUE = "general-um"


@dataclass(frozen=True)
class ItemOutcome:
    """What automation decided for one item, and why."""

    sequence: int
    action: ReviewAction
    queue: str | None
    reason: str


def decide(request: PasRequest) -> dict[int, ItemOutcome]:
    """The automated outcome of every item of the request that is not cancelled, by item sequence."""
    return {
        item.sequence: ItemOutcome(
            sequence=item.sequence,
            action=ReviewAction.PENDED,
            queue=DEFAULT_QUEUE,
            reason="No business rule covers this service yet: a clinician reviews it.",
        )
        for item in request.items
        if not item.cancelled
    }
