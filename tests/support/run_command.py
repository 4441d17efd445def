"""`scripts/run` as a child process: started, read line by line, stopped as Ctrl-C would; and the
environment a test gives it (an Azurite on free ports of its own, its own table and queue)."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devtools import azurite
from devtools.run import PIDS_LINE_PREFIX, embedded_defaults
from tests.support.network import free_ports

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUN_COMMAND = PROJECT_ROOT / "scripts" / "run"
# Bounds a broken run only (Azurite may have to start); a healthy one is ready in a few seconds.
START_DEADLINE_SECONDS = 60.0
STOP_DEADLINE_SECONDS = 20.0


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has exited; it only waits for a parent that may not be ours to reap it.
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


def group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class RunningCommand:
    """scripts/run as a child in its own process group, its output collected line by line."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _arrivals: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, *arguments: str, environment: dict[str, str]) -> RunningCommand:
        process = subprocess.Popen(
            [str(RUN_COMMAND), *arguments],
            cwd=PROJECT_ROOT,
            env=environment,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        running = cls(process)
        threading.Thread(target=running._collect, daemon=True).start()
        return running

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._arrivals.put(line)
        self._arrivals.put(None)

    def wait_for_line(self, prefix: str) -> str | None:
        """The first line starting with prefix; None when the command ended without printing one."""
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if line.startswith(prefix):
                    return line
            seen = len(self.lines)
            try:
                if self._arrivals.get(timeout=0.5) is None:
                    return next((line for line in self.lines if line.startswith(prefix)), None)
            except queue.Empty:
                continue
        return None

    def wait_for_lines(self, prefix: str, count: int) -> list[str]:
        """The first `count` lines starting with prefix (fewer when the command ended or the deadline passed)."""
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            found = [line for line in self.lines if line.startswith(prefix)]
            if len(found) >= count or self.process.poll() is not None:
                return [line for line in self.lines if line.startswith(prefix)][:count]
            time.sleep(0.1)
        return [line for line in self.lines if line.startswith(prefix)][:count]

    def started_pids(self, nth: int = 1) -> dict[str, int | None]:
        """The pids of the nth start of the host (a restarted host prints the line again)."""
        lines = self.wait_for_lines(PIDS_LINE_PREFIX, nth)
        assert len(lines) == nth, self.output()
        pids = dict(re.findall(r"(\w+)=(\S+)", lines[-1]))
        return {name: int(value) if value.isdigit() else None for name, value in pids.items()}

    def printed_exports(self) -> str:
        """The `export ...` line the run prints for the operations commands."""
        line = next((line.strip() for line in self.lines if line.strip().startswith("export ")), None)
        assert line is not None, self.output()
        return line

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        """As Ctrl-C would; what it started and left (a failed test) is killed by pid afterwards."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for line in [line for line in self.lines if line.startswith(PIDS_LINE_PREFIX)]:
            for value in re.findall(r"=(\d+)", line):
                # The host and Azurite run in sessions of their own: their group ids are their pids.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(value), signal.SIGKILL)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_azurite_endpoints() -> azurite.AzuriteEndpoints:
    blob, queue_port, table = free_ports(3)
    return azurite.AzuriteEndpoints(blob_port=blob, queue_port=queue_port, table_port=table)


def isolated_run_environment() -> dict[str, str]:
    """The developer's environment minus our settings, with an Azurite of this test's own on free ports
    (the run starts it, so a developer's Azurite and scripts/run never meet the test) and a ledger table and
    retry queue of its own."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in embedded_defaults() and not name.startswith(("SAP_", "SALESFORCE_"))
    }
    suffix = uuid.uuid4().hex[:12]
    environment["LEDGER_TABLE_NAME"] = f"runledger{suffix}"
    environment["RETRY_QUEUE_NAME"] = f"run-retry-{suffix}"
    environment["AzureWebJobsStorage"] = free_azurite_endpoints().connection_string
    return environment
