"""The run's console and its errors: one line at a time, never inside a line of the host's output; a stop
signal becomes StopRequested, a reason to give up RunError."""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


console_lock = threading.Lock()


def say(text: str = "") -> None:
    """One line (or block) to the console, never interleaved with a line of the host's output."""
    # OSError: the terminal is gone (SIGHUP), and the clean-up must still run.
    with console_lock, contextlib.suppress(OSError):
        print(text, flush=True)


class StopRequested(Exception):
    """Ctrl-C or SIGTERM arrived: unwind and stop what this run started."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


class RunError(Exception):
    """The run cannot go on; the message says why and what to do."""


class DiedWhileStarting(RunError):
    """A child exited before it was ready: a crash or a kill like any other, for the supervisor."""


def raise_stop(signal_number: int, _frame: FrameType | None) -> None:
    raise StopRequested(signal_number)
