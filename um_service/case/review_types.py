"""The three kinds of UM review: prospective (before the service), concurrent (during an inpatient stay) and
retrospective (after the service).

A request is concurrent when it asks to review an inpatient admission (fhir.admission) whose discharge, if any, is
not before the day it was received (case/stays.py). Otherwise it is retrospective when every item's service date (the end of its period, if it has one) lies before the day
it was received: the service happened already. Retrospective requests have their own queue and clock (30 calendar days
by default, `retrospective_days` per line of business in UM_DUE_OVERRIDES) and are kept out of the CMS figures, which
count prior authorization decisions (README, "Reports").
"""

from __future__ import annotations

import datetime as dt

from ..fhir.admission import Admission
from ..fhir.elements import as_dict
from ..fhir.pas_request import PasRequest

PROSPECTIVE = "prospective"
CONCURRENT = "concurrent"
RETROSPECTIVE = "retrospective"
RETROSPECTIVE_QUEUE = "retrospective-review"
RETROSPECTIVE_DAYS = 30


def review_type_of(request: PasRequest, received: dt.date, admission: Admission | None = None) -> str:
    """Which kind of review a request needs: an admission not yet discharged before receipt is concurrent."""
    if admission is not None:
        discharged = admission.discharged
        return RETROSPECTIVE if discharged is not None and discharged < received else CONCURRENT
    last_days = [_last_day(item.element) for item in request.items]
    if last_days and all(day is not None and day < received for day in last_days):
        return RETROSPECTIVE
    return PROSPECTIVE


def _last_day(element: dict[str, object]) -> dt.date | None:
    text = element.get("servicedDate") or as_dict(element.get("servicedPeriod")).get("end")
    if not isinstance(text, str):
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
