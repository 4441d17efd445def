"""HTTP route templates as the Functions host reads them (ASP.NET Core attribute-routing syntax).

Supported: literal segments (matched case-insensitively), `{name}`, optional `{name?}`, defaults
`{name=value}`, constraints `{name:int}` (chainable: `{name:alpha:minlength(2)}`), catch-all `{*rest}`
(`{**rest}` too) and several parameters in one segment (`{file}.{ext}`). When several templates match a
path, the more specific wins, as in ASP.NET Core: literal, then constrained, then plain parameter, then
catch-all, segment by segment.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from urllib.parse import unquote

T = TypeVar("T")


class RouteTemplateError(Exception):
    """A route template the host would also refuse (unbalanced braces, unknown constraint, ...)."""


_PARAMETER = re.compile(r"\{([^{}]*)\}")
_CONSTRAINT = re.compile(r"^(?P<name>[a-zA-Z]+)(?:\((?P<argument>.*)\))?$")

# Precedence digits per segment kind, the lower the more specific (ASP.NET Core's RoutePrecedence).
_LITERAL, _MULTIPART, _CONSTRAINED, _PARAMETER_ONLY, _CATCH_ALL = 1, 2, 3, 4, 5


def _is_int(value: str, low: int, high: int) -> bool:
    try:
        return low <= int(value) <= high
    except ValueError:
        return False


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _numeric_range(low: float, high: float) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return _is_number(value) and low <= float(value) <= high

    return check


def _constraint(name: str, argument: str | None) -> Callable[[str], bool]:
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: _is_int(v, -(2**31), 2**31 - 1),
        "long": lambda v: _is_int(v, -(2**63), 2**63 - 1),
        "bool": lambda v: v.lower() in ("true", "false"),
        "decimal": _is_number,
        "double": _is_number,
        "float": _is_number,
        "guid": _is_guid,
        "datetime": _is_datetime,
        "alpha": lambda v: re.fullmatch(r"[a-zA-Z]+", v) is not None,
        "required": lambda v: v != "",
    }
    name = name.lower()
    if name in simple and argument is None:
        return simple[name]
    if argument is None:
        raise RouteTemplateError(f"constraint {name!r} is unknown or needs an argument")
    if name == "regex":
        pattern = re.compile(argument, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    numbers = [part.strip() for part in argument.split(",")]
    try:
        if name == "minlength" and len(numbers) == 1:
            return lambda v: len(v) >= int(numbers[0])
        if name == "maxlength" and len(numbers) == 1:
            return lambda v: len(v) <= int(numbers[0])
        if name == "length" and len(numbers) == 1:
            return lambda v: len(v) == int(numbers[0])
        if name == "length" and len(numbers) == 2:
            return lambda v: int(numbers[0]) <= len(v) <= int(numbers[1])
        if name == "min" and len(numbers) == 1:
            return _numeric_range(float(numbers[0]), float("inf"))
        if name == "max" and len(numbers) == 1:
            return _numeric_range(float("-inf"), float(numbers[0]))
        if name == "range" and len(numbers) == 2:
            return _numeric_range(float(numbers[0]), float(numbers[1]))
    except ValueError as error:
        raise RouteTemplateError(f"constraint {name}({argument}): {error}") from error
    raise RouteTemplateError(f"constraint {name}({argument}) is not supported")


@dataclass
class _Parameter:
    name: str
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    checks: list[Callable[[str], bool]] = field(default_factory=list)


def _parse_parameter(text: str) -> _Parameter:
    catch_all = text.startswith("*")
    text = text.lstrip("*")
    default = None
    if "=" in text:
        text, default = text.split("=", 1)
    optional = text.endswith("?")
    text = text.rstrip("?")
    # Constraint arguments may hold ':' (regex), so split only outside parentheses.
    parts, depth, current = [], 0, ""
    for char in text:
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    parts.append(current)
    name, constraints = parts[0].strip(), parts[1:]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RouteTemplateError(f"route parameter name {name!r} is not valid")
    checks = []
    for constraint in constraints:
        match = _CONSTRAINT.match(constraint.strip())
        if not match:
            raise RouteTemplateError(f"route constraint {constraint!r} is not valid")
        checks.append(_constraint(match["name"], match["argument"]))
    return _Parameter(name=name, optional=optional or catch_all, catch_all=catch_all, default=default, checks=checks)


@dataclass
class RouteMatch:
    route_params: dict[str, str]


class RouteTemplate:
    """One compiled template, e.g. "api/customers/{accountId}"; `match` takes the raw (still encoded) path."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        self._parameters: dict[str, _Parameter] = {}
        precedence: list[int] = []
        pattern = "^"
        segments = self.template.split("/") if self.template else []
        for index, segment in enumerate(segments):
            is_last = index == len(segments) - 1
            segment_pattern, kind = self._compile_segment(segment, is_last)
            # An optional last segment takes its slash with it: "items/{id?}" matches "items" too.
            pattern += f"(?:/{segment_pattern})?" if kind < 0 else f"/{segment_pattern}"
            precedence.append(abs(kind))
        self._regex = re.compile(pattern + "/?$", re.IGNORECASE)
        self.precedence = tuple(precedence)

    def _compile_segment(self, segment: str, is_last: bool) -> tuple[str, int]:
        """Regex for one segment and its precedence digit (negative when the whole segment may be absent)."""
        pieces = _PARAMETER.split(segment)
        if "{" in segment.replace("{{", "").replace("}}", "") and len(pieces) == 1:
            raise RouteTemplateError(f"unbalanced braces in route segment {segment!r}")
        literals, parameter_texts = pieces[0::2], pieces[1::2]
        if not parameter_texts:
            return re.escape(segment), _LITERAL
        pattern = ""
        parameters = [_parse_parameter(text) for text in parameter_texts]
        for literal, parameter in zip(literals, [*parameters, None], strict=True):
            pattern += re.escape(literal)
            if parameter is None:
                continue
            if parameter.name.lower() in (existing.lower() for existing in self._parameters):
                raise RouteTemplateError(f"route parameter {parameter.name!r} appears twice")
            if parameter.catch_all and not is_last:
                raise RouteTemplateError("a catch-all parameter must be the last segment")
            self._parameters[parameter.name] = parameter
            group = f"p{len(self._parameters)}"
            if parameter.catch_all:
                pattern += f"(?P<{group}>.*)"
            else:
                # Greedy, so "{file}.{ext}" splits at the last dot, as ASP.NET Core matches from the right.
                pattern += f"(?P<{group}>[^/]+)"
        whole_segment = len(parameters) == 1 and not literals[0] and not literals[1]
        only = parameters[0]
        if whole_segment and (only.catch_all or only.optional or only.default is not None):
            if not is_last and not only.catch_all:
                raise RouteTemplateError("an optional route parameter must be in the last segment")
            return pattern, -(_CATCH_ALL if only.catch_all else _PARAMETER_ONLY)
        if not whole_segment:
            return pattern, _MULTIPART
        return pattern, _CONSTRAINED if only.checks else _PARAMETER_ONLY

    def match(self, raw_path: str) -> RouteMatch | None:
        found = self._regex.match("/" + raw_path.strip("/") if raw_path.strip("/") else "")
        if not found:
            return None
        route_params: dict[str, str] = {}
        for index, (name, parameter) in enumerate(self._parameters.items(), start=1):
            raw = found.group(f"p{index}")
            if raw is None or raw == "":
                if parameter.default is not None:
                    route_params[name] = parameter.default
                elif not parameter.optional:
                    return None
                continue
            value = unquote(raw)
            if not all(check(value) for check in parameter.checks):
                return None
            route_params[name] = value
        return RouteMatch(route_params)


def sort_by_precedence(routes: Iterable[tuple[RouteTemplate, T]]) -> list[tuple[RouteTemplate, T]]:
    """More specific templates first, so "items/new" wins over "items/{id}" (stable for equal ranks)."""
    return sorted(routes, key=lambda route: route[0].precedence)
