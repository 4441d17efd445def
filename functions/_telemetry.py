"""The trigger side of telemetry: one decorator per function that gives the invocation its span and its
invocation id on every log record.

The function needs a `context: func.Context` parameter (annotated exactly so: the Python worker refuses
anything else for `context`, azure_functions_worker/functions.py) for the worker, or the local host, to
pass the invocation's id and the host's trace context.

With PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY the worker has already attached the host's trace
context (`context.trace_context`, W3C traceparent/tracestate) before calling the function
(dispatcher.py `_run_sync_func` -> `configure_opentelemetry`): the host's invocation span is the
request in Application Insights, and ours is its INTERNAL child. Without it (the local host, or the
worker's telemetry off) nothing is attached: the span continues `context.trace_context` when that
carries a traceparent and is the invocation's SERVER span itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from shared import telemetry
from shared.log import sync_context

_F = TypeVar("_F", bound=Callable[..., Any])

# The one rejection the use cases never see: a request that is not a valid create (HTTP 400).
_INVALID_REQUEST_STATUS = 400


def invocation(function_name: str, *, counts_invalid_requests: bool = False) -> Callable[[_F], _F]:
    """Wrap a trigger: its log records carry `invocation_id`; with telemetry on, a span named after the
    function (attributes faas.invocation_id, faas.trigger, http.response.status_code for HTTP).
    `counts_invalid_requests`: a 400 answer counts as sapsync.creates{outcome=rejected, reason=invalid_request}."""

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            context = kwargs.get("context")
            invocation_id = getattr(context, "invocation_id", None)
            with sync_context(invocation_id=invocation_id):
                if not telemetry.enabled():
                    return function(*args, **kwargs)
                return _traced(function_name, context, counts_invalid_requests, function, args, kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _traced(
    function_name: str,
    context: Any,
    counts_invalid_requests: bool,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    attached = telemetry.host_span_attached()
    carrier = None if attached else (_trace_context_headers(context) or _request_headers(args, kwargs))
    attributes = {"faas.name": function_name}
    invocation_id = getattr(context, "invocation_id", None)
    if invocation_id:
        attributes["faas.invocation_id"] = str(invocation_id)
    with telemetry.span(
        function_name, kind="internal" if attached else "server", attributes=attributes, parent_headers=carrier
    ) as current:
        result = function(*args, **kwargs)
        status = getattr(result, "status_code", None)
        if current is not None and isinstance(status, int):
            current.set_attribute("http.response.status_code", status)
            if status >= 500:
                telemetry.mark_failed(current, f"HTTP {status}")
        if counts_invalid_requests and status == _INVALID_REQUEST_STATUS:
            telemetry.sync_metrics().outcome(telemetry.SyncOutcome.REJECTED, reason="invalid_request")
        return result


def _trace_context_headers(context: Any) -> dict[str, str] | None:
    """`context.trace_context` as W3C headers (azure.functions.TraceContext: trace_parent, trace_state;
    the local host passes none)."""
    trace_context = getattr(context, "trace_context", None)
    parent = getattr(trace_context, "trace_parent", None)
    if not parent:
        return None
    state = getattr(trace_context, "trace_state", None)
    return {"traceparent": str(parent), **({"tracestate": str(state)} if state else {})}


def _request_headers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, str] | None:
    """The caller's own traceparent on an HTTP trigger's request, where no host passed a trace context
    (the local host): in Azure the host continues it and hands the result on in `context.trace_context`."""
    for value in (*args, *kwargs.values()):
        headers = getattr(value, "headers", None)
        if headers is not None and hasattr(headers, "get") and headers.get("traceparent"):
            state = headers.get("tracestate")
            return {"traceparent": str(headers.get("traceparent")), **({"tracestate": str(state)} if state else {})}
    return None
