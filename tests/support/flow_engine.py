"""A player of flow/solution's cloud flow: the few parts of the engine that runs cloud flows (the Logic
Apps engine) that our flow uses, so a test can run the flow against the functions over real HTTP.

Built from Microsoft's published descriptions, not from the engine (which we do not have):

* The workflow definition language (MicrosoftDocs azure-docs articles/logic-apps/
  workflow-definition-language-functions-reference.md): `@` expressions; the functions our flow calls
  (parameters, triggerOutputs, outputs, body, item, if, join, json, empty, contains, split, replace,
  take, concat, coalesce, string, utcNow); the data operation Select (`from`, `select`, item();
  articles/logic-apps/logic-apps-perform-data-operations.md); `?['a/b']` reads a property path and gives
  null where it is missing (the designer's `body/x` form); conditions as `and` / `or` / `not` / `equals`
  objects; `runAfter` with the statuses an action waits for (Succeeded, Failed, Skipped, TimedOut); an
  `If` runs `actions` or `else`.
* The asynchronous pattern (articles/logic-apps/logic-apps-create-api-app.md, "Perform long-running
  tasks with the asynchronous pattern"; articles/connectors/connectors-native-http.md, "Asynchronous
  request-response behavior"): a 202 with a `location` header makes the engine poll that URL with GET,
  waiting `retry-after` seconds (20 by default) between polls, until an answer is not 202; that answer
  is the action's outcome. The Location must be an absolute URL. `DisableAsyncPattern` in
  `operationOptions` turns polling off; the action's `limit.timeout` bounds it (then TimedOut).
* The retry policy (articles/logic-apps/logic-apps-exception-handling.md): 408, 429 and 5xx answers are
  retried; `exponential` with `count` and `interval`.

Unverified, and kept out of what the tests conclude: whether a custom connector's polls go through the
connection (the player sends the function key with each poll, as a connection would), whether the
retry policy also applies to polls (the player does not retry them), and the engine's exact waits (the
player honours Retry-After up to `max_wait_seconds`, a test's bound, and bounds the whole polling by
`poll_deadline_seconds` in place of the action's days-long `limit.timeout`). The connectors other than
ours are recorders: the player checks the operation ids and parameter names it is given, the tests
check the values.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

# --- expressions ------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_$][\w$]*)"
    r"|(?P<symbol>[(),\[\]?.]))"
)


class ExpressionError(Exception):
    """An expression the player does not know: the test fails rather than guessing."""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"cannot read {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _path(value: Any, key: Any) -> Any:
    """value?[key], where a string key 'a/b' walks a property path (the designer's body/x form)."""
    for part in str(key).split("/") if isinstance(key, str) else [key]:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and -len(value) <= part < len(value):
            value = value[part]
        else:
            return None
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass
class Context:
    parameters: Mapping[str, Any]
    trigger_outputs: Mapping[str, Any]
    outputs: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    items: list[Any] = field(default_factory=list)  # the element a Select's `select` is evaluated for

    def functions(self) -> dict[str, Callable[..., Any]]:
        def output_of(name: str) -> Any:
            if name not in self.outputs:
                raise ExpressionError(f"outputs('{name}') before the action ran")
            return self.outputs[name]

        def item() -> Any:
            if not self.items:
                raise ExpressionError("item() outside a Select")
            return self.items[-1]

        return {
            "parameters": lambda name: self.parameters[name],
            "body": lambda name: _path(output_of(name), "body"),
            "item": item,
            "if": lambda condition, when_true, when_false: when_true if condition else when_false,
            "join": lambda values, separator: separator.join("" if value is None else str(value) for value in values),
            "json": lambda text: json.loads(text),
            "triggerOutputs": lambda: self.trigger_outputs,
            "outputs": output_of,
            "empty": _empty,
            "contains": lambda collection, value: (value in collection) if collection is not None else False,
            "split": lambda text, separator: str(text).split(separator),
            "replace": lambda text, old, new: str(text).replace(old, new),
            "take": lambda value, count: value[:count] if value is not None else None,
            "concat": lambda *parts: "".join("" if part is None else str(part) for part in parts),
            "coalesce": lambda *values: next((value for value in values if value is not None), None),
            "string": lambda value: json.dumps(value) if isinstance(value, (dict, list)) else str(value),
            "utcNow": lambda: self.now().isoformat(),
            "true": lambda: True,
            "false": lambda: False,
        }

    def evaluate(self, value: Any) -> Any:
        """A workflow value: strings starting with @ are expressions; objects and lists are evaluated inside."""
        if isinstance(value, dict):
            return {key: self.evaluate(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.evaluate(item) for item in value]
        if not isinstance(value, str) or not value.startswith("@"):
            return value
        if value.startswith("@@"):
            return value[1:]
        if "@{" in value:
            raise ExpressionError(f"string interpolation is not played: {value}")
        tokens = _tokens(value[1:])
        result, rest = self._expression(tokens)
        if rest:
            raise ExpressionError(f"unread {rest} in {value}")
        return result

    def _expression(self, tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
        if not tokens:
            raise ExpressionError("an expression ends too early")
        (kind, text), rest = tokens[0], tokens[1:]
        if kind == "string":
            value: Any = text[1:-1].replace("''", "'")
        elif kind == "number":
            value = float(text) if "." in text else int(text)
        elif kind == "name" and text in ("true", "false", "null") and (not rest or rest[0] != ("symbol", "(")):
            value = {"true": True, "false": False, "null": None}[text]
        elif kind == "name":
            if not rest or rest[0] != ("symbol", "("):
                raise ExpressionError(f"{text} is not a function call")
            arguments, rest = self._arguments(rest[1:])
            functions = self.functions()
            if text not in functions:
                raise ExpressionError(f"the player knows no function {text}()")
            value = functions[text](*arguments)
        else:
            raise ExpressionError(f"unexpected {text}")
        while rest and rest[0][1] in ("?", "[", "."):
            if rest[0][1] == "?":
                rest = rest[1:]
            if rest[0][1] == "[":
                key, rest = self._expression(rest[1:])
                if not rest or rest[0][1] != "]":
                    raise ExpressionError("] expected")
                value, rest = _path(value, key), rest[1:]
            elif rest[0][1] == ".":
                value, rest = _path(value, rest[1][1]), rest[2:]
        return value, rest

    def _arguments(self, tokens: list[tuple[str, str]]) -> tuple[list[Any], list[tuple[str, str]]]:
        arguments: list[Any] = []
        if tokens and tokens[0][1] == ")":
            return arguments, tokens[1:]
        while True:
            value, tokens = self._expression(tokens)
            arguments.append(value)
            if not tokens:
                raise ExpressionError(") expected")
            if tokens[0][1] == ")":
                return arguments, tokens[1:]
            if tokens[0][1] != ",":
                raise ExpressionError(f", expected, not {tokens[0][1]}")
            tokens = tokens[1:]

    def holds(self, condition: Mapping[str, Any]) -> bool:
        """An If's expression: and / or / not / equals objects, or an expression string."""
        if isinstance(condition, str):
            return bool(self.evaluate(condition))
        [(operator, operands)] = condition.items()
        if operator == "and":
            return all(self.holds(operand) for operand in operands)
        if operator == "or":
            return any(self.holds(operand) for operand in operands)
        if operator == "not":
            return not self.holds(operands)
        if operator == "equals":
            left, right = (self.evaluate(operand) for operand in operands)
            return left == right
        raise ExpressionError(f"the player knows no operator {operator}")


# --- the definition as a tree -------------------------------------------------------------------------------


def walk(
    actions: Mapping[str, Any], ancestors: tuple[tuple[str, dict, bool], ...] = ()
) -> Iterator[tuple[str, dict, tuple[tuple[str, dict, bool], ...]]]:
    """(name, action, the If actions above it with the branch it is on) for every action."""
    for name, action in actions.items():
        yield name, action, ancestors
        if action.get("type") == "If":
            yield from walk(action.get("actions", {}), (*ancestors, (name, action, True)))
            yield from walk(action.get("else", {}).get("actions", {}), (*ancestors, (name, action, False)))
        else:
            yield from walk(action.get("actions", {}), ancestors)


def reachable(ancestors: tuple[tuple[str, dict, bool], ...], context: Context) -> bool:
    return all(context.holds(action["expression"]) is branch for _, action, branch in ancestors)


# --- a run ----------------------------------------------------------------------------------------------------


@dataclass
class ActionRun:
    name: str
    status: str  # Succeeded, Failed, Skipped, TimedOut
    inputs: Any = None
    outputs: Any = None


@dataclass
class ConnectorCall:
    action: str
    connection: str
    operation_id: str
    parameters: dict[str, Any]


ConnectorHandler = Callable[[str, dict[str, Any], dict[str, Any]], tuple[str, dict[str, Any]]]


class FlowRun:
    """One run of the flow for one trigger record (a splitOn item): the actions in runAfter order."""

    def __init__(
        self,
        flow: Mapping[str, Any],
        parameters: Mapping[str, Any],
        record: Mapping[str, Any],
        connectors: Mapping[str, ConnectorHandler],
    ) -> None:
        self.definition = flow["properties"]["definition"]
        self.context = Context(parameters, {"body": dict(record), "headers": {}})
        self.connectors = connectors
        self.runs: dict[str, ActionRun] = {}
        self.calls: list[ConnectorCall] = []

    def run(self) -> FlowRun:
        self._scope(self.definition["actions"])
        return self

    def ran(self, name: str) -> bool:
        return name in self.runs and self.runs[name].status != "Skipped"

    def _scope(self, actions: Mapping[str, Any]) -> None:
        pending = dict(actions)
        while pending:
            ready = [
                name
                for name, action in pending.items()
                if all(dependency in self.runs for dependency in action.get("runAfter", {}))
            ]
            if not ready:
                raise ExpressionError(f"runAfter cannot be satisfied: {sorted(pending)}")
            for name in ready:
                action = pending.pop(name)
                waits = action.get("runAfter", {})
                if all(
                    self.runs[dependency].status in (statuses or ["Succeeded"])
                    for dependency, statuses in waits.items()
                ):
                    self._action(name, action)
                else:
                    self._skip(name, action)

    def _skip(self, name: str, action: Mapping[str, Any]) -> None:
        self.runs[name] = ActionRun(name, "Skipped")
        for inner, _, _ in walk(action.get("actions", {})):
            self.runs.setdefault(inner, ActionRun(inner, "Skipped"))
        for inner, _, _ in walk(action.get("else", {}).get("actions", {})):
            self.runs.setdefault(inner, ActionRun(inner, "Skipped"))

    def _action(self, name: str, action: Mapping[str, Any]) -> None:
        kind = action["type"]
        if kind == "If":
            branch = self.context.holds(action["expression"])
            taken = action.get("actions", {}) if branch else action.get("else", {}).get("actions", {})
            other = action.get("else", {}).get("actions", {}) if branch else action.get("actions", {})
            for inner, _, _ in walk(other):
                self.runs[inner] = ActionRun(inner, "Skipped")
            self._scope(taken)
            failed = any(self.runs[inner].status in ("Failed", "TimedOut") for inner in taken)
            self.runs[name] = ActionRun(name, "Failed" if failed else "Succeeded", outputs={"expression": branch})
            return
        if kind == "OpenApiConnection":
            inputs = action["inputs"]
            host = inputs["host"]
            parameters = self.context.evaluate(inputs.get("parameters", {}))
            self.calls.append(ConnectorCall(name, host["connectionName"], host["operationId"], parameters))
            status, outputs = self.connectors[host["connectionName"]](host["operationId"], parameters, dict(action))
            self.context.outputs[name] = outputs
            self.runs[name] = ActionRun(name, status, parameters, outputs)
            return
        if kind == "Select":
            # Data operations, "Select": `from` must be an array (the engine fails the action on null); its
            # output `body` is `select` evaluated for each element, item() naming the element.
            elements = self.context.evaluate(action["inputs"]["from"])
            if not isinstance(elements, list):
                self.runs[name] = ActionRun(name, "Failed")
                return
            selected = []
            for element in elements:
                self.context.items.append(element)
                try:
                    selected.append(self.context.evaluate(action["inputs"]["select"]))
                finally:
                    self.context.items.pop()
            self.context.outputs[name] = {"body": selected}
            self.runs[name] = ActionRun(name, "Succeeded", outputs={"body": selected})
            return
        raise ExpressionError(f"the player does not play actions of type {kind}")


# --- connectors -----------------------------------------------------------------------------------------------


def _seconds(iso_duration: str) -> float:
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", iso_duration)
    if match is None:
        raise ExpressionError(f"not an ISO 8601 duration the player reads: {iso_duration}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


@dataclass
class Poll:
    status: int
    location: str
    waited_seconds: float


@dataclass
class CustomConnector:
    """The custom connector as the engine calls it: the swagger's operation over HTTP at `base_url`, the
    retry policy, then the asynchronous pattern."""

    swagger: Mapping[str, Any]
    base_url: str
    function_key: str = ""
    max_wait_seconds: float = 1.0
    poll_deadline_seconds: float = 60.0
    before_poll: Callable[[int, requests.Response], None] | None = None
    polls: list[Poll] = field(default_factory=list)
    sleep: Callable[[float], None] = time.sleep

    def _operation(self, operation_id: str) -> tuple[str, str, dict]:
        for path, item in self.swagger["paths"].items():
            for method, operation in item.items():
                if operation.get("operationId") == operation_id:
                    return path, method, operation
        raise ExpressionError(f"no operation {operation_id} in the swagger")

    def __call__(
        self, operation_id: str, parameters: dict[str, Any], action: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        path, method, operation = self._operation(operation_id)
        for name, value in parameters.items():
            if name.startswith("body/"):
                continue
            if not any(p["name"] == name and p["in"] == "path" for p in operation["parameters"]):
                raise ExpressionError(f"{operation_id} has no parameter {name}")
            path = path.replace("{" + name + "}", str(value))
        body = {
            name.removeprefix("body/"): value
            for name, value in parameters.items()
            if name.startswith("body/") and value is not None
        }
        url = self.base_url.rstrip("/") + self.swagger["basePath"] + path
        headers = {"x-functions-key": self.function_key} if self.function_key else {}
        response = self._with_retries(method, url, headers, body if body else None, action["inputs"].get("retryPolicy"))
        if response.status_code == 202 and "DisableAsyncPattern" not in str(action.get("operationOptions", "")):
            response = self._poll(response, headers, action)
            if response is None:
                return "TimedOut", {"statusCode": None, "headers": {}, "body": None}
        outputs = {
            "statusCode": response.status_code,
            "headers": dict(response.headers),
            "body": response.json() if response.content else None,
        }
        return ("Succeeded" if 200 <= response.status_code < 300 else "Failed"), outputs

    def _with_retries(
        self, method: str, url: str, headers: dict[str, str], body: Any, policy: Mapping[str, Any] | None
    ) -> requests.Response:
        count = int((policy or {}).get("count", 4)) if (policy or {}).get("type", "exponential") != "none" else 0
        for attempt in range(count + 1):
            response = requests.request(method.upper(), url, json=body, headers=headers, timeout=30)
            if response.status_code not in (408, 429) and response.status_code < 500:
                return response
            if attempt < count:
                self.sleep(min(self.max_wait_seconds, _seconds((policy or {}).get("interval", "PT7S"))))
        return response

    def _poll(
        self, response: requests.Response, headers: dict[str, str], action: Mapping[str, Any]
    ) -> requests.Response | None:
        limit = _seconds(action.get("limit", {}).get("timeout", "P90D"))
        deadline = time.monotonic() + min(limit, self.poll_deadline_seconds)
        while response.status_code == 202:
            location = response.headers.get("Location", "")
            parts = urlsplit(location)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise AssertionError(f"the engine wants an absolute Location, not {location!r}")
            retry_after = response.headers.get("Retry-After")
            wait = min(float(retry_after) if retry_after and retry_after.isdigit() else 20.0, self.max_wait_seconds)
            if time.monotonic() + wait > deadline:
                return None
            if self.before_poll is not None:
                self.before_poll(len(self.polls), response)
            self.sleep(wait)
            response = requests.get(location, headers=headers, timeout=30)
            self.polls.append(Poll(response.status_code, location, wait))
        return response


@dataclass
class Recorder:
    """A connector whose calls are recorded and answered with success (Salesforce, Office 365, SharePoint):
    the operation must be one of `operations`, with the parameter names it takes."""

    operations: Mapping[str, set[str]]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(
        self, operation_id: str, parameters: dict[str, Any], action: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        if operation_id not in self.operations:
            raise AssertionError(f"operation {operation_id} is not one the player knows for this connector")
        for name in parameters:
            if name.split("/", 1)[0] not in self.operations[operation_id]:
                raise AssertionError(f"{operation_id} takes no parameter {name}")
        self.calls.append((operation_id, parameters))
        return "Succeeded", {"statusCode": 200, "headers": {}, "body": {}}


def salesforce_recorder() -> Recorder:
    # Microsoft Learn, Salesforce connector reference, "Update record (V3)" (PatchItem_V3): table, id,
    # item (dynamic: the record's fields) and $select; "This operation updates a record and allows null values."
    return Recorder({"PatchItem_V3": {"table", "id", "item", "$select"}})


def mail_recorder() -> Recorder:
    return Recorder({"SendEmailV2": {"emailMessage"}})


def sharepoint_recorder() -> Recorder:
    return Recorder({"PostItem": {"dataset", "table", "item"}})
