"""Adaptive DTR forms ($next-question): the rule engine asks only what can still change its decision.

A form is a rule's questions (rules/README.md, "Questions"). After each answer every condition of the rule is judged
three ways: settled true, settled false, or open, by evaluating it with the answers given and, for each question it
reads that is not yet answered, a few probe values (the numbers its expression compares with and their neighbours,
every option of a choice, both booleans, dates around the thresholds). A condition settled false means the rule
cannot apply whatever is answered next; all settled true means it approves; otherwise the next question is the first
unanswered one an open condition reads. Conditions that read request data (diagnoses, dates) see none here: such
facts are judged when the PAS request arrives.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from ..db.models import CrdAssertion
from ..decision.engine import truth
from ..decision.expressions import ANSWER, scope
from ..decision.model import Question
from ..decision.ruleset import CompiledRule, RuleSet
from ..errors import InvalidRequest, NotFound, Problem
from ..fhir import questionnaire as forms
from ..fhir.cds_hooks import Assertion, coverage_information
from ..fhir.references import BundleIndex, Entry
from . import packages

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")
_MOST_PROBES = 256


@dataclass(frozen=True)
class Verdict:
    """Where a form stands: the next question to ask, or done with whether the rule's criteria are met."""

    next_question: Question | None
    met: bool | None  # None while open; True when the rule approves; False when it cannot apply


def judge(rule: CompiledRule, rules: RuleSet, answers: dict[str, Any], *, today: dt.date) -> Verdict:
    """The verdict on a rule's form given the answers so far (link id -> FHIR answer value)."""
    settled: list[bool | None] = [_settle(rule, rules, c, answers, today) for c in rule.conditions]
    if any(value is False for value in settled):
        return Verdict(None, False)
    if all(value is True for value in settled):
        return Verdict(None, True)
    open_links = {
        link
        for compiled, value in zip(rule.conditions, settled, strict=True)
        if value is None
        for link in ANSWER.findall(compiled.condition.expression)
    }
    for question in rule.rule.questions:
        if question.link_id in open_links and question.link_id not in answers:
            return Verdict(question, None)
    return Verdict(None, False)  # open only on request data an answer cannot give


def _settle(rule: CompiledRule, rules: RuleSet, compiled: Any, answers: dict[str, Any], today: dt.date) -> bool | None:
    questions = {q.link_id: q for q in rule.rule.questions}
    expression = compiled.condition.expression
    missing = [link for link in dict.fromkeys(ANSWER.findall(expression)) if link not in answers and link in questions]
    choices = [_probes(questions[link], expression, today) for link in missing]
    seen: set[bool] = set()
    for count, combination in enumerate(itertools.product(*choices)):
        if count >= _MOST_PROBES:
            return None
        trial = answers | dict(zip(missing, combination, strict=True))
        seen.add(_holds(compiled, rules, trial, today))
        if len(seen) > 1:
            return None
    return seen.pop() if seen else None


def _holds(compiled: Any, rules: RuleSet, answers: dict[str, Any], today: dt.date) -> bool:
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "in-progress",
        "item": [{"linkId": link, "answer": [value]} for link, value in answers.items()],
    }
    entry = Entry(0, "urn:dtr:response", response)
    variables = {
        "item": {},
        "claim": {"resourceType": "Claim"},
        "patient": [],
        "coverage": [],
        "bundle": {"resourceType": "Bundle", "entry": [{"resource": response}]},
        "requested": [],
        "serviceDate": today.isoformat(),
        "ageYears": [],
    }
    try:
        with scope(BundleIndex([entry]), entry, rules.valueset_coverage):
            return truth(compiled.evaluate({}, variables), compiled.condition.if_missing)
    except Exception:  # as in the engine: an expression failing on odd data is missing data
        return bool(compiled.condition.if_missing)


def _probes(question: Question, expression: str, today: dt.date) -> list[dict[str, Any]]:
    """Answers worth trying for a question not yet answered (enough to see whether it can change the result)."""
    if question.type == "boolean":
        return [{"valueBoolean": True}, {"valueBoolean": False}]
    if question.type == "choice":
        return [{"valueCoding": {"code": o.code}} for o in question.options]
    if question.type in ("integer", "decimal"):
        numbers = {0.0} | {float(n) + d for n in _NUMBER.findall(expression) for d in (-1, 0, 1)}
        if question.type == "integer":
            return [{"valueInteger": int(n)} for n in sorted(numbers) if n >= 0 and n == int(n)]
        return [{"valueDecimal": n} for n in sorted(numbers) if n >= 0]
    if question.type == "date":
        return [{"valueDate": (today - dt.timedelta(days=d)).isoformat()} for d in (0, 30, 89, 91, 364, 366, 3650)]
    return [{"valueString": ""}, {"valueString": "x"}]


def step(
    session: Session,
    adaptive: forms.AdaptiveResponse,
    *,
    rules: RuleSet,
    base: str,
    now: dt.datetime,
    client_id: str,
) -> dict[str, Any]:
    """One $next-question call: the response with the next question, or completed with its coverage information."""
    rule = packages.form_named(rules, adaptive.derived_from, base=base)
    if rule is None:
        raise NotFound(f"no form {adaptive.derived_from!r} here; $questionnaire-package gives the plan's forms")
    answers = adaptive.answers()
    questions = {q.link_id: q for q in rule.rule.questions}
    problems = []
    for link, value in answers.items():
        where = f"QuestionnaireResponse.item.where(linkId = '{link}')"
        question = questions.get(link)
        if question is None:
            problems.append(Problem("value", f"'{link}' is not a question of form {rule.id}", where))
            continue
        problems += [Problem("value", why, where) for why in forms.answer_problems(question, value)]
    if problems:
        raise InvalidRequest(400, problems)
    verdict = judge(rule, rules, answers, today=now.date())
    if verdict.next_question is not None:
        return forms.asked(adaptive, verdict.next_question)
    coverage = forms.coverage_of(adaptive.response)
    if coverage is None:
        return forms.completed(adaptive, None)
    assertion = Assertion(str(uuid.uuid4()), coverage, "covered", now.date().isoformat(), "auth-needed")
    if verdict.met:
        text = f"The answers meet the plan's criteria ({rule.id}): a PAS request carrying this response is approved on receipt."
        assertion = replace(assertion, reasons=((None, text),))
    else:
        text = (
            "The answers do not meet the criteria for approval on receipt: submit the PAS request with this response "
            "and the documents the plan asks for; a nurse reviews it."
        )
        assertion = replace(assertion, doc_needed=("clinical",), doc_purpose=("withpa",), reasons=((None, text),))
    information = coverage_information(assertion)
    session.add(
        CrdAssertion(
            id=assertion.assertion_id,
            client_id=client_id,
            hook="dtr-next-question",
            hook_instance=str(adaptive.response.get("id") or "")[:200],
            member_id=None,
            coverage=coverage[:500],
            order=f"Questionnaire/{rule.id}",
            codes=[],
            answer=information,
            created_at=now,
        )
    )
    return forms.completed(adaptive, information)
