"""The few Salesforce formula functions the push flows' entry conditions use, evaluated on a record.

Semantics from Salesforce Help, "Formula Operators and Functions" (AND, OR, NOT, ISBLANK, ISPICKVAL, TEXT,
CONTAINS, SUBSTITUTE, LEFT, the & operator, `=` and `<>` "evaluates if two values are (not) equivalent"): a
blank text field is the empty string in text functions, TEXT of a picklist is its API value, CONTAINS is
case-sensitive, SUBSTITUTE replaces every occurrence, LEFT(text, n) is the first n characters. ISCHANGED
(Salesforce Help, "ISCHANGED"): TRUE when the field's value differs from its value before the save, FALSE
for every field of a newly created record, TRUE for a text field that was blank and now holds a value; in a
record-triggered flow's formula entry condition since Spring '22 (release note "Use ISCHANGED, ISNEW, and
PRIORVALUE in Record-Triggered Flow Formulas", as quoted by qiita.com/Keiji_otsubo; the release note itself
not read here). Merge fields are `{!$Record.Field}` and `{!$CustomMetadata.Type__mdt.Record.Field__c}`;
ISCHANGED takes a `{!$Record.Field}`. Anything else (another
function, operator or merge field) raises FormulaNotSupported, so a change to the flow that this
evaluator cannot judge fails the tests instead of passing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<merge>\{![^}]*\})|(?P<name>[A-Za-z_]\w*)'
    r"|(?P<number>\d+)|(?P<symbol><>|[(),&=]))"
)


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
    "LEFT": lambda text, count: _text(text)[: int(count)],
}


def evaluate(
    formula: str, record: Mapping[str, Any], custom_metadata: Mapping[str, Any], prior: Mapping[str, Any] | None = None
) -> Any:
    """The formula's value for `record` (field API name -> value; None: blank) and `custom_metadata`
    ("Type__mdt.Record.Field__c" -> value); `prior`: the record before the save (None: a new record)."""
    tokens = _tokens(formula)
    position, value = _comparison(tokens, 0, {**record, _PRIOR: prior}, custom_metadata)
    if position != len(tokens):
        raise FormulaNotSupported(f"unexpected {tokens[position][1]!r}")
    return value


def _tokens(formula: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(formula.rstrip()):
        match = _TOKEN.match(formula, position)
        if match is None:
            raise FormulaNotSupported(f"cannot read {formula[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


_PRIOR = "$Record__Prior"  # where the prior record rides along with the record (no field has this name)


def _comparison(
    tokens: list[tuple[str, str]], position: int, record: Mapping[str, Any], metadata: Mapping[str, Any]
) -> tuple[int, Any]:
    position, value = _expression(tokens, position, record, metadata)
    if position < len(tokens) and tokens[position] in (("symbol", "="), ("symbol", "<>")):
        operator = tokens[position][1]
        position, right = _expression(tokens, position + 1, record, metadata)
        value = (value == right) if operator == "=" else (value != right)
    return position, value


def _expression(
    tokens: list[tuple[str, str]], position: int, record: Mapping[str, Any], metadata: Mapping[str, Any]
) -> tuple[int, Any]:
    position, value = _term(tokens, position, record, metadata)
    while position < len(tokens) and tokens[position] == ("symbol", "&"):
        position, right = _term(tokens, position + 1, record, metadata)
        value = _text(value) + _text(right)
    return position, value


def _term(
    tokens: list[tuple[str, str]], position: int, record: Mapping[str, Any], metadata: Mapping[str, Any]
) -> tuple[int, Any]:
    kind, text = tokens[position]
    if kind == "string":
        return position + 1, re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "merge":
        return position + 1, _merge_field(text[2:-1], record, metadata)
    if kind == "number":
        return position + 1, int(text)
    if kind == "name" and text.upper() == "ISCHANGED":
        return _is_changed(tokens, position, record)
    if kind == "name":
        function = _FUNCTIONS.get(text.upper())
        if function is None or tokens[position + 1] != ("symbol", "("):
            raise FormulaNotSupported(f"function {text}")
        position, arguments = position + 2, []
        while tokens[position] != ("symbol", ")"):
            position, argument = _comparison(tokens, position, record, metadata)
            arguments.append(argument)
            if tokens[position] == ("symbol", ","):
                position += 1
        return position + 1, function(*arguments)
    raise FormulaNotSupported(f"unexpected {text!r}")


def _is_changed(tokens: list[tuple[str, str]], position: int, record: Mapping[str, Any]) -> tuple[int, bool]:
    if tokens[position + 1] != ("symbol", "(") or tokens[position + 3] != ("symbol", ")"):
        raise FormulaNotSupported("ISCHANGED takes one field")
    kind, text = tokens[position + 2]
    scope, _, name = text[2:-1].partition(".") if kind == "merge" else ("", "", "")
    if scope != "$Record" or not name or "." in name:
        raise FormulaNotSupported(f"ISCHANGED of {text}")
    prior = record[_PRIOR]
    changed = prior is not None and _text(prior.get(name)) != _text(record.get(name))
    return position + 4, changed


def _merge_field(reference: str, record: Mapping[str, Any], metadata: Mapping[str, Any]) -> Any:
    scope, _, name = reference.partition(".")
    if scope == "$Record" and "." not in name:
        return record.get(name)
    if scope == "$CustomMetadata" and name in metadata:
        return metadata[name]
    raise FormulaNotSupported(f"merge field {{!{reference}}}")
