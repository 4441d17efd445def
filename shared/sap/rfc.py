"""RfcSapGateway: the SapGateway port over pyrfc (or pyrfcx, or the simulator, which mirrors both).

One connection, i.e. one RFC session, per unit of work: a create runs the duplicate guard,
BAPI_CUSTOMER_CREATEFROMDATA1 and BAPI_TRANSACTION_COMMIT on the same session, because pyrfc
reconnects silently after a communication error and a COMMIT on the new session commits nothing.

pyrfc's errors are classified by what the caller should do:
  CommunicationError                        -> SapTransientError (queue and retry later)
  ExternalRuntimeError                      -> one retry of the whole unit on a fresh connection,
                                               then SapTransientError; except the RFC library's
                                               verdicts on our data (invalid parameter or field name,
                                               value too long, conversion): SapPermanentError
  LogonError, ExternalAuthorizationError    -> SapConfigurationError (never retried: logons lock users)
  ABAPApplicationError, ABAPRuntimeError,
  ExternalApplicationError, other RFCError  -> SapPermanentError
  RETURN type E/A of the create BAPI        -> SapBusinessRejection (after a rollback)
Error details never carry the password: pyrfc messages may echo logon parameters, so they are masked.
"""

from __future__ import annotations

import importlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from shared.log import redact
from shared.models import CustomerCreation
from shared.sap.errors import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.gateway import SapCustomerCreated, SapGateway, SapMessage

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# Where BAPI_CUSTOMER_FIND finds each BAPIKNA106 field that may carry the account Id (ADRC: the
# customer's address, where the BAPI stores it).
GUARD_SEARCH_FIELDS: dict[str, tuple[str, str]] = {
    "SORT1": ("ADRC", "SORT1"),
    "SORT2": ("ADRC", "SORT2"),
    "CITY": ("ADRC", "CITY1"),
    "STREET": ("ADRC", "STREET"),
    "TEL1_NUMBR": ("ADRC", "TEL_NUMBER"),
}
# SAP keeps search terms in upper case, so the guard looks for the Id as SAP stored it. An 18-character
# Salesforce Id stays unique in upper case: that is what its last three characters are for.
_UPPER_CASE_FIELDS = {"SORT1", "SORT2"}
_ERROR_TYPES = ("E", "A")
# ExternalRuntimeError codes that judge the data we sent, not the line: the same call fails again.
_DATA_ERROR_CODES = {
    20,  # RFC_INVALID_PARAMETER: "field 'X' not found"
    21,  # RFC_CODEPAGE_CONVERSION_FAILURE
    22,  # RFC_CONVERSION_FAILURE
    23,  # RFC_BUFFER_TOO_SMALL: value longer than the field
}
_SECRET_PARAMETERS = ("passwd", "password", "snc_myname", "x509cert", "mysapsso2")

_INSTALL_HINT = (
    "pyrfc is not installed: install SAP's PyRFC wheel (github.com/SAP/PyRFC releases) or "
    "`pip install pyrfcx`, plus the SAP NW RFC SDK with SAPNWRFC_HOME set and its lib directory on "
    "LD_LIBRARY_PATH (PATH on Windows)"
)
_SDK_HINT = (
    "the SAP NW RFC SDK library (libsapnwrfc) could not be loaded: install the SAP NW RFC SDK, set "
    "SAPNWRFC_HOME and put its lib directory on LD_LIBRARY_PATH (PATH on Windows)"
)


def import_rfc_module() -> Any:
    """pyrfc, else pyrfcx. Raises the ImportError that explains best why neither loads (a missing
    SDK library beats a missing package)."""
    errors: list[ImportError] = []
    for name in ("pyrfc", "pyrfcx"):
        try:
            return importlib.import_module(name)
        except ImportError as error:
            errors.append(error)
    raise next((e for e in errors if _is_sdk_missing(e)), errors[0])


def _is_sdk_missing(error: ImportError) -> bool:
    return "sapnwrfc" in str(error).lower()


def _driver_missing(error: ImportError) -> SapDriverMissing:
    if _is_sdk_missing(error):
        return SapDriverMissing(_SDK_HINT)
    return SapDriverMissing(f"{_INSTALL_HINT} ({error})")


class _RetryOnFreshConnection(Exception):
    """Internal: the unit failed with ExternalRuntimeError; run it once more on a new connection."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RfcSapGateway(SapGateway):
    """Creates and reads customers over RFC.

    `rfc_module` is a pyrfc-like module (Connection and pyrfc's exception classes): the simulator
    module, or None to import pyrfc (else pyrfcx) on first use through `module_loader`, which
    returns the module or raises ImportError (then SapDriverMissing says what to install).
    """

    def __init__(self, logon_parameters: Mapping[str, str], rfc_module: Any = None,
                 module_loader: Callable[[], Any] = import_rfc_module, timeout_seconds: float | None = None) -> None:
        self._logon_parameters = dict(logon_parameters)
        # pyrfc 3 cancels an RFC call that runs longer than config["timeout"] seconds; without it a
        # hung SAP work process would hold the function (and its ledger claim) until the host kills it.
        self._connection_config = {"timeout": max(1, round(timeout_seconds))} if timeout_seconds else {}
        self._timeout_seconds = timeout_seconds
        self._module = rfc_module
        self._module_loader = module_loader

    # ------------------------------------------------------------------ the port

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        started = time.monotonic()
        logger.info("SAP create started for account %s", creation.account_id,
                    extra={"account_id": creation.account_id})
        outcome = "failed"
        try:
            created = self._unit(lambda connection: self._create_on(connection, creation))
            outcome = "found by duplicate guard" if created.already_existed else "created"
            return created
        except SapBusinessRejection:
            outcome = "rejected"
            raise
        finally:
            elapsed_ms = round((time.monotonic() - started) * 1000)
            logger.info("SAP create %s for account %s in %d ms", outcome, creation.account_id, elapsed_ms,
                        extra={"account_id": creation.account_id, "duration_ms": elapsed_ms})

    def find_customer_by_account_id(self, account_id: str, account_id_field: str = "SORT2") -> str | None:
        return self._unit(lambda connection: self._find(connection, account_id, account_id_field))

    def read_customer(self, customer_number: str, company_code: str | None = None) -> dict[str, Any]:
        """GETDETAIL2's answer plus GETSALESAREAS' SALESAREAS (and its RETURN as SALESAREAS_RETURN)."""
        # KUNNR's conversion exit pads numbers; pyrfc runs no conversion exits, so we do.
        number = customer_number.strip()
        if number.isdigit():
            number = number.zfill(10)

        def read(connection: Any) -> dict[str, Any]:
            parameters = {"CUSTOMERNO": number}
            if company_code:
                parameters["COMPANYCODE"] = company_code
            detail = dict(self._call(connection, "BAPI_CUSTOMER_GETDETAIL2", **parameters))
            areas = self._call(connection, "BAPI_CUSTOMER_GETSALESAREAS", CUSTOMERNO=number)
            detail["SALESAREAS"] = list(areas.get("SALESAREAS", []))
            detail["SALESAREAS_RETURN"] = areas.get("RETURN", {})
            return detail

        return self._unit(read)

    def ping(self) -> None:
        self._unit(lambda connection: self._call(connection, "RFC_PING"))

    # ------------------------------------------------------------------ the create unit

    def _create_on(self, connection: Any, creation: CustomerCreation) -> SapCustomerCreated:
        existing = self._find(connection, creation.account_id, creation.account_id_field)
        if existing is not None:
            logger.warning("duplicate guard: account %s already has SAP customer %s", creation.account_id,
                           existing, extra={"account_id": creation.account_id})
            return SapCustomerCreated(existing, already_existed=True)

        answer = self._call(connection, "BAPI_CUSTOMER_CREATEFROMDATA1", **creation.parameters)
        messages = _messages(answer.get("RETURN"))
        if any(m.type in _ERROR_TYPES for m in messages):
            self._rollback_quietly(connection)
            raise SapBusinessRejection(messages)
        number = str(answer.get("CUSTOMERNO") or "").strip()
        if not number:
            self._rollback_quietly(connection)
            raise SapPermanentError("BAPI_CUSTOMER_CREATEFROMDATA1 returned neither a customer number nor an error")

        commit = self._call(connection, "BAPI_TRANSACTION_COMMIT", WAIT="X")
        commit_messages = _messages(commit.get("RETURN"))
        failed = next((m for m in commit_messages if m.type in _ERROR_TYPES), None)
        if failed is not None:
            # The update task terminated (lock, database or update-module problem): nothing was
            # committed, and such causes usually pass, so the create is queued for a retry; if it
            # keeps failing it ends in the poison queue, visibly.
            self._rollback_quietly(connection)
            raise SapTransientError(f"BAPI_TRANSACTION_COMMIT failed for customer {number}: "
                                    f"{failed.type} {failed.id} {failed.number}: {failed.text}")
        return SapCustomerCreated(number, messages=messages + commit_messages)

    def _find(self, connection: Any, account_id: str, account_id_field: str) -> str | None:
        field_name = account_id_field.strip().upper()
        if field_name not in GUARD_SEARCH_FIELDS:
            raise SapConfigurationError(
                f"the duplicate guard cannot search {field_name}; use one of {', '.join(GUARD_SEARCH_FIELDS)}")
        table, column = GUARD_SEARCH_FIELDS[field_name]
        value = account_id.upper() if field_name in _UPPER_CASE_FIELDS else account_id
        answer = self._call(connection, "BAPI_CUSTOMER_FIND", MAX_CNT=10, PL_HOLD="",
                            SELOPT_TAB=[{"TABNAME": table, "FIELDNAME": column, "FIELDVALUE": value}])
        failed = next((m for m in _messages(answer.get("RETURN")) if m.type in _ERROR_TYPES), None)
        if failed is not None:
            # A guard that cannot search must not let a create through: it could duplicate a customer.
            raise SapPermanentError(f"duplicate guard (BAPI_CUSTOMER_FIND) failed: "
                                    f"{failed.type} {failed.id} {failed.number}: {failed.text}")
        numbers = sorted({str(row.get("CUSTOMER", "")).strip() for row in answer.get("RESULT_TAB", [])} - {""})
        if len(numbers) > 1:
            logger.warning("duplicate guard: %d SAP customers carry account %s; using the oldest, %s",
                           len(numbers), account_id, numbers[0], extra={"account_id": account_id})
        return numbers[0] if numbers else None

    def _rollback_quietly(self, connection: Any) -> None:
        # The session ends with the connection anyway; a failed rollback changes nothing for the caller.
        module = self._rfc()
        try:
            self._call(connection, "BAPI_TRANSACTION_ROLLBACK")
        except (module.RFCError, SapError) as error:
            logger.warning("rollback failed (%s); closing the session discards the work", type(error).__name__)

    # ------------------------------------------------------------------ connections and errors

    def _rfc(self) -> Any:
        if self._module is None:
            try:
                self._module = self._module_loader()
            except ImportError as error:
                raise _driver_missing(error) from None
        return self._module

    def _unit(self, work: Callable[[Any], _T]) -> _T:
        """Run `work` on a fresh connection; retry once on a fresh connection after ExternalRuntimeError,
        but only while the first try ended within one timeout, so a unit never runs past about five
        timeouts (the ledger's stale-claim window is sized on that)."""
        started = time.monotonic()
        try:
            return self._unit_once(work)
        except _RetryOnFreshConnection as first:
            if self._timeout_seconds and time.monotonic() - started > self._timeout_seconds:
                raise SapTransientError(first.detail) from None
            logger.warning("SAP unit failed with an RFC library error, retrying once on a new connection: %s",
                           first.detail)
        try:
            return self._unit_once(work)
        except _RetryOnFreshConnection as second:
            raise SapTransientError(second.detail) from None

    def _unit_once(self, work: Callable[[Any], _T]) -> _T:
        module = self._rfc()
        connection = None
        try:
            connection = module.Connection(config=self._connection_config, **self._logon_parameters)
            return work(connection)
        except module.RFCError as error:
            raise self._classified(error, module) from None
        finally:
            if connection is not None:
                try:
                    connection.close()
                except module.RFCError as error:
                    logger.debug("closing the SAP connection failed: %s", self._safe(error))

    def _call(self, connection: Any, function_name: str, **parameters: Any) -> dict[str, Any]:
        try:
            return connection.call(function_name, **parameters)
        except TypeError as error:
            # pyrfc refuses values of the wrong type before anything reaches SAP: our bug, not SAP's.
            raise SapPermanentError(f"{function_name}: pyrfc refused a parameter: {self._safe(error)}") from None

    def _classified(self, error: Exception, module: Any) -> Exception:
        detail = f"{type(error).__name__}: {self._safe(error)}"
        if isinstance(error, module.CommunicationError):
            return SapTransientError(detail)
        if isinstance(error, module.ExternalRuntimeError):
            if getattr(error, "code", None) in _DATA_ERROR_CODES:
                return SapPermanentError(detail)
            return _RetryOnFreshConnection(detail)
        if isinstance(error, module.LogonError | module.ExternalAuthorizationError):
            return SapConfigurationError(detail)
        return SapPermanentError(detail)

    def _safe(self, error: BaseException) -> str:
        """The error's text without logon secrets (pyrfc may echo the logon parameters)."""
        text = str(error)
        for name in _SECRET_PARAMETERS:
            secret = self._logon_parameters.get(name)
            if secret:
                text = text.replace(str(secret), "***")
        text = re.sub(r"(?i)\b(passwd|password|pwd)\s*[:=]\s*\S+", r"\1=***", text)
        return redact(text)


def _messages(returned: Any) -> tuple[SapMessage, ...]:
    """BAPIRETURN1/BAPIRET2 (one structure or table rows) as SapMessages, initial rows left out."""
    rows = returned if isinstance(returned, list) else [returned] if isinstance(returned, Mapping) else []
    return tuple(
        SapMessage(
            type=str(row.get("TYPE", "")).strip(),
            id=str(row.get("ID", "")).strip(),
            number=str(row.get("NUMBER", "")).strip(),
            text=str(row.get("MESSAGE", "")).strip(),
        )
        for row in rows
        if str(row.get("TYPE", "")).strip()
    )
