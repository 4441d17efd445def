"""Fault injection for the simulated SAP system: what can go wrong between us and a real SAP.

The faults of an RFC connection, in the plan both SAP doubles share (doubles/fault_plan.py).

Settings string (SAP_SIMULATOR_FAULTS, or SimulatedSap.configure_faults), comma-separated
`fault=value` items; a yes/no fault may stand alone (`down` means `down=true`); faults not given keep
their defaults (off):

  latency_ms=20                     every connect and call waits this long (outside the system lock)
  communication_before=0.1          probability of CommunicationError before a call runs (nothing happened)
  communication_after_bapi=0.05     probability of CommunicationError after BAPI_CUSTOMER_CREATEFROMDATA1
                                    ran but before its answer arrived: the session and its pending
                                    (uncommitted) customer are lost, the drawn number is a gap
  communication_after_change=0.05   probability of CommunicationError after BAPI_CUSTOMER_CHANGEFROMDATA1
                                    took a change but before its answer arrived: the session and its
                                    uncommitted change are lost (SAP holds the old values)
  communication_after_commit=0.05   probability of CommunicationError after BAPI_TRANSACTION_COMMIT
                                    committed: the customer exists, the answer is lost
  external_runtime_error=0          probability of ExternalRuntimeError before a call runs
  abap_runtime_error=0              probability of ABAPRuntimeError (a short dump) in the create or the
                                    change BAPI
  fail_next_calls=0                 the next N calls (and connects) raise CommunicationError
  down=false                        SAP unreachable: every connect and call raises CommunicationError
  logon_error=false                 every connect raises LogonError
  seed=1                            seed of the random generator that draws the probabilities

Tests that need one precise fault use `FaultPlan.arm(name, times)` instead of probabilities: the
next `times` opportunities for that fault fire for sure. Armable: the probability names above and
`commit_failure` (BAPI_TRANSACTION_COMMIT answers RETURN type E: the update task failed).
"""

from __future__ import annotations

from dataclasses import dataclass

from doubles import fault_plan
from shared.settings import SettingsError

PROBABILITIES = (
    "communication_before",
    "communication_after_bapi",
    "communication_after_change",
    "communication_after_commit",
    "external_runtime_error",
    "abap_runtime_error",
)
ARMABLE = (*PROBABILITIES, "commit_failure")
FLAGS = ("down", "logon_error")
KNOWN = ("latency_ms", *PROBABILITIES, "fail_next_calls", *FLAGS, "seed")
SETTING = "SAP_SIMULATOR_FAULTS"


class FaultSettingsError(SettingsError):
    """The fault settings string names an unknown fault or carries a malformed value."""


@dataclass
class FaultPlan(fault_plan.FaultPlan):
    """What to inject; thread-safe. Probabilities are between 0 and 1."""

    catalogue = fault_plan.FaultCatalogue(
        setting=SETTING,
        known=KNOWN,
        probabilities=PROBABILITIES,
        flags=FLAGS,
        armable=ARMABLE,
        usage=f"{SETTING}=down or {SETTING}=communication_before=0.3,latency_ms=20",
        error=FaultSettingsError,
        examples={**dict.fromkeys(PROBABILITIES, "0.1"), "latency_ms": "20", "fail_next_calls": "3", "seed": "1"},
    )

    logon_error: bool = False
