"""The go-live check's telemetry area (`python -m admin preflight`, issue 24): whether the Application Insights
connection string is one the exporter accepts, and who exports (the Functions worker or the app).

    check_telemetry(environ)   the area's results

It only reads settings, so it lives with them (use cases may not import the settings: pyproject.toml).
Nothing is sent to Application Insights: whether ingestion accepts the key (a deleted resource, local
authentication disabled while APPLICATIONINSIGHTS_AUTHENTICATION_STRING is unset, a missing Monitoring
Metrics Publisher role) shows only in the resource itself (docs/monitoring.md).

The connection string is read the way the exporter reads it, so what passes here is what the exporter takes
(azure-monitor-opentelemetry-exporter 1.0.0b58, azure/monitor/opentelemetry/exporter/
_connection_string_parser.py, ConnectionStringParser): `key=value` pairs split on ';' and '=' with the keys
case-insensitive, every pair exactly one '=' (an empty pair, e.g. from a trailing ';', makes it raise
"Invalid connection string"); Authorization, when given, must be ikey; InstrumentationKey must match its
UUID pattern, lower-case hex only; IngestionEndpoint, else one built from EndpointSuffix (and Location),
else the global endpoint https://dc.services.visualstudio.com.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from shared.core.preflight import Area, CheckResult, failed, passed, skipped
from shared.settings.agent import load_telemetry_settings
from shared.settings_error import SettingsError

_AREA = Area.TELEMETRY
_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# The exporter's own pattern (ConnectionStringParser, uuid_regex_pattern): lower-case hex only.
_INSTRUMENTATION_KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_GLOBAL_INGESTION = "https://dc.services.visualstudio.com"
_FIX = (
    f"copy {_SETTING} again from the Application Insights resource (Overview > Connection String) into the "
    "app settings, unchanged"
)
_CONNECTION_TITLE = "the Application Insights connection string parses (InstrumentationKey, IngestionEndpoint)"
_EXPORTER_TITLE = "who exports telemetry: the Functions worker or the app"


def check_telemetry(environ: Mapping[str, str] | None = None) -> list[CheckResult]:
    env = os.environ if environ is None else environ
    try:
        settings = load_telemetry_settings(env)
    except SettingsError as error:
        return [
            failed(_AREA, "connection_string", _CONNECTION_TITLE, str(error), _FIX),
            skipped(_AREA, "exporter", _EXPORTER_TITLE, "not reached: the telemetry settings do not load"),
        ]
    text = settings.connection_string
    if text is None:
        if settings.worker_exports:
            return [
                failed(
                    _AREA,
                    "connection_string",
                    _CONNECTION_TITLE,
                    f"{_SETTING} is not set, but PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true: the worker's "
                    "exporter has no instrumentation key, so nothing is exported",
                    f"set {_SETTING} (Application Insights > Overview > Connection String), or unset "
                    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY",
                ),
                skipped(_AREA, "exporter", _EXPORTER_TITLE, "not reached: no connection string"),
            ]
        why = (
            f"not configured ({_SETTING} is not set): telemetry is off, no traces, logs or metrics reach "
            "Application Insights; the host's own logs go where the platform sends them"
        )
        return [
            skipped(_AREA, "connection_string", _CONNECTION_TITLE, why),
            skipped(_AREA, "exporter", _EXPORTER_TITLE, "telemetry is off: nobody exports"),
        ]
    problem, endpoint = parse_problem(text)
    if problem is not None:
        return [
            failed(_AREA, "connection_string", _CONNECTION_TITLE, problem, _FIX),
            skipped(_AREA, "exporter", _EXPORTER_TITLE, "not reached: the connection string does not parse"),
        ]
    return [
        passed(_AREA, "connection_string", _CONNECTION_TITLE, f"parses; ingestion at {endpoint}"),
        passed(_AREA, "exporter", _EXPORTER_TITLE, _who_exports(settings.worker_exports, env)),
    ]


def parse_problem(text: str) -> tuple[str | None, str]:
    """What the exporter would refuse in connection string `text` (None: nothing) and the ingestion endpoint
    it would use. Never shows the instrumentation key: only what is wrong with it."""
    pairs = text.split(";")
    if any(pair.count("=") != 1 for pair in pairs):
        empty = any(not pair.strip() for pair in pairs)
        return (
            ("an empty pair (a ';' at the end or doubled)" if empty else "a pair that is not exactly key=value")
            + ": the exporter refuses it ('Invalid connection string')"
        ), ""
    values = {key.strip().lower(): value.strip() for key, value in (pair.split("=") for pair in pairs)}
    authorization = values.get("authorization")
    if authorization is not None and authorization.lower() != "ikey":
        return f"Authorization={authorization}: the exporter accepts only ikey (or no Authorization)", ""
    key = values.get("instrumentationkey", "")
    if not key:
        return "no InstrumentationKey", ""
    if not _INSTRUMENTATION_KEY.match(key):
        upper = _INSTRUMENTATION_KEY.match(key.lower()) is not None
        return (
            "the InstrumentationKey is in upper case: the exporter accepts only a lower-case UUID"
            if upper
            else "the InstrumentationKey is not a UUID"
        ), ""
    endpoint = values.get("ingestionendpoint")
    if endpoint is None and values.get("endpointsuffix"):
        location = f"{values['location']}." if values.get("location") else ""
        endpoint = f"https://{location}dc.{values['endpointsuffix']}"
    if endpoint is None:
        return (
            None,
            f"{_GLOBAL_INGESTION} (no IngestionEndpoint: the global endpoint; the portal's string names "
            "the regional one)",
        )
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        return "the IngestionEndpoint is not an https:// URL", ""
    return None, f"{parts.scheme}://{parts.hostname}"


def _who_exports(worker_exports: bool, env: Mapping[str, str]) -> str:
    entra = env.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")
    ingestion = (
        (
            "; Entra ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING): the app's identity needs the "
            "Monitoring Metrics Publisher role on the resource (not checked from here)"
        )
        if entra
        else ""
    )
    if worker_exports:
        # The worker calls configure_azure_monitor(connection_string=APPLICATIONINSIGHTS_CONNECTION_STRING)
        # before it imports function_app (Azure/azure-functions-python-worker, initialize_azure_monitor); the
        # app then only uses the providers it set (shared/telemetry/exporter.py).
        return (
            "the Functions Python worker (PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true); the app adds its "
            f"spans and metrics to the worker's exporter{ingestion}"
        )
    return (
        "the app itself (shared/telemetry/exporter.py, at its first request), under the cloud role "
        f"exporter.py's SERVICE_NAMES gives the function app{ingestion}"
    )
