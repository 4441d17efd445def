"""The fault plan of a double: a settings string of faults, parsed once, drawn per opportunity, counted.

Both SAP doubles inject faults this way (sap_simulator/faults.py, the RFC faults; s4_simulator/faults.py, the
HTTP faults); what differs is which faults there are, which each module declares in a FaultCatalogue. The
settings string is comma-separated `fault=value` items; a yes/no fault may stand alone (`down` means
`down=true`); faults not given keep their defaults (off). A bad item raises the double's FaultSettingsError
with one line that names the setting, the item and what is expected (worded so that the log redaction
filter leaves it readable). Tests that need one precise fault use `arm(name, times)`: the next `times`
opportunities of that fault fire for sure.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Self

_TRUE = {"1", "true", "yes", "on", "x"}
_FALSE = {"0", "false", "no", "off", ""}
_EXPECTED_PROBABILITY = "a probability from 0 to 1, e.g. 0.1"
_EXPECTED_NUMBER = "a whole number of at least 0"
_EXPECTED_FLAG = "true or false (or the bare name for true)"


@dataclass(frozen=True)
class FaultCatalogue:
    """The faults of one double and how its settings string is spoken of."""

    setting: str  # the environment variable that carries the string
    known: tuple[str, ...]  # every fault, in the order an unknown fault's message lists them
    probabilities: tuple[str, ...]  # drawn per opportunity, 0 to 1
    flags: tuple[str, ...]  # yes/no
    armable: tuple[str, ...]  # what arm() takes
    usage: str  # what an unknown fault's message shows after "e.g. "
    error: type[ValueError]  # the double's FaultSettingsError
    # The value a bare number or probability is shown with ("needs a value, e.g. latency_ms=20"); without
    # them the message says what is expected instead.
    examples: Mapping[str, str] | None = None

    @property
    def numbers(self) -> tuple[str, ...]:
        """Whole numbers of at least 0: what is neither a probability nor a flag."""
        return tuple(name for name in self.known if name not in self.probabilities and name not in self.flags)

    def expected(self, name: str) -> str:
        if name in self.probabilities:
            return _EXPECTED_PROBABILITY
        return _EXPECTED_FLAG if name in self.flags else _EXPECTED_NUMBER

    def needs_value(self, item: str, name: str) -> str:
        if self.examples is None:
            return f"{self.setting}: '{item}' needs a value ({self.expected(name)})"
        return f"{self.setting}: '{item}' needs a value, e.g. {name}={self.examples[name]}"


@dataclass
class FaultPlan:
    """What to inject; thread-safe. A double's plan subclasses it with its catalogue and its own faults' fields
    (a yes/no fault or a number is an attribute of the same name; probabilities are in `probabilities`)."""

    catalogue: ClassVar[FaultCatalogue]

    latency_ms: int = 0
    probabilities: dict[str, float] = field(default_factory=dict)
    fail_next_calls: int = 0
    down: bool = False
    seed: int | None = None
    fired: dict[str, int] = field(default_factory=dict)
    _armed: dict[str, int] = field(default_factory=dict, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.probabilities:
            self.probabilities = dict.fromkeys(self.catalogue.probabilities, 0.0)
        if self.seed is not None:
            self._random.seed(self.seed)

    @classmethod
    def parse(cls, text: str | None) -> Self:
        """A plan from the settings string (see the double's faults.py for the faults)."""
        catalogue = cls.catalogue
        plan = cls()
        for item in (text or "").split(","):
            if not item.strip():
                continue
            name, separator, raw = item.partition("=")
            name, raw = name.strip().lower(), raw.strip()
            if not separator:
                if name in catalogue.flags:
                    raw = "true"  # a bare yes/no fault switches it on
                elif name in catalogue.known:
                    raise catalogue.error(catalogue.needs_value(item.strip(), name))
            plan._set(name, raw)
        return plan

    def _set(self, name: str, raw: str) -> None:
        catalogue = self.catalogue
        if name not in catalogue.known:
            raise catalogue.error(
                f"{catalogue.setting}: unknown fault '{name}' (known: {', '.join(catalogue.known)}; "
                f"e.g. {catalogue.usage})"
            )
        try:
            if name in catalogue.probabilities:
                value = float(raw)
                if not 0.0 <= value <= 1.0:
                    raise ValueError
                self.probabilities[name] = value
            elif name in catalogue.flags:
                if raw.lower() not in _TRUE | _FALSE:
                    raise ValueError
                setattr(self, name, raw.lower() in _TRUE)
            else:
                number = int(raw)
                if number < 0:
                    raise ValueError
                setattr(self, name, number)
                if name == "seed":
                    self._random.seed(number)
        except ValueError:
            raise catalogue.error(
                f"{catalogue.setting}: '{raw}' is not a valid value for {name}: expected {catalogue.expected(name)}"
            ) from None

    def arm(self, name: str, times: int = 1) -> None:
        """Make the next `times` opportunities of this fault fire for sure."""
        armable = self.catalogue.armable
        if name not in armable:
            raise ValueError(f"unknown fault '{name}'; armable: {', '.join(armable)}")
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
