"""Imports the app's function_app.py the way the Python worker does and describes its functions."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
from azure.functions.decorators.function_app import FunctionRegister

logger = logging.getLogger(__name__)

APP_MODULE_NAME = "function_app"
HTTP_TRIGGER = "httptrigger"
QUEUE_TRIGGER = "queuetrigger"
HTTP_OUTPUT = "http"


class AppLoadError(Exception):
    """function_app.py is missing, fails to import, or holds no (or more than one) FunctionApp."""


@dataclass(frozen=True)
class FunctionSpec:
    """One registered function, read from the FunctionApp object (the same metadata the worker indexes)."""

    name: str
    trigger_type: str  # as in function.json, e.g. "httpTrigger", "queueTrigger", "timerTrigger"
    trigger: dict[str, Any]  # the trigger binding's function.json form: name, route, methods, queueName, ...
    bindings: tuple[dict[str, Any], ...]  # every binding, the trigger included
    user_function: Callable[..., Any]
    is_async: bool
    parameter_names: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.trigger_type.lower()

    def other_bindings(self) -> list[dict[str, Any]]:
        """Bindings the local host does not serve (anything but the trigger and the HTTP response)."""
        return [
            binding
            for binding in self.bindings
            if binding is not self.trigger and str(binding.get("type", "")).lower() != HTTP_OUTPUT
        ]


def import_app_module(app_dir: Path) -> ModuleType:
    """Imports DIR/function_app.py as module `function_app`, with DIR first on sys.path like the worker."""
    script = app_dir / "function_app.py"
    if not script.is_file():
        raise AppLoadError(f"{script} not found: the Python v2 programming model needs a function_app.py")
    app_path = str(app_dir)
    if app_path in sys.path:
        sys.path.remove(app_path)
    sys.path.insert(0, app_path)
    # Always a fresh import, as a host restart does: FunctionApp.get_functions() may be called once per app object.
    spec = importlib.util.spec_from_file_location(APP_MODULE_NAME, script)
    if spec is None or spec.loader is None:
        raise AppLoadError(f"{script} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[APP_MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[APP_MODULE_NAME]
        raise AppLoadError(f"importing {script} failed: {type(error).__name__}: {error}") from error
    return module


def find_function_app(module: ModuleType) -> FunctionRegister:
    apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    unique = list({id(app): app for app in apps}.values())
    if len(unique) != 1:
        raise AppLoadError(
            f"{module.__file__} must define exactly one azure.functions.FunctionApp at module level, "
            f"found {len(unique)}"
        )
    return unique[0]


def describe_functions(app: FunctionRegister) -> list[FunctionSpec]:
    specs = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger is None:  # get_functions() already refuses this; kept for type narrowing
            continue
        trigger_dict = trigger.get_dict_repr()
        bindings = tuple(
            trigger_dict if binding is trigger else binding.get_dict_repr() for binding in function.get_bindings()
        )
        user_function = function.get_user_function()
        specs.append(
            FunctionSpec(
                name=function.get_function_name() or user_function.__name__,
                trigger_type=str(trigger_dict.get("type") or trigger.type),
                trigger=trigger_dict,
                bindings=bindings,
                user_function=user_function,
                is_async=inspect.iscoroutinefunction(user_function),
                parameter_names=tuple(inspect.signature(user_function).parameters),
            )
        )
    return specs


def load_functions(app_dir: Path) -> list[FunctionSpec]:
    return describe_functions(find_function_app(import_app_module(app_dir)))


class ImportState:
    """sys.path and sys.modules["function_app"] as they were, so an in-process host can put them back."""

    def __init__(self) -> None:
        self.path = list(sys.path)
        self.module = sys.modules.get(APP_MODULE_NAME)

    def restore(self) -> None:
        sys.path[:] = self.path
        if self.module is None:
            sys.modules.pop(APP_MODULE_NAME, None)
        else:
            sys.modules[APP_MODULE_NAME] = self.module


class DiscardedOutput(func.Out):
    """Stands in for an output binding the local host does not implement: the value is dropped, with a warning."""

    def __init__(self, function_name: str, binding: dict[str, Any]) -> None:
        self._function_name = function_name
        self._binding = binding
        self._value: Any = None

    def set(self, val: Any) -> None:
        logger.warning(
            "%s: output binding %r (%s) is not served by the local host; the value is dropped",
            self._function_name,
            self._binding.get("name"),
            self._binding.get("type"),
        )
        self._value = val

    def get(self) -> Any:
        return self._value


class CollectedOutput(func.Out):
    """An HTTP response set through an `Out[HttpResponse]` parameter instead of being returned."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value
