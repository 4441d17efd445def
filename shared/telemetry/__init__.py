"""Tracing and metrics through OpenTelemetry, exported to Application Insights; off unless configured.

Nothing of OpenTelemetry is imported until telemetry is switched on, so a cold start without it pays
nothing (bench/cold_start.py). Who switches it on:

* the function app (`bootstrap.start_telemetry("function")`, from function_app.py): with
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY the Python worker has already called
  `configure_azure_monitor()` before importing function_app (Azure/azure-functions-python-worker,
  dispatcher.py `initialize_azure_monitor`), so the app only uses the global providers it set: one
  exporter. Without that setting but with APPLICATIONINSIGHTS_CONNECTION_STRING (a local run against a
  real resource) the app configures the distro itself, once;
* the on-premise agent (`bootstrap.start_telemetry("agent")`): with AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING;
* tests (`activate(tracer_provider=..., meter_provider=...)`): in-memory exporters and readers.

The trace: the host's invocation (its traceparent comes from the caller, the custom connector) ->
the function's own span (functions/_telemetry.py) -> the SAP port's client span (shared/instrumented.py) ->
W3C `traceparent`/`tracestate` on the relay request (shared/sap/relay.py `inject`) -> the relay
delivers them in `requestHeaders` -> the agent's server span (agent/api.py) -> its RFC calls
(shared/sap/rfc.py). Spans never carry an exception's text (it may quote account data; the logs keep
it, redacted): only its type and, for an SAP error, its stable kind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from shared.telemetry.port import NoMetrics, SyncMetrics, SyncOutcome

__all__ = [
    "SyncMetrics",
    "SyncOutcome",
    "activate",
    "deactivate",
    "enabled",
    "host_span_attached",
    "inject",
    "mark_failed",
    "span",
    "sync_metrics",
]

INSTRUMENTATION_NAME = "sap_customer_sync"


class _Active:
    """The tracer and meter in use while telemetry is on (OpenTelemetry imported from here on)."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from opentelemetry import metrics, propagate, trace

        from shared.telemetry.metrics import OtelSyncMetrics

        self.trace = trace
        self.propagate = propagate
        self.tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)
        self.metrics = OtelSyncMetrics(metrics.get_meter(INSTRUMENTATION_NAME, meter_provider=meter_provider))


_active: _Active | None = None
_lock = threading.Lock()


def enabled() -> bool:
    return _active is not None


def activate(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Switch telemetry on over these providers (None: the global ones, as configure_azure_monitor set them)."""
    global _active
    with _lock:
        _active = _Active(tracer_provider, meter_provider)


def deactivate() -> None:
    global _active
    with _lock:
        _active = None


def sync_metrics() -> SyncMetrics:
    """The metrics port for the composition root: OpenTelemetry while on, else nothing."""
    active = _active
    return active.metrics if active is not None else NoMetrics()


_KINDS = {"server": "SERVER", "client": "CLIENT", "internal": "INTERNAL"}


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: str = "internal",
    attributes: Mapping[str, Any] | None = None,
    parent_headers: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """A span around the block (None when telemetry is off). `parent_headers`: continue the W3C trace
    whose traceparent/tracestate they carry (a server span's caller); else the current span's child.
    An exception marks the span failed with its type only, never its text, and is re-raised."""
    active = _active
    if active is None:
        yield None
        return
    trace = active.trace
    context = active.propagate.extract(_lower_keys(parent_headers)) if parent_headers is not None else None
    with active.tracer.start_as_current_span(
        name,
        context=context,
        kind=getattr(trace.SpanKind, _KINDS[kind]),
        attributes=dict(attributes or {}),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as error:
            mark_failed(current, error)
            raise


def mark_failed(current: Any, error: BaseException | str) -> None:
    """Mark a span failed, naming the error's type (and an SAP error's kind) but never quoting its text."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    if isinstance(error, BaseException):
        # Every error root carries a `kind` (shared/sap/errors.py's table); the span attribute is the SAP
        # errors' (sap.error.kind), and only they carry a `wire_kind` (the SAP wire's name of the class).
        kind = getattr(error, "kind", None) if hasattr(error, "wire_kind") else None
        described = type(error).__name__ + (f" ({kind})" if isinstance(kind, str) else "")
        current.set_attribute("error.type", type(error).__name__)
        if isinstance(kind, str):
            current.set_attribute("sap.error.kind", kind)
    else:
        described = error
        current.set_attribute("error.type", error)
    current.set_status(Status(StatusCode.ERROR, described))


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current W3C trace context (traceparent, tracestate) to outgoing headers; nothing when off."""
    active = _active
    if active is not None:
        active.propagate.inject(headers)


def host_span_attached() -> bool:
    """True when a remote span context is current: the Functions worker attached the host's invocation."""
    active = _active
    if active is None:
        return False
    span_context = active.trace.get_current_span().get_span_context()
    return span_context.is_valid and span_context.is_remote


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    # The W3C propagator looks up lower-case names; HTTP header names are case-insensitive.
    return {str(key).lower(): str(value) for key, value in headers.items()}
