"""FHIRPath for rule conditions: compiled once, evaluated over plain dicts, with `resolve()` inside the Bundle.

fhirpathpy swallows syntax errors and reports unknown functions only when they run, so expressions are parsed
here with an error listener and their functions and %variables are checked at load time. fhirpathpy has no
`resolve()`; the engine supplies one that follows references inside the request Bundle being evaluated.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from antlr4.tree.Tree import ParseTreeWalker
from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.invocations import invocation_registry
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.engine.util import set_paths
from fhirpathpy.models import models
from fhirpathpy.parser.ASTPathListener import ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from ..fhir.questionnaire import answer_value, answered_items, questionnaire_responses
from ..fhir.references import BundleIndex, Entry
from . import shortcuts
from .index import Coverage

# The variables a condition may use (rules/README.md documents each).
VARIABLES = frozenset(
    {"item", "claim", "patient", "coverage", "bundle", "requested", "serviceDate", "ageYears", "ucum", "context"}
)
_R4 = models["r4"]


@dataclass(frozen=True)
class Scope:
    """The Bundle references are resolved in, the entry relative references start from, and the rule set's
    named value sets (for memberOf)."""

    index: BundleIndex
    origin: Entry
    valuesets: Mapping[str, Coverage]


_scope: contextvars.ContextVar[Scope] = contextvars.ContextVar("fhirpath_scope")


def _resolve(inputs: list[Any]) -> list[Any]:
    """resolve(): the resources these references point to inside the request Bundle."""
    scope = _scope.get(None)
    if scope is None:
        return []
    found = []
    for value in inputs:
        reference = value.get("reference") if isinstance(value, dict) else value
        if isinstance(reference, str):
            entry = scope.index.resolve(reference, from_entry=scope.origin)
            if entry is not None:
                # Typed, so ofType(), is and choice elements ([x]) work on what resolve() returns.
                found.append(ResourceNode.create_node(entry.resource, entry.resource_type))
    return found


def _member_of(inputs: list[Any], valueset: Any) -> list[bool]:
    """memberOf('value-set-id'): whether a Coding, CodeableConcept or code is in a named value set of the rules."""
    scope = _scope.get(None)
    name = valueset[0] if isinstance(valueset, list) and valueset else valueset
    if scope is None or not inputs:
        return []
    coverage = scope.valuesets.get(str(name))
    if coverage is None:
        raise ValueError(f"memberOf: no value set {name!r} in this rule set")
    for value in inputs:
        codings = value.get("coding", []) if isinstance(value, dict) and "coding" in value else [value]
        for coding in codings:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                if coverage.covers(str(coding.get("system") or ""), coding["code"]):
                    return [True]
            elif isinstance(coding, str) and coverage.covers_code_any_system(coding):
                return [True]
    return [False]


def _answer(inputs: list[Any], link_id: Any) -> list[Any]:
    """answer('link-id'): the answers given to that question in the QuestionnaireResponses the request carries
    (as entries, or inside a DTR QuestionnaireResponse Bundle entry); a coded answer is its code."""
    scope = _scope.get(None)
    wanted = link_id[0] if isinstance(link_id, list) and link_id else link_id
    if scope is None:
        return []
    return [
        answer_value(answer)
        for response in questionnaire_responses(entry.resource for entry in scope.index.entries)
        for item, answer in answered_items(response)
        if item.get("linkId") == str(wanted)
    ]


_FUNCTIONS: dict[str, dict[str, Any]] = {
    "resolve": {"fn": _resolve},
    "memberOf": {"fn": _member_of, "arity": {1: ["String"]}},
    "answer": {"fn": _answer, "arity": {1: ["String"]}},
}
MEMBER_OF = re.compile(r"memberOf\(\s*'([^']*)'\s*\)")
ANSWER = re.compile(r"answer\(\s*'([^']*)'\s*\)")
KNOWN_FUNCTIONS = frozenset(invocation_registry) | frozenset(_FUNCTIONS)


@contextmanager
def scope(index: BundleIndex, origin: Entry, valuesets: Mapping[str, Coverage]) -> Iterator[None]:
    """Evaluate within this Bundle (for resolve()) and rule set (for memberOf())."""
    token = _scope.set(Scope(index, origin, valuesets))
    try:
        yield
    finally:
        _scope.reset(token)


class ExpressionError(ValueError):
    """An expression that cannot be compiled, with the reason."""


class _Collect(ErrorListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.errors: list[str] = []

    def syntaxError(self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any) -> None:  # noqa: N802, N803 (antlr's name)
        self.errors.append(f"column {column + 1}: {msg}")


Compiled = Callable[[dict[str, Any], dict[str, Any]], list[Any]]


@lru_cache(maxsize=4096)
def general_evaluation(text: str) -> Compiled:
    """Compile a FHIRPath expression for fhirpathpy, or raise ExpressionError saying what is wrong with it.

    Cached by text: rules often repeat an expression, and a compiled one is a pure function.
    """
    listener = _Collect()
    lexer = FHIRPathLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    tokens = CommonTokenStream(lexer)
    parser = FHIRPathParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    tree = parser.expression()
    if not listener.errors and tokens.LA(1) != Token.EOF:
        listener.errors.append(f"unexpected {tokens.LT(1).text!r} at column {tokens.LT(1).column + 1}")
    if listener.errors:
        raise ExpressionError("does not parse: " + "; ".join(listener.errors))
    ast_listener = ASTPathListener()
    ParseTreeWalker().walk(ast_listener, tree)
    ast = ast_listener.parentStack[0]
    functions, variables = _names(ast)
    unknown = sorted(functions - KNOWN_FUNCTIONS)
    if unknown:
        raise ExpressionError(f"unknown function(s): {', '.join(unknown)}")
    undefined = sorted(variables - VARIABLES)
    if undefined:
        raise ExpressionError(
            f"unknown variable(s): {', '.join('%' + v for v in undefined)}; use {', '.join('%' + v for v in sorted(VARIABLES))}"
        )
    general: Compiled = set_paths(
        apply_parsed_path, parsedPath=ast, model=_R4, options={"userInvocationTable": _FUNCTIONS}
    )
    return general


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> Compiled:
    """Compile a FHIRPath expression, or raise ExpressionError saying what is wrong with it: fhirpathpy's
    evaluation, behind a plain-Python shortcut when the expression has a common shape (decision/shortcuts.py)."""
    general = general_evaluation(text)
    fast = shortcuts.shortcut(text)
    if fast is None:
        return general

    def compiled(resource: dict[str, Any], variables: dict[str, Any]) -> list[Any]:
        scope = _scope.get(None)
        found = fast(variables, scope)
        return general(resource, variables) if found is None else found

    return compiled


def _names(ast: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Function names and %variable names used in a parsed expression."""
    functions: set[str] = set()
    variables: set[str] = set()
    stack = [ast]
    while stack:
        node = stack.pop()
        kind = node.get("type")
        children = node.get("children") or []
        if kind == "Functn" and children and children[0].get("type") == "Identifier":
            functions.update(children[0].get("terminalNodeText") or [])
        if kind == "ExternalConstant" and children and children[0].get("type") == "Identifier":
            variables.update(children[0].get("terminalNodeText") or [])
        if kind == "ExternalConstant" and not children:
            variables.update(t.strip("`'") for t in node.get("terminalNodeText") or [] if t != "%")
        stack.extend(children)
    return functions, variables
