"""Both sides of the settings parity: the app settings the code reads, and those infra/ provisions.

The code side is the declarations (shared/settings/declarations.py): the function app's settings that are
not local only. The extractor below finds the environment reads in the source, so that
tests/unit/test_settings_declarations.py can check that every read is declared and made by the settings
package: it is not listed by hand: every read of the environment
(`env.get(...)`, `os.environ[...]`, `os.getenv(...)` on a mapping named env/environ/environment or
os.environ) in the function app's modules, with the setting's name resolved from string literals,
f-strings, module constants, the loops and comprehensions that walk them, local assignments, and, for a
name that is a function's parameter, the arguments at that function's call sites (so `_text(env,
"SAP_USER")` and `_identity_setting(env, f"{service}ServiceUri")` both resolve). Binding expressions
(`"%RETRY_QUEUE_NAME%"`) in the triggers count too. A read whose name cannot be resolved is reported,
never silently dropped.

The Bicep side is every key of the app-settings objects (variables named `...Settings`) in
infra/main.bicep and infra/app/api.bicep.

NOT_PROVISIONED and HOST_ONLY below are the one place for the settings that are on one side only, each
with the reason.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The function app's code: what the Functions host loads (function_app.py, functions/, shared/).
CODE_PATHS = ("function_app.py", "functions", "shared")
BICEP_SETTINGS_FILES = ("infra/main.bicep", "infra/app/api.bicep")

# Declared settings of the function app (shared/settings/declarations.py) deliberately not provisioned in
# Azure, beyond those the declarations already mark local only or as another process's (agent, simulator).
NOT_PROVISIONED: dict[str, str] = {
    "AzureWebJobsStorage": "a connection string (Azurite locally); in Azure the identity-based "
    "AzureWebJobsStorage__* settings stand for it and shared keys are off",
    # the alternative the deployment does not use
    "SAP_RELAY_KEY_NAME": "a SAS Send rule; the app sends with its managed identity (Azure Relay Sender)",
    "SAP_RELAY_KEY": "a SAS Send key; the app sends with its managed identity (Azure Relay Sender)",
}

# Provisioned in Azure, read by the Functions host or the platform rather than by the code.
HOST_ONLY: dict[str, str] = {
    "AzureWebJobsStorage__blobServiceUri": "the host's blob leases (timer trigger) and keys; the code uses "
    "queues and tables only",
    "FUNCTIONS_EXTENSION_VERSION": "the host version on the Dedicated plan (Flex Consumption takes it from "
    "functionAppConfig)",
    "FUNCTIONS_WORKER_RUNTIME": "the worker on the Dedicated plan (Flex Consumption takes it from functionAppConfig)",
    "PYTHON_THREADPOOL_THREAD_COUNT": "the Python worker's thread pool for `def` invocations, derived from host.json "
    "in infra/app/api.bicep (tests/infra/test_worker_threads.py)",
    "WEBSITES_ENABLE_APP_SERVICE_STORAGE": "the custom container brings its files (no /home mount)",
}

_ENV_NAMES = {"env", "environ", "environment"}
_SETTING = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BINDING = re.compile(r"^%([A-Za-z][A-Za-z0-9_]*)%$")
_MAX_DEPTH = 6


@dataclass(frozen=True)
class Read:
    name: str
    where: str  # path:line


@dataclass(frozen=True)
class Unresolved:
    expression: str
    where: str


class _Unresolvable(Exception):  # an internal signal, never raised out of CodeSettings
    pass


def code_files(root: Path = ROOT, paths: Iterable[str] = CODE_PATHS) -> list[Path]:
    files: list[Path] = []
    for entry in paths:
        path = root / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


class _Module:
    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.relative = path.relative_to(root).as_posix()
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.constants: dict[str, ast.expr] = {}
        for statement in self.tree.body:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        self.constants[target.id] = statement.value
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
                self.constants[statement.target.id] = statement.value


class CodeSettings:
    """Extracts every setting name the modules read from the environment."""

    def __init__(self, files: Iterable[Path], root: Path = ROOT) -> None:
        self.modules = [_Module(path, root) for path in files]
        self.functions: dict[str, list[tuple[_Module, ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
        self.calls: dict[str, list[tuple[_Module, ast.Call]]] = {}
        for module in self.modules:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.functions.setdefault(node.name, []).append((module, node))
                elif isinstance(node, ast.Call):
                    name = _callee(node)
                    if name:
                        self.calls.setdefault(name, []).append((module, node))
        self.reads: list[Read] = []
        self.unresolved: list[Unresolved] = []
        self._scan()

    @property
    def names(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for read in self.reads:
            found.setdefault(read.name, []).append(read.where)
        return found

    def _scan(self) -> None:
        for module in self.modules:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and (m := _BINDING.match(node.value)):
                    self.reads.append(Read(m.group(1), f"{module.relative}:{node.lineno}"))
                argument = _env_read_argument(node)
                if argument is None:
                    continue
                where = f"{module.relative}:{node.lineno}"  # type: ignore[attr-defined]
                try:
                    values = self._resolve(module, argument, 0)
                except _Unresolvable:
                    self.unresolved.append(Unresolved(ast.unparse(argument), where))
                    continue
                for value in values:
                    if _SETTING.match(value):
                        self.reads.append(Read(value, where))

    # --- resolution of an expression to the strings it can be ---

    def _resolve(self, module: _Module, node: ast.expr, depth: int) -> set[str]:
        if depth > _MAX_DEPTH:
            raise _Unresolvable
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.JoinedStr):
            parts: list[set[str]] = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    parts.append({str(value.value)})
                elif isinstance(value, ast.FormattedValue):
                    parts.append(self._resolve(module, value.value, depth + 1))
                else:
                    raise _Unresolvable
            return {"".join(combo) for combo in itertools.product(*parts)}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return {
                a + b
                for a in self._resolve(module, node.left, depth + 1)
                for b in self._resolve(module, node.right, depth + 1)
            }
        if isinstance(node, ast.Name):
            return self._resolve_name(module, node, depth)
        raise _Unresolvable

    def _elements(self, module: _Module, node: ast.expr, depth: int, *, keys_only: bool = False) -> set[str]:
        """The strings an iterable expression yields (a literal, a constant, dict keys or .items() keys)."""
        if depth > _MAX_DEPTH:
            raise _Unresolvable
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return set().union(*(self._resolve(module, element, depth + 1) for element in node.elts))
        if isinstance(node, ast.Dict):
            return set().union(*(self._resolve(module, key, depth + 1) for key in node.keys if key is not None))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("items", "keys"):
            return self._elements(module, node.func.value, depth + 1, keys_only=True)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
            # {...}[key]: any of the dict's values
            return set().union(*(self._elements(module, value, depth + 1) for value in node.value.values))
        if isinstance(node, ast.Name):
            value = self._binding(module, node)
            if value is not None:
                return self._elements(module, value, depth + 1, keys_only=keys_only)
        raise _Unresolvable

    def _binding(self, module: _Module, name: ast.Name) -> ast.expr | None:
        """The expression a name was assigned in its function, else at module level."""
        function = self._enclosing_function(module, name)
        if function is not None:
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name.id for t in node.targets
                ):
                    return node.value
        return module.constants.get(name.id)

    def _enclosing_function(self, module: _Module, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        current = module.parents.get(node)
        while current is not None and not isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            current = module.parents.get(current)
        return current

    def _resolve_name(self, module: _Module, name: ast.Name, depth: int) -> set[str]:
        # a loop or comprehension variable: the elements of what it walks
        current: ast.AST | None = name
        while current is not None:
            parent = module.parents.get(current)
            generators: list[ast.comprehension] = []
            if isinstance(parent, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
                generators = parent.generators
            elif isinstance(parent, ast.For):
                generators = [ast.comprehension(target=parent.target, iter=parent.iter, ifs=[], is_async=0)]
            for generator in generators:
                target = generator.target
                if isinstance(target, ast.Name) and target.id == name.id:
                    return self._elements(module, generator.iter, depth + 1)
                if (
                    isinstance(target, ast.Tuple)
                    and target.elts
                    and isinstance(target.elts[0], ast.Name)
                    and target.elts[0].id == name.id
                ):
                    return self._elements(module, generator.iter, depth + 1, keys_only=True)
            if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
                break
            current = parent
        function = self._enclosing_function(module, name)
        if function is not None:
            parameters = [a.arg for a in function.args.posonlyargs + function.args.args]
            keyword_only = [a.arg for a in function.args.kwonlyargs]
            if name.id in parameters or name.id in keyword_only:
                return self._from_call_sites(function, name.id, parameters, depth)
        value = self._binding(module, name)
        if value is not None:
            return self._resolve(module, value, depth + 1)
        raise _Unresolvable

    def _from_call_sites(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str, parameters: list[str], depth: int
    ) -> set[str]:
        index = parameters.index(parameter) if parameter in parameters else None
        defaults = dict(zip(reversed(parameters), reversed(function.args.defaults), strict=False))
        values: set[str] = set()
        # A call in a module that defines its own function of this name calls that one, not this one
        # (shared/core/business_partner_facts.py has a `_text` of its own, beside the settings' `_text`).
        defined_in = {id(module) for module, node in self.functions.get(function.name, []) if node is not function}
        sites = [(module, call) for module, call in self.calls.get(function.name, []) if id(module) not in defined_in]
        if not sites:
            raise _Unresolvable
        for module, call in sites:
            argument: ast.expr | None = None
            if index is not None and index < len(call.args):
                argument = call.args[index]
            for keyword in call.keywords:
                if keyword.arg == parameter:
                    argument = keyword.value
            if argument is None:
                argument = defaults.get(parameter)
            if argument is None or (isinstance(argument, ast.Constant) and argument.value is None):
                continue
            values |= self._resolve(module, argument, depth + 1)
        return values


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_environment(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in _ENV_NAMES
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _env_read_argument(node: ast.AST) -> ast.expr | None:
    """The name argument of an environment read: env.get(X), env[X], os.getenv(X)."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("get", "pop", "setdefault")
            and _is_environment(func.value)
        ):
            return node.args[0]
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "getenv"
            and isinstance(func.value, ast.Name)
            and func.value.id == "os"
        ):
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_environment(node.value) and isinstance(node.ctx, ast.Load):
        return node.slice
    return None


# --- the Bicep side ---


@dataclass(frozen=True)
class BicepSetting:
    name: str
    variable: str
    file: str


def _object_keys(node: object) -> Iterator[str]:
    """Keys of the object literals in a pycep expression (function and operator nodes walked through)."""
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in ("function", "operator"):
            inner = next(iter(node.values()))
            for value in (inner.get("parameters") or inner.get("operands") or {}).values():
                yield from _object_keys(value)
            return
        for key in node:
            yield key.strip("'")
    elif isinstance(node, list):
        for item in node:
            yield from _object_keys(item)


@functools.cache
def bicep_settings(root: Path = ROOT) -> tuple[BicepSetting, ...]:
    from tests.infra.bicep import parse_bicep

    found: list[BicepSetting] = []
    for relative in BICEP_SETTINGS_FILES:
        variables = parse_bicep(root / relative).get("variables", {})
        for variable, declaration in variables.items():
            if variable.endswith("Settings"):
                found.extend(BicepSetting(name, variable, relative) for name in _object_keys(declaration["value"]))
    return tuple(found)
