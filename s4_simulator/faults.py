"""Fault injection for the S/4 double: what can go wrong between us and an S/4HANA system over HTTPS.

The faults of an HTTP service, in the plan both SAP doubles share (doubles/fault_plan.py). Settings
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

from dataclasses import dataclass

from doubles import fault_plan

PROBABILITIES = ("cut_before", "cut_after_commit", "stall_before", "stall_after_commit", "unavailable")
FLAGS = ("down",)
KNOWN = ("latency_ms", *PROBABILITIES, "stall_ms", "fail_next_calls", *FLAGS, "seed")
SETTING = "S4_SIMULATOR_FAULTS"
DEFAULT_STALL_MS = 30_000


class FaultSettingsError(ValueError):
    """The fault settings string names an unknown fault or carries a malformed value."""


@dataclass
class FaultPlan(fault_plan.FaultPlan):
    """What to inject; thread-safe."""

    catalogue = fault_plan.FaultCatalogue(
        setting=SETTING,
        known=KNOWN,
        probabilities=PROBABILITIES,
        flags=FLAGS,
        armable=PROBABILITIES,
        usage=f"{SETTING}=cut_after_commit=0.1,latency_ms=20",
        error=FaultSettingsError,
    )

    stall_ms: int = DEFAULT_STALL_MS
