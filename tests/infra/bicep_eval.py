"""A small evaluator of the Bicep templates' expressions (tree-sitter-bicep syntax), enough to know what a
deployment sets: the app settings the function app starts with, and the site's properties on each plan.

No Bicep compiler or Azure here, so what only a deployment knows (a resource's property, a module's
output) is a `Deployed` value: opaque, unless `stand_ins` names a value of the documented form for it.
Anything the evaluator does not know (an operator, a function, a name) raises `NotEvaluable` naming it:
a check built on it fails instead of passing on a guess. Conditions and ternaries are lazy, as in ARM:
only the branch taken is evaluated.

Semantics follow Microsoft's Bicep documentation ("Bicep operators", "Bicep functions"): `??` takes the
right side when the left is null, `.?` yields null for a missing property, `union` merges objects (the
last value of a key wins), `empty` is true for null, '' , [] and {}, `string` writes a bool as
'true'/'false'.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.bicep import _tree_sitter_parser


class NotEvaluable(Exception):
    """The template uses something this evaluator does not model; the message names it."""


@dataclass(frozen=True)
class Deployed:
    """A value only the deployment knows, e.g. 'appIdentity.properties.clientId'."""

    path: str

    def __str__(self) -> str:
        return f"<deployed {self.path}>"


@dataclass(frozen=True)
class _Symbol:
    kind: str  # param, var, resource, module
    node: Any  # the declaration's tree-sitter node


def _text(node: Any) -> str:
    return node.text.decode()


def _named(node: Any) -> list[Any]:
    return [child for child in node.named_children if child.type != "comment"]


class Template:
    """One .bicep file: its declarations by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = _tree_sitter_parser().parse(path.read_bytes())
        self.symbols: dict[str, _Symbol] = {}
        self.outputs: dict[str, Any] = {}  # outputs have their own namespace (a param and an output may share a name)
        for node in _named(self.tree.root_node):
            kind = node.type.removesuffix("_declaration")
            if kind == "output":
                self.outputs[_text(_named(node)[0])] = node
            elif kind in ("parameter", "variable", "resource", "module"):
                name = _text(_named(node)[0])
                self.symbols[name] = _Symbol({"parameter": "param", "variable": "var"}.get(kind, kind), node)

    def parameters(self) -> dict[str, Any]:
        """Parameter name -> its default's node, or None when it has none."""
        found = {}
        for name, symbol in self.symbols.items():
            if symbol.kind == "param":
                children = _named(symbol.node)
                found[name] = children[2] if len(children) > 2 else None
        return found

    def body(self, name: str) -> Any:
        """A resource's or module's object (inside its `if (...)`) and its condition node, or None."""
        symbol = self.symbols[name]
        last = _named(symbol.node)[-1]
        if last.type == "if_statement":
            condition, body = _named(last)
            return body, condition
        return last, None


class Scope:
    """The values of one template's names for one deployment (parameter values given or defaulted)."""

    def __init__(
        self, template: Template, parameters: Mapping[str, Any], stand_ins: Mapping[str, Any] | None = None
    ) -> None:
        self.template = template
        self.given = dict(parameters)
        # "file.bicep:symbol.property.path" -> the value a deployment would have there
        self.stand_ins = dict(stand_ins or {})
        self._cache: dict[str, Any] = {}
        unknown = set(self.given) - set(template.parameters())
        if unknown:
            raise NotEvaluable(f"{template.path.name}: no parameter {sorted(unknown)}")

    # --- names ---

    def value(self, name: str) -> Any:
        if name in self._cache:
            return self._cache[name]
        symbol = self.template.symbols.get(name)
        if symbol is None:
            raise NotEvaluable(f"{self.template.path.name}: unknown name '{name}'")
        if symbol.kind == "param":
            if name in self.given:
                result = _force(self.given[name])
            else:
                default = self.template.parameters()[name]
                if default is None:
                    raise NotEvaluable(f"{self.template.path.name}: parameter '{name}' has no value and no default")
                result = self.evaluate(default)
        elif symbol.kind == "var":
            result = self.evaluate(_named(symbol.node)[-1])
        elif symbol.kind == "module":
            result = _Module(self, name)
        else:  # a resource: its properties are known at deployment only
            result = Deployed(name)
        self._cache[name] = result
        return result

    def object_of(self, name: str) -> dict[str, Any]:
        """A resource's or module's declaration object, evaluated (its condition is not checked here)."""
        body, _ = self.template.body(name)
        return self.evaluate(body)

    def deployed(self, name: str) -> bool:
        """Whether a conditional resource or module is deployed in this scope."""
        _, condition = self.template.body(name)
        return condition is None or bool(self.evaluate(condition))

    # --- expressions ---

    def evaluate(self, node: Any) -> Any:
        handler: Callable[[Any], Any] | None = getattr(self, f"_{node.type}", None)
        if handler is None:
            raise NotEvaluable(f"{self.template.path.name}:{node.start_point[0] + 1}: {node.type} '{_text(node)[:60]}'")
        return handler(node)

    def _string(self, node: Any) -> Any:
        parts: list[Any] = []
        for child in node.named_children:
            if child.type == "string_content":
                parts.append(_text(child))
            elif child.type == "escape_sequence":
                parts.append(
                    {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}.get(
                        _text(child), _text(child)
                    )
                )
            elif child.type == "interpolation":
                value = self.evaluate(_named(child)[0])
                parts.append(value if isinstance(value, Deployed) else _as_text(value))
            else:
                raise NotEvaluable(f"string part {child.type}")
        deployed = [part for part in parts if isinstance(part, Deployed)]
        if deployed:
            return Deployed("".join(part.path if isinstance(part, Deployed) else part for part in parts))
        return "".join(parts)

    def _number(self, node: Any) -> int:
        return int(_text(node))

    _int = _number

    def _boolean(self, node: Any) -> bool:
        return _text(node) == "true"

    def _true(self, node: Any) -> bool:
        return True

    def _false(self, node: Any) -> bool:
        return False

    def _null(self, node: Any) -> None:
        return None

    def _identifier(self, node: Any) -> Any:
        return self.value(_text(node))

    def _parenthesized_expression(self, node: Any) -> Any:
        return self.evaluate(_named(node)[0])

    def _object(self, node: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for prop in _named(node):
            if prop.type != "object_property":
                raise NotEvaluable(f"object member {prop.type}")
            key_node, value_node = _named(prop)[0], _named(prop)[-1]
            key = self.evaluate(key_node) if key_node.type == "string" else _text(key_node)
            result[key] = _Lazy(self, value_node)
        return _LazyObject(result)

    def _array(self, node: Any) -> list[Any]:
        return [self.evaluate(item) for item in _named(node)]

    def _ternary_expression(self, node: Any) -> Any:
        condition = self.evaluate(node.child_by_field_name("condition"))
        if isinstance(condition, Deployed):
            raise NotEvaluable(f"a condition only the deployment knows: {condition}")
        chosen = node.child_by_field_name("consequence" if condition else "alternative")
        return self.evaluate(chosen)

    def _unary_expression(self, node: Any) -> Any:
        operator = _text(node.children[0])
        value = self.evaluate(node.child_by_field_name("argument"))
        if operator == "!":
            return not _truth(value)
        if operator == "-":
            return -value
        raise NotEvaluable(f"unary {operator}")

    def _binary_expression(self, node: Any) -> Any:
        left_node, right_node = node.child_by_field_name("left"), node.child_by_field_name("right")
        operator = next(_text(child) for child in node.children if not child.is_named)
        left = self.evaluate(left_node)
        if operator == "&&":
            return _truth(left) and _truth(self.evaluate(right_node))
        if operator == "||":
            return _truth(left) or _truth(self.evaluate(right_node))
        if operator == "??":
            return self.evaluate(right_node) if left is None else left
        right = self.evaluate(right_node)
        if isinstance(left, Deployed) or isinstance(right, Deployed):
            raise NotEvaluable(f"'{operator}' on a value only the deployment knows: {left} {operator} {right}")
        operations: dict[str, Callable[[Any, Any], Any]] = {
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "+": lambda a, b: a + b,
            "-": lambda a, b: a - b,
            "<": lambda a, b: a < b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
            "=~": lambda a, b: str(a).lower() == str(b).lower(),
        }
        if operator not in operations:
            raise NotEvaluable(f"operator {operator}")
        return operations[operator](_plain(left), _plain(right))

    def _member_expression(self, node: Any) -> Any:
        target = self.evaluate(node.child_by_field_name("object"))
        name = _text(node.child_by_field_name("property"))
        safe = any(_text(child) == ".?" for child in node.children if not child.is_named)
        if isinstance(target, _Module):
            return target.member(name)
        if isinstance(target, _Outputs):
            return target[name]
        if isinstance(target, Deployed):
            path = f"{target.path}.{name}"
            return self.stand_ins.get(f"{self.template.path.name}:{path}", Deployed(path))
        if isinstance(target, Mapping):
            if name in target:
                return _force(target[name])
            if safe:
                return None
            raise NotEvaluable(f"no property '{name}' in {sorted(target)}")
        if target is None and safe:
            return None
        raise NotEvaluable(f"property '{name}' of {target!r}")

    def _subscript_expression(self, node: Any) -> Any:
        target = self.evaluate(node.child_by_field_name("object"))
        index = self.evaluate(node.child_by_field_name("index"))
        if isinstance(target, Deployed):
            path = f"{target.path}[{index}]"
            return self.stand_ins.get(f"{self.template.path.name}:{path}", Deployed(path))
        return _force(target[index])

    def _call_expression(self, node: Any) -> Any:
        name = _text(node.child_by_field_name("function"))
        arguments = node.child_by_field_name("arguments")
        argument_nodes = _named(arguments) if arguments is not None else []
        if name == "loadJsonContent":
            [path_node] = argument_nodes
            return json.loads((self.template.path.parent / self.evaluate(path_node)).read_text())
        values = [self.evaluate(argument) for argument in argument_nodes]
        function = _FUNCTIONS.get(name)
        if function is None:
            # resourceGroup(), subscription(), uniqueString(...): only a deployment knows them.
            if name in _DEPLOYMENT_FUNCTIONS:
                return Deployed(f"{name}()")
            raise NotEvaluable(f"function {name}()")
        if any(isinstance(value, Deployed) for value in values) and name not in ("empty", "union", "concat"):
            return Deployed(f"{name}({', '.join(str(value) for value in values)})")
        return function(*values)


class _Module:
    """A module as its parent sees it: `.outputs.x` is its output evaluated in the module's own scope, with
    the parameters the parent passes; anything else (its name, id) is a deployed value."""

    def __init__(self, parent: Scope, name: str) -> None:
        self.parent, self.name = parent, name
        self._scope: Scope | None = None

    def scope(self) -> Scope:
        if self._scope is None:
            declaration = self.parent.object_of(self.name)
            relative = _text(_named(self.parent.template.symbols[self.name].node)[1]).strip("'")
            template = Template(self.parent.template.path.parent / relative)
            parameters = _force(declaration.get("params")) or {}
            self._scope = Scope(template, parameters, self.parent.stand_ins)
        return self._scope

    def member(self, name: str) -> Any:
        if name == "outputs":
            return _Outputs(self.scope())
        return Deployed(f"{self.name}.{name}")


class _Outputs:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __getitem__(self, name: str) -> Any:
        node = self.scope.template.outputs.get(name)
        if node is None:
            raise NotEvaluable(f"{self.scope.template.path.name}: no output '{name}'")
        return self.scope.evaluate(_named(node)[-1])


class _Lazy:
    """An object member evaluated when read (a ternary's untaken branch never is)."""

    def __init__(self, scope: Scope, node: Any) -> None:
        self.scope, self.node = scope, node

    def force(self) -> Any:
        return self.scope.evaluate(self.node)


class _LazyObject(dict):  # type: ignore[type-arg]
    pass


def _force(value: Any) -> Any:
    return value.force() if isinstance(value, _Lazy) else value


def plain(value: Any) -> Any:
    """A value with every lazy member evaluated (the whole object or array, recursively)."""
    value = _force(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


_plain = plain


def _truth(value: Any) -> bool:
    if isinstance(value, Deployed):
        raise NotEvaluable(f"a condition only the deployment knows: {value}")
    return bool(value)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list)):
        return json.dumps(plain(value), separators=(",", ":"))
    return "" if value is None else str(value)


def _empty(value: Any) -> bool:
    value = plain(value)
    if isinstance(value, Deployed):
        return False  # a deployed name, id or URI is never empty
    return value is None or value in ("", [], {})


def _union(*values: Any) -> Any:
    values = tuple(plain(value) for value in values)
    if all(isinstance(value, Mapping) for value in values):
        merged: dict[str, Any] = {}
        for value in values:
            merged.update(value)
        return merged
    if all(isinstance(value, list) for value in values):
        merged_items: list[Any] = []
        for value in values:
            merged_items.extend(item for item in value if item not in merged_items)
        return merged_items
    raise NotEvaluable(f"union of {values!r}")


def _concat(*values: Any) -> Any:
    values = tuple(plain(value) for value in values)
    if all(isinstance(value, list) for value in values):
        return [item for value in values for item in value]
    if any(isinstance(value, Deployed) for value in values):
        return Deployed("".join(value.path if isinstance(value, Deployed) else _as_text(value) for value in values))
    return "".join(_as_text(value) for value in values)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "string": _as_text,
    "empty": _empty,
    "union": _union,
    "concat": _concat,
    "toLower": lambda text: text.lower(),
    "toUpper": lambda text: text.upper(),
    "take": lambda value, count: value[:count],
    "contains": lambda container, item: item in plain(container),
    "substring": lambda text, start, length=None: text[start:] if length is None else text[start : start + length],
    "indexOf": lambda text, part: text.lower().find(part.lower()),
    "lastIndexOf": lambda text, part: text.lower().rfind(part.lower()),
    "split": lambda text, separator: text.split(separator),
    "length": lambda value: len(plain(value)),
    "int": int,
    "bool": lambda value: value if isinstance(value, bool) else str(value).lower() == "true",
}
_DEPLOYMENT_FUNCTIONS = frozenset(
    {"resourceGroup", "subscription", "tenant", "uniqueString", "deployment", "environment", "utcNow", "newGuid"}
)
