"""scripts/run's supervisor (devtools/run/processes.py supervise) with real child processes: a child killed while
it is still starting counts as one death like any other, so the run ends only at the fourth death within
the window (docs/running-locally.md: "A host that dies a fourth time within a minute ends the run")."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from devtools.run import (
    MAX_RESTARTS,
    READY_LINE,
    RESTART_LINE,
    HostProcess,
    Launcher,
    Run,
    supervise,
    wait_until_healthy,
)

UNREACHABLE = "http://127.0.0.1:9/api/health"  # the discard port: nothing answers, as a host still starting


def test_a_restarted_host_killed_while_still_starting_is_counted_and_started_again(tmp_path: Path, capsys):
    starts: list[int] = []

    def ready(child: HostProcess) -> None:
        starts.append(child.pid)
        os.kill(child.pid, signal.SIGKILL)  # `kill -9` of the host while it starts
        if len(starts) == 1:
            assert child.process is not None
            child.process.wait()  # the first start is taken as ready; its death is the first one
            return
        wait_until_healthy(child, UNREACHABLE)  # sees the child dead before it ever answered

    run = Run()
    launcher = Launcher(
        run,
        "host",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        dict(os.environ),
        tmp_path,
        ready,
        lambda child: f"host={child.pid}",
    )
    launcher.start()
    try:
        code = supervise([launcher], {"host": "(storage keeps running)"}, port=7071)
    finally:
        assert run.host is not None
        run.host.stop()
    out = capsys.readouterr().out

    assert code == 1
    assert len(starts) == 1 + MAX_RESTARTS  # every death within the window but the last is restarted
    assert [line for line in out.splitlines() if line.startswith(RESTART_LINE)] == [
        f"{RESTART_LINE}: it exited on its own (killed by SIGKILL). (storage keeps running)"
    ] * MAX_RESTARTS
    assert f"{MAX_RESTARTS + 1} times within 60 s" in out
    assert f"{READY_LINE} again" not in out and "did not come up" not in out
