"""The YAML schema of rule files: what a clinical policy team writes, checked strictly (unknown fields refused).

A rule file holds `rules:`, `valuesets:` and/or `displays:`. See rules/README.md for the language with examples.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Short names for the code systems rule authors use most; a full URL is always accepted too.
SYSTEM_ALIASES = {
    "cpt": "http://www.ama-assn.org/go/cpt",
    "hcpcs": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "icd10pcs": "http://www.cms.gov/Medicare/Coding/ICD10",
    "ndc": "http://hl7.org/fhir/sid/ndc",
    "loinc": "http://loinc.org",
    "x12-1365": "https://codesystem.x12.org/005010/1365",
    "nubc-revenue": "https://www.nubc.org/revenue-code",
}


def system_url(name: str) -> str:
    """The code system URL for an alias or URL."""
    return SYSTEM_ALIASES.get(name, name)


class Strict(BaseModel):
    """Frozen, and unknown fields are errors (a typo must not silently drop a condition)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeRange(Strict):
    """An inclusive range of codes of equal length, compared as text (e.g. CPT 72141-72158)."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> CodeRange:
        if len(self.start) != len(self.end):
            raise ValueError(f"range {self.start}-{self.end}: both ends must have the same number of characters")
        if self.start > self.end:
            raise ValueError(f"range {self.start}-{self.end} is empty: 'from' sorts after 'to'")
        return self


class CodeSelector(Strict):
    """Codes of one system: a list, a range, or a named value set."""

    system: str | None = None
    codes: tuple[str, ...] = ()
    range: CodeRange | None = None
    valueset: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CodeSelector:
        kinds = [bool(self.codes), self.range is not None, self.valueset is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of 'codes', 'range' or 'valueset'")
        if self.valueset is None and not self.system:
            raise ValueError("'codes' and 'range' need a 'system' (an alias such as cpt, or a URL)")
        if self.valueset is not None and self.system:
            raise ValueError("a 'valueset' reference carries its own systems; drop 'system'")
        return self


class ValueSet(Strict):
    """A named set of codes, shared by rules."""

    id: str
    description: str
    include: tuple[CodeSelector, ...] = Field(min_length=1)

    @field_validator("include")
    @classmethod
    def _no_nesting(cls, include: tuple[CodeSelector, ...]) -> tuple[CodeSelector, ...]:
        if any(selector.valueset for selector in include):
            raise ValueError("value sets list codes and ranges, not other value sets")
        return include


class Condition(Strict):
    """A FHIRPath expression over the request that must be true for the rule to apply."""

    id: str
    description: str
    expression: str
    # What a condition counts as when the data it reads is absent (the expression yields nothing).
    if_missing: bool = False


class Effective(Strict):
    """When a rule is in force, judged at the time the request was received: [from, until)."""

    start: dt.date = Field(alias="from")
    until: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        """Whether the rule is in force on `day`."""
        return self.start <= day and (self.until is None or day < self.until)

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.until is not None and self.until <= self.start:
            raise ValueError("'until' must be after 'from'")
        return self


class DocumentRequirement(Strict):
    """A document the request must carry for the outcome to stand; absent, the item pends and PAS asks for it."""

    loinc: str
    description: str
    report_type: str = "OZ"  # X12 755 attachment report type (PWK01); OZ = support data for claim


class AnswerOption(Strict):
    """One coded answer a choice question offers."""

    code: str
    display: str
    system: str | None = None


class Question(Strict):
    """A question a rule's conditions read with `answer('link-id')` (served to DTR as a Questionnaire item)."""

    link_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    text: str = Field(min_length=5)
    type: Literal["boolean", "integer", "decimal", "date", "choice", "string"]
    options: tuple[AnswerOption, ...] = ()
    unit: str | None = None
    required: bool = True

    @model_validator(mode="after")
    def _options_for_choice(self) -> Question:
        if self.type == "choice" and not self.options:
            raise ValueError("a 'choice' question lists its 'options' (code and display of each answer)")
        if self.type != "choice" and self.options:
            raise ValueError("'options' go with a 'choice' question")
        if self.unit and self.type not in ("integer", "decimal"):
            raise ValueError("'unit' goes with an 'integer' or 'decimal' question")
        codes = [o.code for o in self.options]
        if len(codes) != len(set(codes)):
            raise ValueError("answer option codes must be unique within a question")
        return self


class Outcome(Strict):
    """What the rule decides for a matching item. There is no denial: only a clinician denies."""

    decision: Literal["approve", "not_required", "pend"]
    queue: str | None = None
    skills: tuple[str, ...] = ()
    review_priority: Literal["routine", "urgent"] = "routine"
    authorized_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    max_quantity: Annotated[float, Field(gt=0)] | None = None
    # Where an approve rule sends what it may not approve (too many units, missing documents).
    fallback_queue: str | None = None
    # An inpatient admission (case/stays.py): the initial length of stay approved, in days (nights), and how many
    # more days a continued-stay update may add without a nurse.
    stay_days: Annotated[int, Field(ge=1, le=365)] | None = None
    extend_days: Annotated[int, Field(ge=1, le=365)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_denial(cls, data: Any) -> Any:
        if isinstance(data, dict) and str(data.get("decision", "")).lower() in {
            "deny",
            "denied",
            "reject",
            "not_certified",
        }:
            raise ValueError(
                "automation never denies: only a clinician (medical director) may; use 'pend' to send the item to review"
            )
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Outcome:
        if self.decision == "pend" and not self.queue:
            raise ValueError("a 'pend' outcome names the 'queue' that reviews the item")
        if self.decision != "pend" and self.skills:
            raise ValueError("'skills' go with a 'pend' outcome")
        approve_only = (self.authorized_days, self.max_quantity, self.fallback_queue, self.stay_days, self.extend_days)
        if self.decision != "approve" and any(v is not None for v in approve_only):
            raise ValueError(
                "'authorized_days', 'max_quantity', 'fallback_queue', 'stay_days' and 'extend_days' go with an "
                "'approve' outcome"
            )
        if self.extend_days is not None and self.stay_days is None:
            raise ValueError("'extend_days' extends an initial stay: give 'stay_days' too")
        if self.stay_days is not None and self.authorized_days is not None:
            raise ValueError("a stay is authorized by 'stay_days'; 'authorized_days' is for other services")
        return self


class Referral(Strict):
    """A care-management referral a rule asks for when it applies (e.g. oncology, heart-failure admissions)."""

    program: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    reason: str = Field(min_length=10)


class Rule(Strict):
    """One business rule."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = Field(min_length=10)
    services: tuple[CodeSelector, ...] = Field(min_length=1)
    effective: Effective
    priority: int = 100
    lines_of_business: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    when: tuple[Condition, ...] = ()
    documents: tuple[DocumentRequirement, ...] = ()
    questions: tuple[Question, ...] = ()
    outcome: Outcome
    referral: Referral | None = None

    @model_validator(mode="after")
    def _documents_need_a_decision(self) -> Rule:
        links = [q.link_id for q in self.questions]
        if len(links) != len(set(links)):
            raise ValueError("question link_ids must be unique within a rule")
        if self.documents and self.outcome.decision == "not_required":
            raise ValueError("'documents' cannot go with 'not_required': nothing is reviewed")
        ids = [c.id for c in self.when]
        if len(ids) != len(set(ids)):
            raise ValueError("condition ids must be unique within a rule")
        return self


class Display(Strict):
    """The pack's own plain-language name for a code, shown to staff beside it (rules/README.md, "Displays").

    For code systems whose descriptors are licensed (CPT): write your own words, never the licensed descriptor.
    """

    system: str
    code: str
    display: str = Field(min_length=3, max_length=200)


class RuleFile(Strict):
    """The top level of a file under rules/."""

    rules: tuple[Rule, ...] = ()
    valuesets: tuple[ValueSet, ...] = ()
    displays: tuple[Display, ...] = ()
