"""The go-live check's telemetry area (shared/settings/preflight_telemetry.py): the connection string read as
the Azure Monitor exporter reads it (its ConnectionStringParser, checked here against the installed one), and
who exports."""

from __future__ import annotations

import pytest

from shared.core.preflight import Area, Verdict
from shared.settings.preflight_telemetry import check_telemetry, parse_problem

KEY = "0b7a8b5e-3c1d-4f2a-9e6b-5d4c3b2a1f00"
PORTAL = (
    f"InstrumentationKey={KEY};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;"
    "LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId=7c0e0f1a-1111-2222-3333-"
    "444455556666"
)


@pytest.mark.parametrize(
    ("text", "problem", "endpoint"),
    [
        (PORTAL, None, "https://westeurope-5.in.applicationinsights.azure.com"),
        (f"InstrumentationKey={KEY}", None, "https://dc.services.visualstudio.com"),
        (
            f"instrumentationkey={KEY};EndpointSuffix=applicationinsights.azure.cn",
            None,
            "https://dc.applicationinsights.azure.cn",
        ),
        (f"InstrumentationKey={KEY};EndpointSuffix=ai.example;Location=westus2", None, "https://westus2.dc.ai.example"),
        (f"InstrumentationKey={KEY};Authorization=ikey", None, "https://dc.services.visualstudio.com"),
        (PORTAL + ";", "an empty pair", ""),
        (f"InstrumentationKey={KEY};;IngestionEndpoint=https://x.example/", "an empty pair", ""),
        (f"InstrumentationKey={KEY};IngestionEndpoint", "not exactly key=value", ""),
        (f"InstrumentationKey={KEY.upper()}", "upper case", ""),
        ("InstrumentationKey=not-a-guid", "not a UUID", ""),
        ("IngestionEndpoint=https://x.example/", "no InstrumentationKey", ""),
        (f"InstrumentationKey={KEY};Authorization=AAD", "accepts only ikey", ""),
        (f"InstrumentationKey={KEY};IngestionEndpoint=http://x.example/", "not an https:// URL", ""),
    ],
)
def test_the_connection_string_as_the_exporter_reads_it(text, problem, endpoint):
    found, ingestion = parse_problem(text)
    if problem is None:
        assert found is None and ingestion.startswith(endpoint)
    else:
        assert found is not None and problem in found
        assert KEY not in found and KEY.upper() not in found  # never the key itself


@pytest.mark.parametrize(
    "text",
    [
        PORTAL,
        f"InstrumentationKey={KEY}",
        PORTAL + ";",
        f"InstrumentationKey={KEY.upper()}",
        "InstrumentationKey=not-a-guid",
        f"InstrumentationKey={KEY};Authorization=AAD",
    ],
)
def test_what_passes_here_is_what_the_installed_exporter_accepts(text, monkeypatch):
    """The referee: azure-monitor-opentelemetry-exporter's own parser, as installed with the app."""
    from azure.monitor.opentelemetry.exporter._connection_string_parser import ConnectionStringParser

    for name in ("APPLICATIONINSIGHTS_CONNECTION_STRING", "APPINSIGHTS_INSTRUMENTATIONKEY"):
        monkeypatch.delenv(name, raising=False)
    try:
        parser = ConnectionStringParser(text)
        accepted = True
    except ValueError:
        accepted = False
    problem, endpoint = parse_problem(text)
    assert accepted == (problem is None)
    if accepted:
        assert endpoint.startswith(parser.endpoint.rstrip("/"))


def by_check(results):
    assert all(result.area is Area.TELEMETRY for result in results)
    return {result.check: result for result in results}


def test_not_configured_is_skipped_saying_what_it_means():
    results = by_check(check_telemetry({}))
    assert results["connection_string"].verdict is Verdict.SKIPPED
    assert "telemetry is off" in results["connection_string"].found
    assert results["exporter"].verdict is Verdict.SKIPPED


def test_the_app_exports_when_the_worker_does_not():
    results = by_check(check_telemetry({"APPLICATIONINSIGHTS_CONNECTION_STRING": PORTAL}))
    assert results["connection_string"].verdict is Verdict.PASSED
    assert "westeurope-5.in.applicationinsights.azure.com" in results["connection_string"].found
    assert results["exporter"].verdict is Verdict.PASSED and "the app itself" in results["exporter"].found


def test_the_worker_exports_when_asked_to():
    results = by_check(
        check_telemetry(
            {
                "APPLICATIONINSIGHTS_CONNECTION_STRING": PORTAL,
                "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true",
                "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD",
            }
        )
    )
    assert "Functions Python worker" in results["exporter"].found and "Entra" in results["exporter"].found


def test_a_malformed_connection_string_fails_with_the_fix_and_without_the_key():
    results = by_check(check_telemetry({"APPLICATIONINSIGHTS_CONNECTION_STRING": PORTAL + ";"}))
    failure = results["connection_string"]
    assert failure.verdict is Verdict.FAILED and "APPLICATIONINSIGHTS_CONNECTION_STRING" in (failure.fix or "")
    assert KEY not in failure.found
    assert results["exporter"].verdict is Verdict.SKIPPED


def test_a_setting_the_app_refuses_at_start_fails_here_too():
    results = by_check(check_telemetry({"APPLICATIONINSIGHTS_CONNECTION_STRING": "https://not-a-connection-string"}))
    assert results["connection_string"].verdict is Verdict.FAILED


def test_the_worker_exporting_without_a_connection_string_fails():
    results = by_check(check_telemetry({"PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true"}))
    assert results["connection_string"].verdict is Verdict.FAILED
    assert "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY" in (results["connection_string"].fix or "")
