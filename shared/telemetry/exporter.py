"""Switching telemetry on for a process: the Azure Monitor distro's exporter, or the one the Functions
Python worker already configured (see shared/telemetry/__init__.py). The only module that imports
azure.monitor, and only when a connection string asks for it."""

from __future__ import annotations

import logging
import os
from typing import Protocol

from shared import telemetry

logger = logging.getLogger(__name__)

SERVICE_NAMES = {"function": "sap-customer-sync", "agent": "sap-sync-agent"}


class TelemetrySwitch(Protocol):
    """What `start` is handed, not read: shared.settings.TelemetrySettings (the composition root loads them,
    shared.bootstrap.start_telemetry)."""

    @property
    def enabled(self) -> bool: ...

    @property
    def worker_exports(self) -> bool: ...

    @property
    def connection_string(self) -> str | None: ...


def start(role: str, settings: TelemetrySwitch) -> bool:
    """Switch telemetry on for this process ("function" or "agent") if its settings ask for it; True if on.

    Idempotent. Logging's filters (correlation ids, redaction) are installed on every root handler
    afterwards, the exporter's too."""
    from shared.log import configure_logging

    if not settings.enabled:
        return False
    if not telemetry.enabled():
        if not settings.worker_exports:
            _configure_azure_monitor(settings.connection_string or "", SERVICE_NAMES[role])
        telemetry.activate()
        logger.info("telemetry on", extra={"telemetry_exporter": "worker" if settings.worker_exports else "app"})
    configure_logging()
    return True


def _configure_azure_monitor(connection_string: str, service_name: str) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry.sdk.resources import Resource

    # OTEL_SERVICE_NAME (the cloud role name in Application Insights) wins when an operator sets it.
    configure_azure_monitor(
        connection_string=connection_string,
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name}),
        # Web frameworks this app does not use; requests, urllib3 and the Azure SDK stay instrumented.
        instrumentation_options={name: {"enabled": False} for name in ("django", "fastapi", "flask", "psycopg2")},
    )
