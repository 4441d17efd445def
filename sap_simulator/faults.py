"""Fault injection for the simulated SAP system: what can go wrong between us and a real SAP.

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

import random
import threading
from dataclasses import dataclass, field

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
_NUMBERS = ("latency_ms", "fail_next_calls", "seed")
KNOWN = ("latency_ms", *PROBABILITIES, "fail_next_calls", *FLAGS, "seed")
SETTING = "SAP_SIMULATOR_FAULTS"
_EXPECTED = {
    **dict.fromkeys(PROBABILITIES, "a probability from 0 to 1, e.g. 0.1"),
    **dict.fromkeys(_NUMBERS, "a whole number of at least 0"),
    **dict.fromkeys(FLAGS, "true or false (or the bare name for true)"),
}
_EXAMPLES = {**dict.fromkeys(PROBABILITIES, "0.1"), "latency_ms": "20", "fail_next_calls": "3", "seed": "1"}
_TRUE = {"1", "true", "yes", "on", "x"}
_FALSE = {"0", "false", "no", "off", ""}


class FaultSettingsError(SettingsError):
    """The fault settings string names an unknown fault or carries a malformed value."""


@dataclass
class FaultPlan:
    """What to inject; thread-safe. Probabilities are between 0 and 1."""

    latency_ms: int = 0
    probabilities: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PROBABILITIES, 0.0))
    fail_next_calls: int = 0
    down: bool = False
    logon_error: bool = False
    seed: int | None = None
    _armed: dict[str, int] = field(default_factory=dict, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    fired: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._random.seed(self.seed)

    @classmethod
    def parse(cls, text: str | None) -> FaultPlan:
        """A plan from the settings string described in the module docstring.

        A bad item raises FaultSettingsError with one line that names the setting, the item and what
        is expected (worded so that the log redaction filter leaves it readable).
        """
        plan = cls()
        for item in (text or "").split(","):
            if not item.strip():
                continue
            name, separator, raw = item.partition("=")
            name, raw = name.strip().lower(), raw.strip()
            if not separator:
                if name in FLAGS:
                    raw = "true"  # a bare yes/no fault switches it on
                elif name in _NUMBERS or name in PROBABILITIES:
                    raise FaultSettingsError(
                        f"{SETTING}: '{item.strip()}' needs a value, e.g. {name}={_EXAMPLES[name]}"
                    )
            plan._set(name, raw)
        return plan

    def _set(self, name: str, raw: str) -> None:
        if name not in KNOWN:
            raise FaultSettingsError(
                f"{SETTING}: unknown fault '{name}' (known: {', '.join(KNOWN)}; "
                f"e.g. {SETTING}=down or {SETTING}=communication_before=0.3,latency_ms=20)"
            )
        try:
            if name in PROBABILITIES:
                value = float(raw)
                if not 0.0 <= value <= 1.0:
                    raise ValueError
                self.probabilities[name] = value
            elif name in _NUMBERS:
                number = int(raw)
                if number < 0:
                    raise ValueError
                setattr(self, name, number)
                if name == "seed":
                    self._random.seed(number)
            else:
                if raw.lower() not in _TRUE | _FALSE:
                    raise ValueError
                setattr(self, name, raw.lower() in _TRUE)
        except ValueError:
            raise FaultSettingsError(
                f"{SETTING}: '{raw}' is not a valid value for {name}: expected {_EXPECTED[name]}"
            ) from None

    def arm(self, name: str, times: int = 1) -> None:
        """Make the next `times` opportunities of this fault fire for sure."""
        if name not in ARMABLE:
            raise ValueError(f"unknown fault '{name}'; armable: {', '.join(ARMABLE)}")
        with self._lock:
            self._armed[name] = self._armed.get(name, 0) + times

    def should_fire(self, name: str) -> bool:
        """Decide (and count) one opportunity of a fault: armed first, then its probability."""
        with self._lock:
            if self._armed.get(name, 0) > 0:
                self._armed[name] -= 1
                fire = True
            else:
                probability = self.probabilities.get(name, 0.0)
                fire = probability > 0.0 and self._random.random() < probability
            if fire:
                self.fired[name] = self.fired.get(name, 0) + 1
            return fire

    def take_failing_call(self) -> bool:
        """True (and one fewer left) while fail_next_calls is counting down."""
        with self._lock:
            if self.fail_next_calls <= 0:
                return False
            self.fail_next_calls -= 1
            self.fired["fail_next_calls"] = self.fired.get("fail_next_calls", 0) + 1
            return True
