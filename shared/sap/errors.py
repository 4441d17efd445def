"""What can go wrong in SAP, classified by what the caller should do about it.

    SapError                      base; `detail` is safe to log and to return (never credentials)
    ├── SapTransientError         may heal by itself (network, SAP down or busy, the relay throttling):
    │   │                         queue, retry later (`retry_after_seconds`: at the earliest then)
    │   ├── SapOutcomeUnknown     the line broke after the create or its commit was sent: SAP may
    │   │                         hold the customer, so the next attempt searches before it creates
    │   └── SapNotStarted         the agent did not start the unit (it could not have answered within
    │                             the relay's limit): nothing was sent to SAP
    ├── SapPermanentError         fails the same way again (ABAP runtime error, odd answer): no retry
    ├── SapConfigurationError     logon or setup problem; never retried in a loop (logons lock users)
    │   ├── SapDriverMissing      pyrfc/pyrfcx or the SAP NW RFC SDK is not installed
    │   └── SapInterfaceMismatch  the live system lacks a function, parameter or field we send
    ├── SapBusinessRejection      SAP refused the data (RETURN type E/A): a person fixes the account
    └── SapNeedsReview            an earlier create may have reached SAP and the search cannot tell
                                  which customer (several matches, or the search failed): an operator
                                  decides; nothing is created automatically

Each class has a stable `kind` that the ledger stores as a field (never re-parsed from text).
"""

from __future__ import annotations

from shared.sap.port import SapMessage


class SapError(Exception):
    """Base class. `detail` is safe to log and to return (never credentials)."""

    kind = "permanent"
    # True when the error struck after the create or its commit was sent: SAP may hold the customer
    # whatever the error's kind, so the next attempt (a retry, a resend from the flow) searches first.
    outcome_unknown = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SapTransientError(SapError):
    """May heal by itself (network, SAP down or busy, lost session): queue and retry later.
    `retry_after_seconds`: the other side said when to come back (a relay's 429 Retry-After)."""

    kind = "transient"

    def __init__(self, detail: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class SapOutcomeUnknown(SapTransientError):
    """The connection broke (or the call timed out or was cancelled) after BAPI_CUSTOMER_CREATEFROMDATA1
    or BAPI_TRANSACTION_COMMIT was sent: SAP may have committed the customer."""

    kind = "outcome_unknown"
    outcome_unknown = True


class SapNotStarted(SapTransientError):
    """The on-premise agent refused to start the unit of work because it could no longer be answered
    within the relay's limit on one request (it waited too long for a free slot): no RFC call was made,
    so nothing was sent to SAP and the outcome is known: no customer. Queue and retry later."""


class SapPermanentError(SapError):
    """Will fail the same way again (ABAP runtime error, unexpected answer): do not retry."""

    kind = "permanent"


class SapConfigurationError(SapError):
    """Logon or setup problem (wrong user/password, locked user, missing RFC SDK). Never retried in
    a loop: repeated failed logons lock the SAP user."""

    kind = "misconfigured"


class SapDriverMissing(SapConfigurationError):
    """pyrfc (or pyrfcx) or the SAP NW RFC SDK it needs is not installed."""


class SapInterfaceMismatch(SapConfigurationError):
    """The live system's metadata lacks a function module, parameter or field that we send or read
    (another release, or a wrong assumption of ours): nothing is sent until it is fixed."""


class SapBusinessRejection(SapError):
    """SAP refused the data (RETURN type E or A). A person must fix the account; never retried."""

    kind = "rejected"

    def __init__(self, messages: tuple[SapMessage, ...]) -> None:
        if not messages:
            raise ValueError("a business rejection carries at least one SAP message")
        first = next((m for m in messages if m.type in ("E", "A")), messages[0])
        super().__init__(f"{first.type} {first.id} {first.number}: {first.text}")
        self.messages = messages
        self.message = first


class SapNeedsReview(SapError):
    """The duplicate guard could not decide: `candidates` are the SAP customers that may be ours."""

    kind = "needs_review"

    def __init__(self, detail: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.candidates = candidates
