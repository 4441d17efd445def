"""When telemetry is on, who exports, and how a trigger's span joins the host's trace."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import azure.functions as func
import pytest
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bench.cold_start import child_environment
from bench.common import ROOT
from functions._telemetry import invocation
from shared import bootstrap, telemetry
from shared.settings import SettingsError, load_telemetry_settings
from shared.telemetry import exporter
from tests.support.telemetry import captured_telemetry

CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/"
HOST_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
HOST_TRACEPARENT = f"00-{HOST_TRACE_ID}-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("environment", "enabled", "worker_exports"),
    [
        ({}, False, False),
        ({"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}, True, False),
        (
            {
                "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true",
                "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION,
            },
            True,
            True,
        ),
        ({"PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "1"}, True, True),  # the worker's own true-like values
        (
            {
                "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "false",
                "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION,
            },
            True,
            False,
        ),
        ({"AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}, False, False),  # the agent's, not the app's
    ],
)
def test_the_function_app_exports_only_when_a_setting_asks(environment, enabled, worker_exports):
    settings = load_telemetry_settings(environment)
    assert (settings.enabled, settings.worker_exports) == (enabled, worker_exports)


def test_the_agent_reads_its_own_connection_string_only():
    assert not load_telemetry_settings({"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}, agent=True).enabled
    agent = load_telemetry_settings({"AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}, agent=True)
    assert agent.enabled and agent.connection_string == CONNECTION and CONNECTION not in repr(agent)


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        (
            {"APPLICATIONINSIGHTS_CONNECTION_STRING": "https://example.invalid/"},
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
        ),
        (
            {"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=Key"},
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        ),
        (
            {"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD;Client=1"},
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        ),
    ],
)
def test_a_malformed_setting_fails_naming_it(environment, named):
    with pytest.raises(SettingsError, match=named):
        load_telemetry_settings(environment)


@pytest.mark.parametrize(
    "value",
    ["Authorization=AAD", "Authorization=AAD;ClientId=11111111-2222-3333-4444-5555", "ClientId=abc;Authorization=AAD"],
)
def test_entra_ingestion_strings_the_exporter_reads_are_accepted(value):
    settings = load_telemetry_settings(
        {"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": value, "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}
    )
    assert settings.enabled


@pytest.fixture
def distro_calls(monkeypatch):
    """Stands in for configure_azure_monitor (which would start exporter threads): records its calls."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(
        exporter, "_configure_azure_monitor", lambda connection, service: calls.append((connection, service))
    )
    telemetry.deactivate()
    yield calls
    telemetry.deactivate()


def test_with_the_workers_setting_the_app_adds_no_exporter_of_its_own(distro_calls):
    assert bootstrap.start_telemetry(
        "function",
        {"PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true", "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION},
    )
    assert telemetry.enabled() and distro_calls == []


def test_with_a_connection_string_alone_the_distro_is_configured_once(distro_calls):
    environment = {"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}
    assert bootstrap.start_telemetry("function", environment) and bootstrap.start_telemetry("function", environment)
    assert distro_calls == [(CONNECTION, "sap-customer-sync")]


def test_without_settings_telemetry_stays_off(distro_calls):
    assert not bootstrap.start_telemetry("function", {}) and not bootstrap.start_telemetry("agent", {})
    assert not telemetry.enabled() and distro_calls == []


def _import_function_app(extra: dict[str, str]) -> dict[str, bool]:
    environment = {**child_environment(), **extra}
    code = (
        "import sys, json; import function_app; "
        "print(json.dumps({'otel': any(m.startswith('opentelemetry') for m in sys.modules), "
        "'distro': any(m.startswith('azure.monitor') for m in sys.modules)}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cold_start_without_telemetry_imports_none_of_opentelemetry():
    assert _import_function_app({}) == {"otel": False, "distro": False}


def test_under_the_workers_telemetry_function_app_imports_no_exporter():
    # The worker imported the distro itself before function_app; the app only uses the API.
    assert _import_function_app({"PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true"}) == {
        "otel": True,
        "distro": False,
    }


class Context:
    def __init__(self, trace_parent: str | None = None) -> None:
        self.invocation_id = "8f6c1d2e-0000-4000-8000-000000000001"
        self.trace_context = type("TraceContext", (), {"trace_parent": trace_parent, "trace_state": ""})()


@invocation("Probe")
def probe(req: func.HttpRequest, context: func.Context = None) -> func.HttpResponse:
    with telemetry.span("work"):
        return func.HttpResponse("ok", status_code=200)


def _request() -> func.HttpRequest:
    return func.HttpRequest("POST", "http://localhost/api/probe", body=b"")


def test_under_the_worker_the_span_is_the_hosts_invocations_child():
    with captured_telemetry() as captured:
        # What the worker does before a sync function runs (dispatcher.py configure_opentelemetry).
        token = otel_context.attach(TraceContextTextMapPropagator().extract({"traceparent": HOST_TRACEPARENT}))
        try:
            probe(_request(), context=Context(HOST_TRACEPARENT))
        finally:
            otel_context.detach(token)
        span = next(s for s in captured.spans() if s.name == "Probe")
    assert span.kind is SpanKind.INTERNAL and f"{span.context.trace_id:032x}" == HOST_TRACE_ID
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
    assert span.attributes["faas.invocation_id"] == Context().invocation_id


def test_without_the_worker_the_span_is_the_server_span_of_the_hosts_trace_context():
    with captured_telemetry() as captured:
        probe(_request(), context=Context(HOST_TRACEPARENT))
        spans = {s.name: s for s in captured.spans()}
    assert spans["Probe"].kind is SpanKind.SERVER and f"{spans['Probe'].context.trace_id:032x}" == HOST_TRACE_ID
    assert spans["work"].parent.span_id == spans["Probe"].context.span_id
    assert spans["Probe"].attributes["http.response.status_code"] == 200


def test_with_telemetry_off_the_invocation_id_still_reaches_every_record(caplog):
    from shared import log

    @invocation("Probe")
    def logs(context: func.Context = None) -> None:
        logging.getLogger("shared.usecases.probe").info("inside")

    caplog.handler.addFilter(log.CorrelationFilter())
    with caplog.at_level("INFO"):
        logs(context=Context())
    assert [r.invocation_id for r in caplog.records if r.name == "shared.usecases.probe"] == [Context().invocation_id]
