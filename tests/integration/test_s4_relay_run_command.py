"""`scripts/run --sap s4 --topology relay`: S/4HANA on premise behind the relay, on one machine. The functions
(SAP_TRANSPORT=relay) reach the on-premise agent through the relay double; the agent runs SAP_TRANSPORT=odata
against the run's S/4 double (the Business Partner gateway shared/bootstrap/sap.py builds for it). The README's
create answers the number CVI drew in the double, the replay the same one; the communication user's logon is
in the agent's environment only, never the functions'."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.run import PIDS_LINE_PREFIX, READY_LINE
from devtools.run.s4 import S4_STATE_FILE
from tests.support.network import free_port
from tests.support.run_command import RunningCommand
from tests.support.s4_run import created_then_replayed, partners_of_the_sample_account


def _environment_of(pid: int) -> dict[str, str]:
    """A child's environment as the kernel holds it (Linux /proc)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


@pytest.mark.e2e
def test_run_with_sap_s4_behind_the_relay_creates_through_the_agent_in_the_s4_double(
    run_environment, data_dir, started_runs
):
    port = free_port()
    run = RunningCommand.start(
        "--sap",
        "s4",
        "--topology",
        "relay",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        environment=run_environment,
    )
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    assert "(SAP relay," in run.output() and "the S/4 double over odata" in run.output()
    pids = {}
    for line in run.wait_for_lines(PIDS_LINE_PREFIX, 2):
        pids.update(dict(re.findall(r"(\w+)=(\d+)", line)))
    agent, host = _environment_of(int(pids["agent"])), _environment_of(int(pids["host"]))
    assert agent["SAP_TRANSPORT"] == "odata" and agent["SAP_ODATA_URL"].startswith("http://127.0.0.1:")
    assert host["SAP_TRANSPORT"] == "relay"
    assert not [name for name in host if name.startswith("SAP_ODATA_")], "the logon stays with the agent"

    number = created_then_replayed(port)
    run.stop()

    # The partner is in the run's double (its state file), carrying the account's Salesforce Id.
    rows = partners_of_the_sample_account(data_dir / S4_STATE_FILE)
    assert len(rows) == 1 and int(rows[0]["Customer"]) == int(number)
