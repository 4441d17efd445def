"""What can go wrong in SAP, classified by what the caller should do about it."""

from __future__ import annotations

from shared.sap.gateway import SapMessage


class SapError(Exception):
    """Base class. `detail` is safe to log and to return (never credentials)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SapTransientError(SapError):
    """May heal by itself (network, SAP down or busy, lost session): queue and retry later."""


class SapPermanentError(SapError):
    """Will fail the same way again (ABAP runtime error, unexpected answer): do not retry."""


class SapConfigurationError(SapError):
    """Logon or setup problem (wrong user/password, locked user, missing RFC SDK). Never retried in
    a loop: repeated failed logons lock the SAP user."""


class SapDriverMissing(SapConfigurationError):
    """pyrfc (or pyrfcx) or the SAP NW RFC SDK it needs is not installed."""


class SapBusinessRejection(SapError):
    """SAP refused the data (RETURN type E or A). A person must fix the account; never retried."""

    def __init__(self, messages: tuple[SapMessage, ...]) -> None:
        if not messages:
            raise ValueError("a business rejection carries at least one SAP message")
        first = next((m for m in messages if m.type in ("E", "A")), messages[0])
        super().__init__(f"{first.type} {first.id} {first.number}: {first.text}")
        self.messages = messages
        self.message = first
