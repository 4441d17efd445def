"""The metrics, in one place: their names are the contract with the workbook and alerts in infra/ and
the KQL in docs/monitoring-kql.md; keep them.

    sapsync.creates              counter     attributes: outcome (SyncOutcome), reason (rejections only)
    sapsync.changes              counter     attributes: outcome (shared.usecases.change ChangeOutcome)
    sapsync.sap.duration         histogram   ms; attributes: operation, result
    sapsync.writeback.duration   histogram   ms; attributes: operation, result

Azure Monitor stores them in customMetrics (a histogram as sum, count, min and max per interval); the
per-call durations for percentiles are the SAP and write-back dependencies' own durations.
"""

from __future__ import annotations

from typing import Any

from shared.telemetry.port import SyncMetrics, SyncOutcome

CREATES = "sapsync.creates"
SAP_DURATION = "sapsync.sap.duration"
WRITEBACK_DURATION = "sapsync.writeback.duration"
CHANGES = "sapsync.changes"


class OtelSyncMetrics(SyncMetrics):
    """The port on an OpenTelemetry Meter (the global one, which configure_azure_monitor exports)."""

    def __init__(self, meter: Any) -> None:
        self._creates = meter.create_counter(
            CREATES, unit="{account}", description="Account create requests by outcome"
        )
        self._changes = meter.create_counter(
            CHANGES, unit="{change}", description="Changes of synced accounts by outcome"
        )
        self._sap = meter.create_histogram(SAP_DURATION, unit="ms", description="Calls through the SAP port")
        self._writeback = meter.create_histogram(
            WRITEBACK_DURATION, unit="ms", description="Write-backs of the SAP number to Salesforce"
        )

    def outcome(self, outcome: SyncOutcome, reason: str | None = None) -> None:
        attributes = {"outcome": outcome.value}
        if reason:
            attributes["reason"] = reason
        self._creates.add(1, attributes)

    def change(self, outcome: str) -> None:
        self._changes.add(1, {"outcome": outcome})

    def sap_call(self, milliseconds: float, operation: str, result: str) -> None:
        self._sap.record(milliseconds, {"operation": operation, "result": result})

    def writeback(self, milliseconds: float, operation: str, result: str) -> None:
        self._writeback.record(milliseconds, {"operation": operation, "result": result})
