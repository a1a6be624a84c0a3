"""An inpatient admission as a PAS request states it (digest: additional information 5): the admission's dates
(Claim.supportingInfo `admissionDates`, a date or a period), the discharge (`dischargeDates`) and which items are
the stay itself (X12 1525 request type AR, Admission Review, or an inpatient place of service).

Read from a request accepted at the door; nothing here checks it again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .codes import SD
from .elements import as_dict, as_list, codes, codings, extension
from .pas_request import PasRequest

EXT_SERVICE_ITEM_REQUEST_TYPE = SD + "extension-serviceItemRequestType"
EXT_ADMISSION_DATES = SD + "extension-admissionDates"
EXT_DISCHARGE_DATE = SD + "extension-dischargeDate"
ADMISSION_REVIEW = "AR"
# CMS place of service codes of an inpatient stay: hospital, psychiatric facility, rehabilitation facility.
INPATIENT_PLACES = frozenset({"21", "51", "61"})


@dataclass(frozen=True)
class Admission:
    """The stay a request asks for: admitted on `start`, requested to `end` (None: open), discharged or not yet."""

    start: dt.date
    end: dt.date | None
    discharged: dt.date | None
    items: frozenset[int]

    @property
    def last_day(self) -> dt.date | None:
        """The day the stay ends as the request says it: the discharge, else the requested end."""
        return self.discharged or self.end

    @property
    def days_requested(self) -> int | None:
        """Days (nights) asked for: admission to the requested end (else the discharge); None while open."""
        last = self.end or self.discharged
        return None if last is None else max((last - self.start).days, 0)


def admission_of(request: PasRequest) -> Admission | None:
    """The admission a request asks to review, or None when it is not one (no admission dates, or no item is a
    stay: request type AR or an inpatient place of service)."""
    claim = request.claim
    admitted = _supporting(claim, "admissionDates")
    if admitted is None or admitted[0] is None:
        return None
    stays = frozenset(item.sequence for item in request.items if _is_stay(item.element))
    if not stays:
        return None
    discharge = _supporting(claim, "dischargeDates")
    discharged = None if discharge is None else (discharge[1] or discharge[0])
    return Admission(admitted[0], admitted[1], discharged, stays)


def _is_stay(element: dict[str, Any]) -> bool:
    request_type = extension(element, EXT_SERVICE_ITEM_REQUEST_TYPE)
    if request_type is not None and ADMISSION_REVIEW in codes(request_type.get("valueCodeableConcept")):
        return True
    return bool(codes(element.get("locationCodeableConcept")) & INPATIENT_PLACES)


def _supporting(claim: dict[str, Any], category: str) -> tuple[dt.date | None, dt.date | None] | None:
    """(start, end) of the first supportingInfo of a category: timingDate is a start alone."""
    for info in as_list(claim.get("supportingInfo")):
        info = as_dict(info)
        if category not in {code for _, code in codings(info.get("category"))}:
            continue
        if isinstance(info.get("timingDate"), str):
            return _date(info["timingDate"]), None
        period = as_dict(info.get("timingPeriod"))
        return _date(period.get("start")), _date(period.get("end"))
    return None


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def stay_extensions(period: tuple[str, str] | None, discharged: str | None) -> list[dict[str, Any]]:
    """The ClaimResponse item extensions of a certified stay: the dates authorized, and the discharge if known."""
    found: list[dict[str, Any]] = []
    if period is not None:
        found.append({"url": EXT_ADMISSION_DATES, "valuePeriod": {"start": period[0], "end": period[1]}})
    if discharged is not None:
        found.append({"url": EXT_DISCHARGE_DATE, "valueDate": discharged})
    return found
