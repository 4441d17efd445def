"""The retry queue's message format (versioned JSON); the port is shared.storage.port.RetryQueue."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

MESSAGE_VERSION = 1


class RetryKind(StrEnum):
    CREATE = "create"  # SAP has not (knowingly) created the customer yet
    WRITEBACK = "writeback"  # SAP has; only the Salesforce write-back is outstanding
    # A 202 in_progress promised the caller the account would be finished; this message keeps that
    # promise should the worker holding the claim die: it takes over a stale claim, else does nothing.
    CHECK = "check"


class InvalidRetryMessage(ValueError):
    """A queue message that is not ours or not of a version we read."""


@dataclass(frozen=True)
class RetryMessage:
    kind: RetryKind
    account_id: str
    tracking_id: str
    payload: dict[str, Any]  # the validated request in the contract's camelCase form
    attempt: int  # how many attempts were made before this message was written
    first_seen_at: str  # ISO 8601 UTC
    last_error: str | None = None
    customer_number: str | None = None  # set for WRITEBACK
    # Matches LedgerEntry.retry_token while this message owns the QUEUED entry (CREATE only).
    retry_token: str | None = None
    version: int = field(default=MESSAGE_VERSION)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    def next_attempt(self, last_error: str, retry_token: str | None = None) -> RetryMessage:
        """The message that carries the work on after one more failed attempt."""
        return replace(self, attempt=self.attempt + 1, last_error=last_error,
                       retry_token=retry_token or self.retry_token)

    @classmethod
    def from_json(cls, text: str | bytes) -> RetryMessage:
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise InvalidRetryMessage("retry message is not a JSON object")
            if data.get("version") != MESSAGE_VERSION:
                raise InvalidRetryMessage(f"unknown retry message version {data.get('version')!r}")
            return cls(
                kind=RetryKind(data["kind"]),
                account_id=str(data["account_id"]),
                tracking_id=str(data["tracking_id"]),
                payload=dict(data["payload"]),
                attempt=int(data["attempt"]),
                first_seen_at=str(data["first_seen_at"]),
                last_error=data.get("last_error"),
                customer_number=data.get("customer_number"),
                retry_token=data.get("retry_token"),
            )
        except InvalidRetryMessage:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidRetryMessage(f"malformed retry message: {error}") from None
