"""Azurite, the local Azure Storage emulator: install it, start it, find it, stop it.

Tests and `scripts/` call `ensure_azurite()`: it reuses an Azurite that already listens on the
default ports (a developer's own, or one started by `python -m devtools.azurite start --background`)
and otherwise starts one in the background that lives as long as this Python process (or until
`stop_azurite()`). Its data is in memory (tests: empty at every start) unless a `location` is given;
`scripts/run` and the command line below keep it on disk in `.local/azurite/` of the checkout.

    python -m devtools.azurite install                 # npm install into .tools/ (idempotent)
    python -m devtools.azurite start [--background]    # foreground until Ctrl-C, or detached; data in
                                                       # .local/azurite (--location DIR, --in-memory)
    python -m devtools.azurite status
    python -m devtools.azurite stop                    # stops the one `start --background` left running
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

AZURITE_VERSION = "3.35.0"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_BLOB_PORT = 10000
DEFAULT_QUEUE_PORT = 10001
DEFAULT_TABLE_PORT = 10002
START_TIMEOUT_SECONDS = 60.0

# Azurite's single built-in account. The key is public (published in Microsoft's docs) and only
# ever opens the local emulator.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Local run-time data of the checkout (git-ignored): Azurite's storage, the SAP simulator's customers.
LOCAL_DATA_DIR_NAME = ".local"
AZURITE_DATA_DIR_NAME = "azurite"
# Azurite on disk flushes its databases when it stops; in memory there is nothing to flush.
STOP_GRACE_ON_DISK_SECONDS = 10.0
STOP_GRACE_IN_MEMORY_SECONDS = 1.0


class AzuriteError(RuntimeError):
    """Azurite could not be installed or started; the message says what to do."""


@dataclass(frozen=True)
class AzuriteEndpoints:
    host: str = DEFAULT_HOST
    blob_port: int = DEFAULT_BLOB_PORT
    queue_port: int = DEFAULT_QUEUE_PORT
    table_port: int = DEFAULT_TABLE_PORT

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.blob_port}/{ACCOUNT_NAME}"

    @property
    def queue_endpoint(self) -> str:
        return f"http://{self.host}:{self.queue_port}/{ACCOUNT_NAME}"

    @property
    def table_endpoint(self) -> str:
        return f"http://{self.host}:{self.table_port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        # Explicit endpoints rather than "UseDevelopmentStorage=true": not every SDK expands the
        # shortcut (azure-data-tables does not), and explicit ports allow a non-default Azurite.
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={ACCOUNT_NAME};"
            f"AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
            f"QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )

    def ports(self) -> dict[str, int]:
        return {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}


@dataclass
class _StartedAzurite:
    process: subprocess.Popen[bytes]
    endpoints: AzuriteEndpoints
    log_path: Path
    location: Path | None = None  # None: in memory

    @property
    def stop_grace_seconds(self) -> float:
        return STOP_GRACE_IN_MEMORY_SECONDS if self.location is None else STOP_GRACE_ON_DISK_SECONDS


# The Azurite this process started, if any: the only one stop_azurite() may stop.
_started: _StartedAzurite | None = None
# Azurites this process started earlier on other endpoints; stop_azurite ends them too, so none outlives us.
_earlier: list[_StartedAzurite] = []


def tools_dir(project_root: Path | None = None) -> Path:
    return (project_root or PROJECT_ROOT) / ".tools"


def default_location(project_root: Path | None = None) -> Path:
    """Where Azurite keeps its data on disk for local runs: .local/azurite in the checkout (git-ignored)."""
    return (project_root or PROJECT_ROOT) / LOCAL_DATA_DIR_NAME / AZURITE_DATA_DIR_NAME


def azurite_executable(project_root: Path | None = None) -> Path:
    name = "azurite.cmd" if os.name == "nt" else "azurite"
    return tools_dir(project_root) / "node_modules" / ".bin" / name


def _pid_file(project_root: Path | None) -> Path:
    return tools_dir(project_root) / "azurite.pid"


def _log_file(project_root: Path | None) -> Path:
    return tools_dir(project_root) / "azurite.log"


def install_azurite(project_root: Path | None = None) -> Path:
    """Install the pinned Azurite into <project_root>/.tools unless it is there already."""
    executable = azurite_executable(project_root)
    if executable.exists():
        return executable
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        raise AzuriteError(
            f"{' and '.join(missing)} not found on PATH: Azurite needs Node.js 20 (LTS) with npm. "
            "Install Node 20 (https://nodejs.org/) and run again."
        )
    tools = tools_dir(project_root)
    tools.mkdir(parents=True, exist_ok=True)
    command = [
        shutil.which("npm") or "npm",
        "install",
        "--prefix",
        str(tools),
        "--no-audit",
        "--no-fund",
        f"azurite@{AZURITE_VERSION}",
    ]
    logger.info(
        "installing azurite %s from npm into %s (once; about 15 s, needs the npm registry)", AZURITE_VERSION, tools
    )
    started = time.monotonic()
    with _progress(f"installing azurite {AZURITE_VERSION}", started):
        result = subprocess.run(command, cwd=tools, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not executable.exists():
        raise AzuriteError(
            f"npm install azurite@{AZURITE_VERSION} failed (exit {result.returncode}); needs Node 20 and npm "
            f"with access to the npm registry.\n{result.stderr.strip()[-2000:]}"
        )
    logger.info("installed azurite %s in %.0f s", AZURITE_VERSION, time.monotonic() - started)
    return executable


PROGRESS_INTERVAL_SECONDS = 5.0


@contextlib.contextmanager
def _progress(what: str, started: float, interval: float = PROGRESS_INTERVAL_SECONDS) -> Iterator[None]:
    """A line every few seconds while a silent step (npm install) runs, so nobody thinks it hangs."""
    done = threading.Event()

    def tick() -> None:
        while not done.wait(interval):
            logger.info("... still %s (%.0f s)", what, time.monotonic() - started)

    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def _port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _answers_as_azurite(host: str, port: int, service: str) -> bool:
    """Azurite names itself in the Server header (e.g. "Azurite-Queue/3.35.0"), even on a 4xx."""
    path = "Tables" if service == "table" else "?comp=list"
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/{ACCOUNT_NAME}/{path}", timeout=2) as response:
            server = response.headers.get("Server", "")
    except urllib.error.HTTPError as error:
        server = error.headers.get("Server", "") if error.headers else ""
    except (OSError, ValueError):
        return False
    return server.lower().startswith(f"azurite-{service}")


def azurite_status(endpoints: AzuriteEndpoints | None = None) -> dict[str, str]:
    """Per service: "azurite", "other" (the port is taken by something else) or "free"."""
    endpoints = endpoints or AzuriteEndpoints()
    status = {}
    for service, port in endpoints.ports().items():
        if _answers_as_azurite(endpoints.host, port, service):
            status[service] = "azurite"
        elif _port_accepts(endpoints.host, port):
            status[service] = "other"
        else:
            status[service] = "free"
    return status


@contextlib.contextmanager
def _start_lock(project_root: Path | None) -> Iterator[None]:
    """Serialise check-and-start across processes (parallel test runs), so a second run waits for the
    first one's Azurite and reuses it instead of racing it for the ports."""
    tools = tools_dir(project_root)
    tools.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the start-race fallback in ensure_azurite still applies
        yield
        return
    with (tools / "azurite.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_azurite(
    project_root: Path | None = None,
    *,
    endpoints: AzuriteEndpoints | None = None,
    timeout_seconds: float = START_TIMEOUT_SECONDS,
    location: Path | None = None,
) -> AzuriteEndpoints:
    """Return the endpoints of a running Azurite, starting one in the background when none runs.

    `location`: the folder a started Azurite keeps its data in (created when missing); None keeps it
    in memory. An Azurite that already runs is reused as it is, wherever it keeps its data.
    """
    endpoints = endpoints or AzuriteEndpoints()
    if _started is not None and _started.process.poll() is None and _started.endpoints == endpoints:
        return endpoints
    with _start_lock(project_root):
        return _reuse_or_start(project_root, endpoints, timeout_seconds, location)


def _reuse_or_start(
    project_root: Path | None, endpoints: AzuriteEndpoints, timeout_seconds: float, location: Path | None = None
) -> AzuriteEndpoints:
    global _started
    status = azurite_status(endpoints)
    if all(state == "azurite" for state in status.values()):
        logger.info("reusing the azurite already listening on %s", endpoints.host)
        return endpoints
    taken = [f"{service} port {endpoints.ports()[service]}" for service, state in status.items() if state != "free"]
    if taken:
        raise AzuriteError(
            f"cannot start Azurite: {', '.join(taken)} on {endpoints.host} already in use by something that "
            "is not a complete Azurite; stop it or free the ports"
        )

    executable = install_azurite(project_root)
    log_path = _log_file(project_root)
    if location is not None:
        location.mkdir(parents=True, exist_ok=True)
    process = _spawn(executable, endpoints, log_path, tools_dir(project_root), location)
    if _started is not None and _started.process.poll() is None:
        _earlier.append(_started)
    _started = _StartedAzurite(process, endpoints, log_path, location)
    atexit.register(stop_azurite)
    try:
        _wait_until_listening(process, endpoints, log_path, timeout_seconds)
    except AzuriteError:
        _started = None
        # Someone outside our lock (another checkout, a developer's own Azurite) may have started one
        # between our check and our start; ours then exits with "address in use" and theirs serves.
        if all(state == "azurite" for state in azurite_status(endpoints).values()):
            logger.info("another azurite won the start race on %s; reusing it", endpoints.host)
            return endpoints
        raise
    logger.info(
        "azurite started (pid %s), data %s, log %s",
        process.pid,
        location if location is not None else "in memory",
        log_path,
    )
    return endpoints


def _command(executable: Path, endpoints: AzuriteEndpoints, location: Path | None = None) -> list[str]:
    # In memory: tests start from empty storage and leave nothing on disk. On disk: a local run keeps
    # accepted requests and queued retries across restarts.
    persistence = ["--inMemoryPersistence"] if location is None else ["--location", str(location)]
    return [
        str(executable),
        "--skipApiVersionCheck",  # current Python SDKs send API versions newer than Azurite knows
        *persistence,
        "--silent",
        "--disableTelemetry",  # no calls home from test runs (and none possible on offline machines)
        "--loose",
        "--blobHost",
        endpoints.host,
        "--blobPort",
        str(endpoints.blob_port),
        "--queueHost",
        endpoints.host,
        "--queuePort",
        str(endpoints.queue_port),
        "--tableHost",
        endpoints.host,
        "--tablePort",
        str(endpoints.table_port),
    ]


def _spawn(
    executable: Path, endpoints: AzuriteEndpoints, log_path: Path, cwd: Path, location: Path | None = None
) -> subprocess.Popen[bytes]:
    # Own process group (session): the npm shim starts node as a child, and stop must reach both
    # without ever signalling the test runner's group.
    options: dict[str, object] = {}
    if os.name == "nt":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    else:
        options["start_new_session"] = True
    with log_path.open("ab") as log:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            _command(executable, endpoints, location),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            **options,
        )


def _wait_until_listening(
    process: subprocess.Popen[bytes], endpoints: AzuriteEndpoints, log_path: Path, timeout_seconds: float
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AzuriteError(f"Azurite exited with code {process.returncode} while starting; see {log_path}")
        if all(_port_accepts(endpoints.host, port) for port in endpoints.ports().values()):
            return
        time.sleep(0.2)
    _terminate_group(process.pid)
    raise AzuriteError(f"Azurite did not listen on {endpoints.ports()} within {timeout_seconds:.0f} s; see {log_path}")


def _terminate_group(
    pid: int, wait: float = STOP_GRACE_IN_MEMORY_SECONDS, process: subprocess.Popen[bytes] | None = None
) -> None:
    # Azurite's graceful shutdown waits for idle keep-alive connections (the test process still holds
    # pooled ones); in-memory storage has nothing to flush, so its grace period is short, while one on
    # disk gets the time to write its databases.
    if os.name == "nt":
        subprocess.run(["taskkill", "/PID", str(pid), "/T", "/F"], capture_output=True, check=False)
        return
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return
    if group == os.getpgid(0):  # never our own group (the process was not started by us)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process is not None:
            process.poll()  # reap our child: a zombie would still count as a member of the group
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def started_azurite_pid() -> int | None:
    """The pid of the Azurite this process started and that still runs, else None (reused or none)."""
    started = _started
    if started is None or started.process.poll() is not None:
        return None
    return started.process.pid


def stop_azurite() -> None:
    """Stop every Azurite this process started, if any (never one started by someone else)."""
    global _started
    started, _started = _started, None
    for instance in [*_earlier, *([started] if started is not None else [])]:
        _terminate_group(instance.process.pid, instance.stop_grace_seconds, instance.process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            instance.process.wait(timeout=5)
    _earlier.clear()


def _start_background(project_root: Path | None, location: Path | None) -> int:
    """Start Azurite detached from this process and leave a pid file for `stop`."""
    global _started
    endpoints = ensure_azurite(project_root, location=location)
    if _started is None:
        print(f"azurite already running on {endpoints.host} {endpoints.ports()}")
        return 0
    pid = _started.process.pid
    _started = None  # detach: it must outlive this command
    _pid_file(project_root).write_text(f"{pid}\n{'' if location is None else location}")
    print(
        f"azurite started in the background (pid {pid}); data {location or 'in memory'}; log {_log_file(project_root)}"
    )
    return 0


def _start_foreground(project_root: Path | None, location: Path | None) -> int:
    endpoints = ensure_azurite(project_root, location=location)
    if _started is None:
        print(f"azurite already running on {endpoints.host} {endpoints.ports()}; nothing to do")
        return 0
    print(f"azurite running on {endpoints.host} {endpoints.ports()}, data {location or 'in memory'}; Ctrl-C stops it")
    print(f"AzureWebJobsStorage={endpoints.connection_string}")
    try:
        _started.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_azurite()
    return 0


def _is_azurite_process(pid: int) -> bool:
    # A stale pid file may name a pid the system has since given to another program.
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return os.name == "nt" or sys.platform == "darwin"  # no /proc to ask: trust the pid file
    return b"azurite" in cmdline.read_bytes()


def _stop_background(project_root: Path | None) -> int:
    pid_file = _pid_file(project_root)
    if not pid_file.exists():
        print("no background azurite recorded (nothing to stop)")
        return 0
    pid_text, _, location = pid_file.read_text().partition("\n")
    pid = int(pid_text.strip() or 0)
    if pid > 0 and _is_azurite_process(pid):
        _terminate_group(pid, STOP_GRACE_ON_DISK_SECONDS if location.strip() else STOP_GRACE_IN_MEMORY_SECONDS)
    pid_file.unlink(missing_ok=True)
    print(f"azurite (pid {pid}) stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.azurite", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["install", "start", "stop", "status", "connection-string"])
    parser.add_argument("--background", action="store_true", help="start: detach and return")
    parser.add_argument("--project-root", type=Path, default=None)
    parser.add_argument(
        "--location",
        type=Path,
        default=None,
        help="start: folder for Azurite's data (default: .local/azurite in the checkout)",
    )
    parser.add_argument("--in-memory", action="store_true", help="start: keep the data in memory only")
    args = parser.parse_args(argv)
    location = None if args.in_memory else (args.location or default_location(args.project_root))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "install":
            print(f"azurite {AZURITE_VERSION}: {install_azurite(args.project_root)}")
            return 0
        if args.command == "start":
            if args.background:
                return _start_background(args.project_root, location)
            return _start_foreground(args.project_root, location)
        if args.command == "stop":
            return _stop_background(args.project_root)
        if args.command == "connection-string":
            print(AzuriteEndpoints().connection_string)
            return 0
        status = azurite_status()
        for service, state in status.items():
            print(f"{service:5} {AzuriteEndpoints().ports()[service]}: {state}")
        return 0 if all(state == "azurite" for state in status.values()) else 1
    except AzuriteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
