"""The children of a run: the functions host and the agent in process groups of their own, their readiness
checks, and the supervisor that starts again one that dies on its own."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from devtools import azurite
from devtools.run.console import DiedWhileStarting, RunError, console_lock, say

if TYPE_CHECKING:
    from devtools.fake_salesforce import FakeSalesforce
    from devtools.relay_double import RelayDoubleThread
    from s4_simulator import S4Simulator


HEALTH_TIMEOUT_SECONDS = 60.0


# The host finishes running invocations on SIGINT; an idle one stops in well under a second.
HOST_STOP_GRACE_SECONDS = 10.0


OUTPUT_TAIL_LINES = 40


# Written once the host is spawned, so tests and scripts can check that a stop left nothing behind.
PIDS_LINE_PREFIX = "started pids:"


READY_LINE = "==> ready"


# A host that exits on its own is started again, unless it did so this often within the window.
MAX_RESTARTS = 3


RESTART_WINDOW_SECONDS = 60.0


RESTART_LINE = "==> restarting the functions host"


AGENT_RESTART_LINE = "==> restarting the agent"


RESTART_LINES = {"host": RESTART_LINE, "agent": AGENT_RESTART_LINE}


CHILD_NAMES = {"host": "functions host", "agent": "agent"}


SUPERVISE_POLL_SECONDS = 0.2


AGENT_READY_TIMEOUT_SECONDS = 30.0


@dataclass
class HostProcess:
    """The functions host as a child in its own process group, its output streamed to the console."""

    command: Sequence[str]
    environment: Mapping[str, str]
    cwd: Path
    console: IO[str] = field(default_factory=lambda: sys.stdout)
    label: str = ""  # in front of each line of its output (the agent's, next to the host's)
    process: subprocess.Popen[bytes] | None = None
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=OUTPUT_TAIL_LINES))
    _pump: threading.Thread | None = None

    def start(self) -> HostProcess:
        # Own session: a Ctrl-C in the terminal reaches only this runner, which then stops the host's
        # whole group (func start has a language worker below it) in order.
        self.process = subprocess.Popen(
            list(self.command),
            cwd=self.cwd,
            env=dict(self.environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._stream_output, name="host-output", daemon=True)
        self._pump.start()
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the host is not started")
        return self.process.pid

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def _stream_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.tail.append(line)
            with console_lock:
                self.console.write(self.label + line + "\n")
                self.console.flush()

    def wait_for_output(self, timeout: float = 2.0) -> None:
        """Let the last lines of an exited host reach the console (and the tail) before reporting."""
        if self._pump is not None:
            self._pump.join(timeout)

    def stop(self, grace_seconds: float = HOST_STOP_GRACE_SECONDS) -> None:
        if self.process is None:
            return
        group = self.process.pid  # the session leader's pid is its group id
        if self.process.poll() is None:
            _signal_group(group, signal.SIGINT)
            try:
                self.process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                self.process.wait()
        # The leader may be gone while a worker it started still runs in the group.
        _signal_group(group, signal.SIGKILL)
        self.wait_for_output()


def _signal_group(group: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal_number)


def _health_answers(url: str) -> bool:
    # No proxies: the request goes to this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_healthy(host: HostProcess, url: str, timeout_seconds: float = HEALTH_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        code = host.exit_code()
        if code is not None:
            raise DiedWhileStarting(f"the functions host exited with code {code} while starting")
        if _health_answers(url):
            return
        time.sleep(0.2)
    raise RunError(f"the functions host did not answer GET {url} with 200 within {timeout_seconds:.0f} s")


def wait_until_listening(
    agent: HostProcess, listening: Callable[[], bool], timeout_seconds: float = AGENT_READY_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        code = agent.exit_code()
        if code is not None:
            raise DiedWhileStarting(f"the agent exited with code {code} while starting")
        if listening():
            return
        time.sleep(0.1)
    raise RunError(f"the agent did not listen on the relay double within {timeout_seconds:.0f} s")


@dataclass
class Run:
    """What this run started, so that a stop ends exactly that."""

    host: HostProcess | None = None
    agent: HostProcess | None = None
    relay_double: RelayDoubleThread | None = None
    fake_salesforce: FakeSalesforce | None = None
    s4_double: S4Simulator | None = None
    azurite_pid: int | None = None

    def stop(self) -> None:
        # The host first: its requests in flight still reach the agent, which then finishes its own.
        if self.host is not None:
            self.host.stop()
        if self.agent is not None:
            self.agent.stop()
        if self.relay_double is not None:
            self.relay_double.__exit__(None, None, None)
            self.relay_double = None
        if self.fake_salesforce is not None:
            self.fake_salesforce.stop()
        if self.s4_double is not None:
            self.s4_double.close()
            self.s4_double = None
        # Only ever the Azurite this process started (also one a Ctrl-C caught halfway through starting).
        azurite.stop_azurite()


@dataclass
class Launcher:
    """Starts (and after a crash, starts again) one child, the functions host or the agent, with the same
    command and settings, and waits until it is ready."""

    run: Run
    kind: str  # "host" or "agent": the Run attribute and the word in messages
    command: list[str]
    environment: dict[str, str]
    project_root: Path
    ready: Callable[[HostProcess], None]
    pids_line: Callable[[HostProcess], str]
    label: str = ""

    @property
    def child(self) -> HostProcess | None:
        return getattr(self.run, self.kind)

    def start(self, *, restart: bool = False) -> None:
        """Starts the child and waits until it is ready. A restarted child that dies before it is ready
        raises DiedWhileStarting without a report: the supervisor counts it as one more death."""
        child = HostProcess(self.command, self.environment, self.project_root, label=self.label).start()
        setattr(self.run, self.kind, child)
        say(f"{PIDS_LINE_PREFIX} {self.pids_line(child)}")
        try:
            self.ready(child)
        except RunError as error:
            if restart and isinstance(error, DiedWhileStarting):
                raise
            child.wait_for_output(timeout=0.5)
            say(f"\nerror: the {CHILD_NAMES[self.kind]} did not come up. Last lines of its output:")
            say("\n".join(f"  | {line}" for line in child.tail))
            raise


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def supervise(launchers: Sequence[Launcher], notes: Mapping[str, str], port: int) -> int:
    """Waits for the children; one that exits on its own is started again (Azurite and the others keep
    running), until it has done so MAX_RESTARTS times within RESTART_WINDOW_SECONDS."""
    restarts: dict[str, list[float]] = {launcher.kind: [] for launcher in launchers}
    while True:
        for launcher in launchers:
            child = launcher.child
            assert child is not None and child.process is not None
            code = child.process.poll()
            if code is None:
                continue
            child.wait_for_output()
            child.stop()  # whatever the leader left behind in its group
            now = time.monotonic()
            recent = [at for at in restarts[launcher.kind] if now - at < RESTART_WINDOW_SECONDS]
            restarts[launcher.kind] = recent
            name = CHILD_NAMES[launcher.kind]
            if len(recent) >= MAX_RESTARTS:
                say(
                    f"error: the {name} exited on its own ({_describe_exit(code)}), {len(recent) + 1} times "
                    f"within {RESTART_WINDOW_SECONDS:.0f} s; stopping the rest. {notes[launcher.kind]}"
                )
                return 1
            recent.append(now)
            say(
                f"{RESTART_LINES[launcher.kind]}: it exited on its own ({_describe_exit(code)}). {notes[launcher.kind]}"
            )
            try:
                launcher.start(restart=True)
            except DiedWhileStarting:
                # Killed (or crashed) while still starting: the next round sees it dead and counts it, so
                # only the fourth death within the window ends the run, as docs/running-locally.md says.
                continue
            what = (
                f"the functions answer on http://localhost:{port}"
                if launcher.kind == "host"
                else "the agent listens on the hybrid connection"
            )
            say(
                f"{READY_LINE} again: {what} (restart {len(recent)} of at most {MAX_RESTARTS} within "
                f"{RESTART_WINDOW_SECONDS:.0f} s)"
            )
        time.sleep(SUPERVISE_POLL_SECONDS)
