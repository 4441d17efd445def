"""A pyrfc-compatible, in-memory SAP system for tests and local runs.

The module has the surface the RFC adapter uses from `pyrfc` (or `pyrfcx`): `Connection` and
pyrfc's exception classes, so `RfcSapGateway(parameters, rfc_module=simulator)` runs the
production adapter against it. Behind it: customising like SAP's IDES demo (company codes 1000
and 3000, sales areas 1000/10/00 and 3000/10/00, reference customers 0000001000 and 0000003000),
the function modules RFC_PING, BAPI_CUSTOMER_CREATEFROMDATA1, BAPI_CUSTOMER_GETDETAIL2,
BAPI_CUSTOMER_GETSALESAREAS, BAPI_CUSTOMER_FIND, BAPI_TRANSACTION_COMMIT and _ROLLBACK, an update-task
style LUW per session, and fault injection.

One process-wide default system serves connections made without `system=`. Tests build their own
`SimulatedSap` and pass `system=` or swap the default with `use_system(...)`.

Environment (read by `simulator_system_from_environment` / `configure_default_system_from_environment`):
  SAP_SIMULATOR_FAULTS    fault settings string, e.g. "latency_ms=20,communication_after_commit=0.05,
                          seed=1"; names and meaning: shared/sap/simulator/faults.py
  SAP_SIMULATOR_USER, SAP_SIMULATOR_PASSWORD
                          when both are set, connections must log on with them (else LogonError)
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping

from shared.sap.simulator.connection import Connection
from shared.sap.simulator.customizing import Country, Customizing, PostalCodeRule
from shared.sap.simulator.errors import (
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
from shared.sap.simulator.faults import FaultPlan, FaultSettingsError
from shared.sap.simulator.functions import MESSAGES, CustomerRecord
from shared.sap.simulator.interfaces import FunctionDescription, TypeDescription
from shared.sap.simulator.system import SimulatedSap

__all__ = [
    "NO_MATCH_MESSAGES",
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


def simulator_system_from_environment(environ: Mapping[str, str] | None = None) -> SimulatedSap:
    """A new system configured from SAP_SIMULATOR_FAULTS / SAP_SIMULATOR_USER / SAP_SIMULATOR_PASSWORD."""
    env = os.environ if environ is None else environ
    return SimulatedSap(credentials=_credentials(env), faults=FaultPlan.parse(env.get("SAP_SIMULATOR_FAULTS")))


def configure_default_system_from_environment(environ: Mapping[str, str] | None = None) -> SimulatedSap:
    """Apply the environment's faults and credentials to the default system, keeping its data."""
    env = os.environ if environ is None else environ
    system = default_system()
    system.configure_faults(env.get("SAP_SIMULATOR_FAULTS"))
    system.credentials = _credentials(env)
    return system
