"""The metrics port the use cases report their outcomes to (the OpenTelemetry adapter: metrics.py).

One count per account event, named in the business's words; the exact metric names are in metrics.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum


class SyncOutcome(StrEnum):
    """The `outcome` attribute of `sapsync.creates` (the workbook's sync funnel counts these)."""

    CREATED = "created"  # SAP created the customer (HTTP 201, or a retry that created it)
    ADOPTED = "adopted"  # the duplicate guard found the customer an earlier, unanswered attempt had created
    REPLAYED = "replayed"  # a repeated request for an account already created, answered from the ledger
    QUEUED = "queued"  # SAP unavailable on the HTTP path: accepted (202) and queued for retry
    RETRIED = "retried"  # a retry failed again and was queued once more
    POISONED = "poisoned"  # attempts exhausted: parked in the poison queue for an operator
    REJECTED = "rejected"  # refused: invalid request (400), SAP rejected the data (422) or failed for good (502)
    NEEDS_REVIEW = "needs_review"  # the duplicate guard could not decide: held for an operator


class SyncMetrics(ABC):
    @abstractmethod
    def outcome(self, outcome: SyncOutcome, reason: str | None = None) -> None:
        """Count one outcome; `reason` tells rejections (and write-back retries) apart."""

    @abstractmethod
    def sap_call(self, milliseconds: float, operation: str, result: str) -> None:
        """One call through the SAP port, as long as it took; `result` is created/adopted/ok or an error kind."""

    @abstractmethod
    def writeback(self, milliseconds: float, operation: str, result: str) -> None:
        """One call through the Salesforce write-back port."""

    def change(self, outcome: str) -> None:  # optional: an adapter without it counts no change
        """Count one change of a synced account by its outcome (shared.usecases.change ChangeOutcome: applied,
        unchanged, stale, queued, folded, not_synced, needs_review, rejected, failed; issue 26)."""
        return None


class NoMetrics(SyncMetrics):
    """Telemetry off (the default): nothing is counted."""

    def outcome(self, outcome: SyncOutcome, reason: str | None = None) -> None:
        return None

    def sap_call(self, milliseconds: float, operation: str, result: str) -> None:
        return None

    def writeback(self, milliseconds: float, operation: str, result: str) -> None:
        return None
