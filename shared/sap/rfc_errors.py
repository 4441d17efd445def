"""The RFC gateway's error table: pyrfc's exceptions classified by what the caller should do, into the one
error hierarchy of shared/sap/errors.py. The gateway (shared/sap/rfc.py) classifies every RFCError a unit
of work raises here, knowing how far the unit got (whether the create or its commit was sent).

  CommunicationError                        -> SapTransientError (queue and retry later); once the
                                               create or commit was sent: SapOutcomeUnknown
  ExternalRuntimeError                      -> one retry of the whole unit on a fresh connection
                                               (only while nothing was created), then
                                               SapTransientError; except the RFC library's verdicts
                                               on our data (invalid parameter or field name,
                                               conversion): SapPermanentError
  LogonError, ExternalAuthorizationError    -> SapConfigurationError (never retried: logons lock users)
  ABAPApplicationError, ABAPRuntimeError,
  ExternalApplicationError, other RFCError  -> SapPermanentError
  RETURN type E/A of the create BAPI        -> SapBusinessRejection (after a rollback; shared/sap/rfc.py)
  pyrfc without its native module, pyrfcx
  without the SDK (SdkNotFoundError)        -> SapDriverMissing (shared/sap/rfc_driver.py)
Error details never carry the password: pyrfc messages may echo logon parameters, so they are masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.log import redact
from shared.sap.errors import (
    SapConfigurationError,
    SapError,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)

# ExternalRuntimeError codes that judge the data we sent, not the line: the same call fails again.
_DATA_ERROR_CODES = {
    20,  # RFC_INVALID_PARAMETER: "field 'X' not found"
    21,  # RFC_CODEPAGE_CONVERSION_FAILURE
    22,  # RFC_CONVERSION_FAILURE
    23,  # RFC_BUFFER_TOO_SMALL
}
_SECRET_PARAMETERS = ("passwd", "password", "snc_myname", "x509cert", "mysapsso2")


class RetryOnFreshConnection(Exception):
    """Internal to the gateway: the unit failed with ExternalRuntimeError; run it once more on a new
    connection."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def classified(error: Exception, module: Any, *, create_sent: bool, detail: str) -> Exception:
    """What the caller gets for pyrfc's `error` (`module` is the driver, whose exception classes are compared),
    `detail` being its masked text: the table above. Once the create was sent, every SapError says the
    outcome is unknown."""
    result = _classified_by_kind(error, module, create_sent=create_sent, detail=detail)
    if create_sent and isinstance(result, SapError):
        result.outcome_unknown = True
    return result


def _classified_by_kind(error: Exception, module: Any, *, create_sent: bool, detail: str) -> Exception:
    if create_sent and isinstance(error, module.LogonError):
        # pyrfc reopens inside the failing call; a LogonError here is the reopen failing after the line
        # broke, with the create (or its commit) already sent: what SAP did is unknown.
        return SapOutcomeUnknown(detail)
    if isinstance(error, module.CommunicationError):
        # Includes RFC_CANCELED (the config timeout): the call may have run to the end in SAP.
        return SapOutcomeUnknown(detail) if create_sent else SapTransientError(detail)
    if isinstance(error, module.ExternalRuntimeError):
        if getattr(error, "code", None) in _DATA_ERROR_CODES:
            return SapPermanentError(detail)
        if create_sent:
            return SapOutcomeUnknown(detail)  # never re-run a create blindly: the next attempt searches
        return RetryOnFreshConnection(detail)
    if isinstance(error, module.LogonError | module.ExternalAuthorizationError):
        return SapConfigurationError(detail)
    return SapPermanentError(detail)


def masked(error: BaseException, logon_parameters: Mapping[str, Any]) -> str:
    """The error's text without logon secrets (pyrfc may echo the logon parameters)."""
    text = str(error)
    for name in _SECRET_PARAMETERS:
        secret = logon_parameters.get(name)
        if secret:
            text = text.replace(str(secret), "***")
    text = re.sub(r"(?i)\b(passwd|password|pwd)\s*[:=]\s*\S+", r"\1=***", text)
    return redact(text)
