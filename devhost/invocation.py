"""Calls a user function the way the Python worker does: sync ones in a thread pool, async ones awaited."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from devhost.app_loader import HTTP_OUTPUT, CollectedOutput, DiscardedOutput, FunctionSpec

logger = logging.getLogger("devhost.invocation")

_thread_local = threading.local()


def _user_frames(trace: TracebackType | None) -> TracebackType | None:
    """The traceback from the user's code on: the host's and the thread pool's frames are noise in the log."""
    first = trace
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename != __file__ and not filename.endswith(("concurrent/futures/thread.py", "asyncio/events.py")):
            return trace
        trace = trace.tb_next
    return first


class InvocationContext:
    """What a `context` parameter receives (azure.functions.Context's attributes)."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self.invocation_id = invocation_id
        self.function_name = function_name
        self.function_directory = function_directory
        self.thread_local_storage = _thread_local
        self.trace_context = None
        self.retry_context = None


@dataclass
class InvocationResult:
    invocation_id: str
    succeeded: bool
    value: Any = None
    http_output: CollectedOutput | None = None
    duration_ms: float = 0.0


class Invoker:
    def __init__(self, executor: Executor, function_directory: str) -> None:
        self._executor = executor
        self._function_directory = function_directory

    def _arguments(self, spec: FunctionSpec, trigger_value: Any, invocation_id: str
                   ) -> tuple[dict[str, Any], CollectedOutput | None]:
        arguments: dict[str, Any] = {}
        http_output = None
        trigger_name = spec.trigger.get("name")
        for binding in spec.bindings:
            name = binding.get("name")
            if not name or name == "$return" or name not in spec.parameter_names:
                continue
            if name == trigger_name:
                arguments[name] = trigger_value
            elif str(binding.get("type", "")).lower() == HTTP_OUTPUT:
                http_output = arguments[name] = CollectedOutput()
            else:
                # Input bindings get None and output bindings a sink: the function still runs, see the README.
                is_output = str(binding.get("direction", "")).upper().endswith("OUT")
                arguments[name] = DiscardedOutput(spec.name, binding) if is_output else None
        if "context" in spec.parameter_names and "context" not in arguments:
            arguments["context"] = InvocationContext(invocation_id, spec.name, self._function_directory)
        return arguments, http_output

    async def invoke(self, spec: FunctionSpec, trigger_value: Any, describe: Callable[[InvocationResult], str]
                     ) -> InvocationResult:
        """Runs the function; logs one line (and the traceback when it raises) like the host's Executed line."""
        invocation_id = str(uuid.uuid4())
        arguments, http_output = self._arguments(spec, trigger_value, invocation_id)
        started = time.perf_counter()
        result = InvocationResult(invocation_id=invocation_id, succeeded=False, http_output=http_output)
        try:
            if spec.is_async:
                result.value = await spec.user_function(**arguments)
            else:
                loop = asyncio.get_running_loop()
                result.value = await loop.run_in_executor(self._executor, lambda: spec.user_function(**arguments))
            result.succeeded = True
        except Exception as error:
            logger.error("Exception while executing function: Functions.%s (Id=%s)", spec.name, invocation_id,
                         exc_info=(type(error), error, _user_frames(error.__traceback__)))
        result.duration_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms) %s",
            spec.name, "Succeeded" if result.succeeded else "Failed", invocation_id, result.duration_ms,
            describe(result),
        )
        return result
