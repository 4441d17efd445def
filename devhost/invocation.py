"""Calls a user function the way the Python worker does: trigger decoded and HTTP output encoded by
azure.functions' converters, sync functions in a thread pool, async ones awaited; returns an InvocationResult."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from concurrent.futures import Executor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from azure.functions import meta

from devhost.app_loader import HTTP_OUTPUT, CollectedOutput, DiscardedOutput, FunctionSpec
from devhost.bindings import TriggerData, decode_trigger, encode_http_output

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


@dataclass(frozen=True)
class InvocationResult:
    """What one invocation produced; the caller (HTTP server, queue listener) acts on it.

    `value` is what the function returned (or set on its `Out[HttpResponse]` parameter); `http_output`
    is that value as azure.functions' HttpResponseConverter encodes it (HTTP triggers only; None when the
    function set no HTTP output); `error` is the exception that failed the invocation (raised by the
    function, or the output could not be encoded), None on success.
    """

    invocation_id: str
    function_name: str
    duration_ms: float
    value: Any = None
    http_output: meta.Datum | None = None
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


def log_executed(result: InvocationResult, detail: str) -> None:
    """The host's one line per invocation, e.g. "Executed 'Functions.x' (Succeeded, Id=..., Duration=3ms)"."""
    logger.info(
        "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms) %s",
        result.function_name,
        "Succeeded" if result.succeeded else "Failed",
        result.invocation_id,
        result.duration_ms,
        detail,
    )


class Invoker:
    """Runs functions as the worker does: the trigger decoded by its azure.functions converter, the function
    called (sync ones on the executor, async ones awaited), its HTTP output encoded by HttpResponseConverter.
    `invoke` returns an InvocationResult and has no other effect than logging a failure's traceback."""

    def __init__(self, executor: Executor, function_directory: str) -> None:
        self._executor = executor
        self._function_directory = function_directory

    def _arguments(
        self, spec: FunctionSpec, trigger_value: Any, invocation_id: str
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

    @staticmethod
    def _has_http_output(spec: FunctionSpec) -> bool:
        return any(str(binding.get("type", "")).lower() == HTTP_OUTPUT for binding in spec.bindings)

    async def invoke(self, spec: FunctionSpec, trigger: TriggerData) -> InvocationResult:
        """Runs the function once for this trigger data and returns what came of it."""
        invocation_id = str(uuid.uuid4())
        started = time.perf_counter()
        value: Any = None
        http_output: meta.Datum | None = None
        error: BaseException | None = None
        try:
            # Decoding and encoding are part of the invocation, as in the worker: an error there fails it.
            arguments, collected = self._arguments(spec, decode_trigger(trigger), invocation_id)
            if spec.is_async:
                value = await spec.user_function(**arguments)
            else:
                loop = asyncio.get_running_loop()
                value = await loop.run_in_executor(self._executor, lambda: spec.user_function(**arguments))
            if collected is not None:
                value = collected.get()
            if self._has_http_output(spec):
                http_output = encode_http_output(value)
        except Exception as raised:
            error = raised
            logger.error(
                "Exception while executing function: Functions.%s (Id=%s)",
                spec.name,
                invocation_id,
                exc_info=(type(raised), raised, _user_frames(raised.__traceback__)),
            )
        return InvocationResult(
            invocation_id=invocation_id,
            function_name=spec.name,
            duration_ms=(time.perf_counter() - started) * 1000,
            value=value,
            http_output=http_output,
            error=error,
        )
