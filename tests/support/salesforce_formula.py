"""The few Salesforce formula functions the push flow's entry condition uses, evaluated on a record.

Semantics from Salesforce Help, "Formula Operators and Functions" (AND, NOT, ISBLANK, ISPICKVAL, TEXT,
CONTAINS, SUBSTITUTE, the & operator): a blank text field is the empty string in text functions, TEXT of
a picklist is its API value, CONTAINS is case-sensitive, SUBSTITUTE replaces every occurrence. Merge
fields are `{!$Record.Field}` and `{!$CustomMetadata.Type__mdt.Record.Field__c}`. Anything else (another
function, operator or merge field) raises FormulaNotSupported, so a change to the flow that this
evaluator cannot judge fails the tests instead of passing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<merge>\{![^}]*\})|(?P<name>[A-Za-z_]\w*)'
                    r"|(?P<symbol>[(),&]))")


class FormulaNotSupported(ValueError):
    """The formula uses something this evaluator does not model."""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "AND": lambda *values: all(values),
    "OR": lambda *values: any(values),
    "NOT": lambda value: not value,
    "ISBLANK": lambda value: _text(value) == "",
    "ISPICKVAL": lambda value, literal: _text(value) == literal,
    "TEXT": _text,
    "CONTAINS": lambda text, part: _text(part) in _text(text),
    "SUBSTITUTE": lambda text, old, new: _text(text).replace(_text(old), _text(new)),
}


def evaluate(formula: str, record: Mapping[str, Any], custom_metadata: Mapping[str, Any]) -> Any:
    """The formula's value for `record` (field API name -> value; None: blank) and `custom_metadata`
    ("Type__mdt.Record.Field__c" -> value)."""
    tokens = _tokens(formula)
    position, value = _expression(tokens, 0, record, custom_metadata)
    if position != len(tokens):
        raise FormulaNotSupported(f"unexpected {tokens[position][1]!r}")
    return value


def _tokens(formula: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(formula.rstrip()):
        match = _TOKEN.match(formula, position)
        if match is None:
            raise FormulaNotSupported(f"cannot read {formula[position:position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _expression(tokens: list[tuple[str, str]], position: int, record: Mapping[str, Any],
                metadata: Mapping[str, Any]) -> tuple[int, Any]:
    position, value = _term(tokens, position, record, metadata)
    while position < len(tokens) and tokens[position] == ("symbol", "&"):
        position, right = _term(tokens, position + 1, record, metadata)
        value = _text(value) + _text(right)
    return position, value


def _term(tokens: list[tuple[str, str]], position: int, record: Mapping[str, Any],
          metadata: Mapping[str, Any]) -> tuple[int, Any]:
    kind, text = tokens[position]
    if kind == "string":
        return position + 1, re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "merge":
        return position + 1, _merge_field(text[2:-1], record, metadata)
    if kind == "name":
        function = _FUNCTIONS.get(text.upper())
        if function is None or tokens[position + 1] != ("symbol", "("):
            raise FormulaNotSupported(f"function {text}")
        position, arguments = position + 2, []
        while tokens[position] != ("symbol", ")"):
            position, argument = _expression(tokens, position, record, metadata)
            arguments.append(argument)
            if tokens[position] == ("symbol", ","):
                position += 1
        return position + 1, function(*arguments)
    raise FormulaNotSupported(f"unexpected {text!r}")


def _merge_field(reference: str, record: Mapping[str, Any], metadata: Mapping[str, Any]) -> Any:
    scope, _, name = reference.partition(".")
    if scope == "$Record" and "." not in name:
        return record.get(name)
    if scope == "$CustomMetadata" and name in metadata:
        return metadata[name]
    raise FormulaNotSupported(f"merge field {{!{reference}}}")
