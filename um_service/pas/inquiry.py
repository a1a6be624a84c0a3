"""$inquire: find the requests an inquiry describes and answer with their current ClaimResponses (digest 6).

A case matches when it shares the inquiry's member id, requesting provider and insurer identifiers, and, if the
inquiry carries them, one of its Claim identifiers or our authorization / administration reference numbers.
Item-level filters (service codes, dates, review action) do not narrow the match: PAS asks for the current state
of all items of a matched request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..case import response_versions
from ..context import RequestContext
from ..db import repository
from ..fhir.bundles import inquiry_parameters, inquiry_response_bundle
from ..fhir.inquiry_request import read_inquiry_request


def inquire(session: Session, *, raw: bytes, context: RequestContext) -> dict[str, Any]:
    """Handle an $inquire body; return a Parameters resource with one `return` Bundle per matching request."""
    inquiry = read_inquiry_request(raw, limits=context.limits)
    parties = inquiry.parties
    matches = repository.case_ids_with_party(session, role="member", values=parties.member_ids)
    # The member's few cases are checked for the provider and insurer, who alone would name most of the store.
    wanted = [("provider", set(parties.provider_ids)), ("insurer", set(parties.insurer_ids))]
    matches = {
        case_id
        for case_id, held in repository.parties_of_cases(session, matches).items()
        if all(any((role, system, value) in held for system, value in ids) for role, ids in wanted)
    }
    if matches and (inquiry.identifiers or inquiry.reference_numbers):
        matches &= repository.case_ids_with_identifier_values(
            session, identifiers=inquiry.identifiers, references=inquiry.reference_numbers
        )
    cases = [case for case in (repository.get_case(session, case_id) for case_id in matches) if case is not None]
    if context.organization is not None:
        # A provider sees only the requests it sent.
        cases = [case for case in cases if case.submitter == context.submitter]
    returns = []
    for case in sorted(cases, key=lambda c: (c.received_at, c.id)):
        current = response_versions.current(session, case.id)
        if current is None:
            continue
        resource, _ = current
        bundle = inquiry_response_bundle(
            response_versions.latest_request(session, case),
            resource,
            inquiry_identifier=inquiry.bundle_identifier,
            base_url=context.base_url,
            now=context.now,
        )
        returns.append(bundle)
    return inquiry_parameters(returns)
