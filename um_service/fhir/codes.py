"""Canonical URLs and code systems of PAS 2.2 and X12 that the service reads or writes, defined once."""

from __future__ import annotations

import enum

PAS = "http://hl7.org/fhir/us/davinci-pas"
SD = f"{PAS}/StructureDefinition/"
X12 = "https://codesystem.x12.org/005010/"

# Profiles
PROFILE_REQUEST_BUNDLE = SD + "profile-pas-request-bundle"
PROFILE_RESPONSE_BUNDLE = SD + "profile-pas-response-bundle"
PROFILE_CLAIM_RESPONSE = SD + "profile-claimresponse"
PROFILE_INQUIRY_RESPONSE_BUNDLE = SD + "profile-pas-inquiry-response-bundle"
PROFILE_CLAIM_INQUIRY_RESPONSE = SD + "profile-claiminquiryresponse"
PROFILE_COMMUNICATION_REQUEST = SD + "profile-communicationrequest"
PROFILE_TASK = SD + "profile-task"

# Extensions (PAS digest sections 3, 4 and 7)
EXT_INFO_CHANGED = SD + "extension-infoChanged"
EXT_INFO_CANCELLED = SD + "modifierextension-infoCancelled"
EXT_ITEM_CANCELLED_201 = SD + "extension-itemCancelled"  # the PAS 2.0.1 name of the same flag
EXT_CERTIFICATION_TYPE = SD + "extension-certificationType"
EXT_LEVEL_OF_SERVICE = SD + "extension-levelOfServiceCode"
EXT_TRANSMISSION_IDENTIFIERS = SD + "extension-TransmissionIdentifiers"
EXT_ITEM_TRACE_NUMBER = SD + "extension-itemTraceNumber"
EXT_AUTHORIZATION_NUMBER = SD + "extension-authorizationNumber"
EXT_ADMINISTRATION_REFERENCE_NUMBER = SD + "extension-administrationReferenceNumber"
EXT_REVIEW_ACTION = SD + "extension-reviewAction"
EXT_REVIEW_ACTION_CODE = SD + "extension-reviewActionCode"
EXT_ITEM_PREAUTH_ISSUE_DATE = SD + "extension-itemPreAuthIssueDate"
EXT_ITEM_PREAUTH_PERIOD = SD + "extension-itemPreAuthPeriod"
EXT_ITEM_REQUESTED_SERVICE_DATE = SD + "extension-itemRequestedServiceDate"
EXT_ERROR_ELEMENT = SD + "extension-errorElement"
EXT_ERROR_PATH = SD + "extension-errorPath"
EXT_ERROR_FOLLOWUP_ACTION = SD + "extension-errorFollowupAction"
EXT_CLAIM_RESPONSE_REVIEWER = SD + "extension-claimResponseReviewer"
EXT_SERVICE_LINE_NUMBER = SD + "extension-serviceLineNumber"
EXT_CONTENT_MODIFIER = SD + "extension-contentModifier"

# Modifier extensions this service understands; any other one makes a request unreadable (FHIR rule).
KNOWN_MODIFIER_EXTENSIONS = frozenset({EXT_INFO_CANCELLED, EXT_ITEM_CANCELLED_201})

SYSTEM_X12_REVIEW_ACTION = X12 + "306"
SYSTEM_X12_REJECT_REASON = X12 + "901"
SYSTEM_X12_FOLLOWUP_ACTION = X12 + "889"
SYSTEM_X12_CERTIFICATION_TYPE = X12 + "1322"
SYSTEM_X12_REPORT_TYPE = X12 + "755"
SYSTEM_X12_REVIEW_DECISION_REASON = "https://codesystem.x12.org/external/886"
SYSTEM_X12_LEVEL_OF_SERVICE = X12 + "1338"
SYSTEM_ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
SYSTEM_PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
SYSTEM_RELATED_CLAIM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
SYSTEM_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

OPERATION_SUBMIT = f"{PAS}/OperationDefinition/Claim-submit"
OPERATION_INQUIRE = f"{PAS}/OperationDefinition/Claim-inquiry"

# X12 1322 certification type "3" = cancel (PAS 7).
CERTIFICATION_CANCEL = "3"
# X12 1338 level of service codes that ask for expedited handling: 03 emergency, U urgent.
EXPEDITED_LEVELS_OF_SERVICE = frozenset({"03", "U"})


class ReviewAction(enum.StrEnum):
    """X12 306 review-action codes (HCR01), the per-item result of a PAS request."""

    CERTIFIED = "A1"
    PARTIAL = "A2"
    NOT_CERTIFIED = "A3"
    PENDED = "A4"
    MODIFIED = "A6"
    CANCELLED = "C"
    CONTACT_PAYER = "CT"
    NO_ACTION_REQUIRED = "NA"

    @property
    def display(self) -> str:
        """The X12 display text."""
        return _REVIEW_ACTION_DISPLAY[self]

    @property
    def is_final(self) -> bool:
        """Whether the item has its answer (anything but pended)."""
        return self is not ReviewAction.PENDED


_REVIEW_ACTION_DISPLAY = {
    ReviewAction.CERTIFIED: "Certified in total",
    ReviewAction.PARTIAL: "Certified - partial",
    ReviewAction.NOT_CERTIFIED: "Not Certified",
    ReviewAction.PENDED: "Pending",
    ReviewAction.MODIFIED: "Modified",
    ReviewAction.CANCELLED: "Cancelled",
    ReviewAction.CONTACT_PAYER: "Contact Payer",
    ReviewAction.NO_ACTION_REQUIRED: "No Action Required",
}


class RejectReason(enum.StrEnum):
    """X12 901 (AAA03) reject reason codes used for business refusals."""

    INPUT_ERRORS = "33"
    SUBSCRIBER_NOT_FOUND = "75"
    AUTHORIZATION_NOT_FOUND = "AA"


class FollowupAction(enum.StrEnum):
    """X12 889 (AAA04) follow-up action codes."""

    CORRECT_AND_RESUBMIT = "C"
    RESUBMISSION_NOT_ALLOWED = "N"
