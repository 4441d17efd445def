"""A pyrfc-compatible, in-memory SAP system for tests and local runs.

The module has the surface the RFC adapter uses from `pyrfc` (or `pyrfcx`): `Connection` and
pyrfc's exception classes, so `RfcSapGateway(parameters, rfc_module=simulator)` runs the
production adapter against it. Behind it: customising like SAP's IDES demo (company codes 1000
and 3000, sales areas 1000/10/00 and 3000/10/00, reference customers 0000001000 and 0000003000),
the function modules RFC_PING, RFC_SYSTEM_INFO, BAPI_CUSTOMER_CREATEFROMDATA1, BAPI_CUSTOMER_GETDETAIL2,
BAPI_CUSTOMER_GETSALESAREAS, BAPI_CUSTOMER_FIND, BAPI_TRANSACTION_COMMIT and _ROLLBACK, an update-task
style LUW per session, and fault injection; for the change path (issue 26, changes.py)
BAPI_CUSTOMER_CHANGEFROMDATA1 (only X-flagged fields change, at the commit) and BAPI_CUSTOMER_GETDETAIL1.
`SimulatedSap.calls` counts the calls per function module (e.g. calls["BAPI_CUSTOMER_CHANGEFROMDATA1"]),
`counters["committed_changes"]` the changes committed.

One process-wide default system serves connections made without `system=`. Tests build their own
`SimulatedSap` and pass `system=` or swap the default with `use_system(...)`.

Environment (read by `simulator_system_from_environment` / `configure_default_system_from_environment`):
  SAP_SIMULATOR_FAULTS    fault settings string, e.g. "latency_ms=20,communication_after_commit=0.05,
                          seed=1"; names and meaning: sap_simulator/faults.py
  SAP_SIMULATOR_USER, SAP_SIMULATOR_PASSWORD
                          when both are set, connections must log on with them (else LogonError)
  SAP_SIMULATOR_STATE_FILE
                          a file (SQLite, created when missing) that holds the committed customers and
                          the number range, shared by every process that names it and kept across
                          restarts (store.py); unset: in this process's memory. Local runs and tests
                          only: refused in an Azure-hosted app.
  SAP_SIMULATOR_FIND_ROWS and (default) | per_criterion: how BAPI_CUSTOMER_FIND combines its selection
                          rows (functions.find; which one SAP does is unverified)
  SAP_SIMULATOR_FIND_NO_MATCH
                          result_tab (default) | return | empty: where BAPI_CUSTOMER_FIND says "nothing
                          found" (a RESULT_TAB error row, the RETURN export, or nowhere)
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from sap_simulator.connection import Connection
from sap_simulator.customizing import Country, Customizing, PostalCodeRule
from sap_simulator.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    CommunicationError,
    ExternalApplicationError,
    ExternalAuthorizationError,
    ExternalRuntimeError,
    LogonError,
    RFCError,
    RFCLibError,
    RFCTypeError,
)
from sap_simulator.faults import FaultPlan, FaultSettingsError
from sap_simulator.functions import FIND_NO_MATCH, FIND_ROWS, MESSAGES
from sap_simulator.interfaces import FunctionDescription, TypeDescription
from sap_simulator.records import CustomerRecord
from sap_simulator.system import SimulatedSap
from shared.hosting import running_in_azure
from shared.settings import SettingsError

__all__ = [
    "FIND_NO_MATCH_SETTING",
    "FIND_ROWS_SETTING",
    "NO_MATCH_MESSAGES",
    "STATE_FILE_SETTING",
    "ABAPApplicationError",
    "ABAPRuntimeError",
    "CommunicationError",
    "Connection",
    "Country",
    "CustomerRecord",
    "Customizing",
    "ExternalApplicationError",
    "ExternalAuthorizationError",
    "ExternalRuntimeError",
    "FaultPlan",
    "FaultSettingsError",
    "FunctionDescription",
    "LogonError",
    "PostalCodeRule",
    "RFCError",
    "RFCLibError",
    "RFCTypeError",
    "SimulatedSap",
    "TypeDescription",
    "configure_default_system_from_environment",
    "default_system",
    "reset_default_system",
    "simulator_system_from_environment",
    "state_file_from_environment",
    "use_system",
]

# How the simulator's BAPI_CUSTOMER_FIND says "nothing found" (functions.py MESSAGES["no_customer_found"]);
# the composition root hands it to the rfc adapter when SAP_FIND_NO_MATCH_MESSAGE is not set.
NO_MATCH_MESSAGES: tuple[tuple[str, str], ...] = (MESSAGES["no_customer_found"][:2],)

_default_lock = threading.Lock()
_default: SimulatedSap | None = None


def default_system() -> SimulatedSap:
    """The process-wide system (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SimulatedSap()
        return _default


def reset_default_system(system: SimulatedSap | None = None) -> SimulatedSap:
    """Replace the process-wide system (a fresh one when None) and return it."""
    global _default
    with _default_lock:
        _default = system or SimulatedSap()
        return _default


@contextlib.contextmanager
def use_system(system: SimulatedSap) -> Iterator[SimulatedSap]:
    """Make `system` the default for the duration of the block."""
    global _default
    with _default_lock:
        previous, _default = _default, system
    try:
        yield system
    finally:
        with _default_lock:
            _default = previous


def _credentials(environ: Mapping[str, str]) -> tuple[str, str] | None:
    user = (environ.get("SAP_SIMULATOR_USER") or "").strip()
    password = environ.get("SAP_SIMULATOR_PASSWORD") or ""
    return (user, password) if user and password else None


STATE_FILE_SETTING = "SAP_SIMULATOR_STATE_FILE"


def state_file_from_environment(environ: Mapping[str, str] | None = None) -> Path | None:
    """SAP_SIMULATOR_STATE_FILE as an absolute path; None when unset. Refused in Azure, where no
    simulator may stand in for SAP (settings.py refuses SAP_TRANSPORT=simulator there too)."""
    env = os.environ if environ is None else environ
    text = (env.get(STATE_FILE_SETTING) or "").strip()
    if not text:
        return None
    if running_in_azure(env):
        raise SettingsError(
            f"{STATE_FILE_SETTING}: the SAP simulator's state file is for local runs and tests; "
            "it is refused inside an Azure-hosted app (WEBSITE_SITE_NAME is set)"
        )
    return Path(text).expanduser().resolve()


FIND_ROWS_SETTING = "SAP_SIMULATOR_FIND_ROWS"
FIND_NO_MATCH_SETTING = "SAP_SIMULATOR_FIND_NO_MATCH"


def _find_options(env: Mapping[str, str]) -> dict[str, str]:
    """SAP_SIMULATOR_FIND_ROWS / SAP_SIMULATOR_FIND_NO_MATCH as SimulatedSap options (unset: left out)."""
    options: dict[str, str] = {}
    for setting, option, allowed, text in (
        (FIND_ROWS_SETTING, "find_rows", FIND_ROWS, env.get(FIND_ROWS_SETTING)),
        (FIND_NO_MATCH_SETTING, "find_no_match", FIND_NO_MATCH, env.get(FIND_NO_MATCH_SETTING)),
    ):
        value = (text or "").strip().lower()
        if not value:
            continue
        if value not in allowed:
            raise SettingsError(f"{setting}: one of {', '.join(allowed)}, not {value!r}")
        options[option] = value
    return options


def _new_system(env: Mapping[str, str], **options: object) -> SimulatedSap:
    state_file = state_file_from_environment(env)
    if state_file is None:
        return SimulatedSap(**options)  # type: ignore[arg-type]
    from sap_simulator.store import SapStateError, SimulatedSapOnFile

    try:
        return SimulatedSapOnFile(state_file, **options)
    except SapStateError as error:
        raise SettingsError(f"{STATE_FILE_SETTING}: {error}") from None


def simulator_system_from_environment(environ: Mapping[str, str] | None = None) -> SimulatedSap:
    """A new system configured from SAP_SIMULATOR_FAULTS / SAP_SIMULATOR_USER / SAP_SIMULATOR_PASSWORD /
    SAP_SIMULATOR_FIND_ROWS / SAP_SIMULATOR_FIND_NO_MATCH, its database in SAP_SIMULATOR_STATE_FILE when set."""
    env = os.environ if environ is None else environ
    return _new_system(
        env,
        credentials=_credentials(env),
        faults=FaultPlan.parse(env.get("SAP_SIMULATOR_FAULTS")),
        **_find_options(env),
    )


def configure_default_system_from_environment(environ: Mapping[str, str] | None = None) -> SimulatedSap:
    """Apply the environment's faults, credentials and FIND answers to the default system, keeping its data. With
    SAP_SIMULATOR_STATE_FILE, the default system becomes one on that file first (unless it already is)."""
    env = os.environ if environ is None else environ
    state_file = state_file_from_environment(env)
    find_options = _find_options(env)
    system = default_system()
    if state_file is not None and getattr(system, "state_file", None) != state_file:
        system = reset_default_system(_new_system(env))
    system.configure_faults(env.get("SAP_SIMULATOR_FAULTS"))
    system.credentials = _credentials(env)
    for option, value in find_options.items():
        setattr(system, option, value)
    return system
