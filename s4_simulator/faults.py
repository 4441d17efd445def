"""Fault injection for the S/4 double: what can go wrong between us and an S/4HANA system over HTTPS.

Like the RFC simulator's plan (sap_simulator/faults.py), with the faults of an HTTP service. Settings
string (S4_SIMULATOR_FAULTS, or S4Simulator.faults = FaultPlan.parse(...)), comma-separated
`fault=value` items; a yes/no fault may stand alone (`down` means `down=true`):

  latency_ms=20               every request waits this long before it is served
  cut_before=0.1              probability the connection is closed before the request runs: nothing
                              happened, no answer (a line cut on the way in)
  cut_after_commit=0.05       probability that a modifying request (POST, PATCH) runs and is committed,
                              then the connection is closed without an answer: it happened, the caller
                              cannot know (a line cut on the way back)
  stall_before=0              probability a request is held stall_ms, then its connection closed without
                              running it (a timeout with nothing done)
  stall_after_commit=0        probability a modifying request is committed, then held stall_ms and its
                              connection closed without an answer (a timeout after the commit)
  stall_ms=30000              how long a stall holds the request (the caller's timeout should be shorter)
  unavailable=0               probability of 503 Service Unavailable before the request runs
  fail_next_calls=0           the next N requests are answered 503
  down=false                  every request is answered 503 (a system in maintenance)
  seed=1                      seed of the random generator that draws the probabilities

Tests that need one precise fault use `FaultPlan.arm(name, times)`: the next `times` opportunities of
that fault fire for sure (armable: the probability names above).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

PROBABILITIES = ("cut_before", "cut_after_commit", "stall_before", "stall_after_commit", "unavailable")
FLAGS = ("down",)
_NUMBERS = ("latency_ms", "stall_ms", "fail_next_calls", "seed")
KNOWN = ("latency_ms", *PROBABILITIES, "stall_ms", "fail_next_calls", *FLAGS, "seed")
SETTING = "S4_SIMULATOR_FAULTS"
DEFAULT_STALL_MS = 30_000
_EXPECTED = {
    **dict.fromkeys(PROBABILITIES, "a probability from 0 to 1, e.g. 0.1"),
    **dict.fromkeys(_NUMBERS, "a whole number of at least 0"),
    **dict.fromkeys(FLAGS, "true or false (or the bare name for true)"),
}
_TRUE = {"1", "true", "yes", "on", "x"}
_FALSE = {"0", "false", "no", "off", ""}


class FaultSettingsError(ValueError):
    """The fault settings string names an unknown fault or carries a malformed value."""


@dataclass
class FaultPlan:
    """What to inject; thread-safe."""

    latency_ms: int = 0
    probabilities: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PROBABILITIES, 0.0))
    stall_ms: int = DEFAULT_STALL_MS
    fail_next_calls: int = 0
    down: bool = False
    seed: int | None = None
    fired: dict[str, int] = field(default_factory=dict)
    _armed: dict[str, int] = field(default_factory=dict, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._random.seed(self.seed)

    @classmethod
    def parse(cls, text: str | None) -> FaultPlan:
        """A plan from the settings string; FaultSettingsError naming the setting, item and what is expected."""
        plan = cls()
        for item in (text or "").split(","):
            if not item.strip():
                continue
            name, separator, raw = item.partition("=")
            name, raw = name.strip().lower(), raw.strip()
            if not separator and name in FLAGS:
                raw = "true"
            elif not separator and name in KNOWN:
                raise FaultSettingsError(f"{SETTING}: '{item.strip()}' needs a value ({_EXPECTED[name]})")
            plan._set(name, raw)
        return plan

    def _set(self, name: str, raw: str) -> None:
        if name not in KNOWN:
            raise FaultSettingsError(
                f"{SETTING}: unknown fault '{name}' (known: {', '.join(KNOWN)}; "
                f"e.g. {SETTING}=cut_after_commit=0.1,latency_ms=20)"
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
        if name not in PROBABILITIES:
            raise ValueError(f"unknown fault '{name}'; armable: {', '.join(PROBABILITIES)}")
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
