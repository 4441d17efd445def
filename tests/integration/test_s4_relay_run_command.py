"""`scripts/run --sap s4 --topology relay`: S/4HANA on premise behind the relay, on one machine. The functions
(SAP_TRANSPORT=relay) reach the on-premise agent through the relay double; the agent runs SAP_TRANSPORT=odata
against the run's S/4 double (the Business Partner gateway shared/bootstrap/sap.py builds for it). The README's
create answers the number CVI drew in the double, the replay the same one; the communication user's logon is
in the agent's environment only, never the functions'."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from devtools.run import PIDS_LINE_PREFIX, READY_LINE
from devtools.run.s4 import S4_STATE_FILE
from s4_simulator import S4Simulator
from tests.support.network import free_port
from tests.support.run_command import RunningCommand
from tests.support.samples import sample


def _create(port: int) -> requests.Response:
    return requests.post(f"http://127.0.0.1:{port}/api/customers", json=sample("german-account"), timeout=60)


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

    created = _create(port)
    assert created.status_code == 201, created.text
    number = created.json()["customerNumber"]
    replayed = _create(port)
    assert replayed.status_code == 200 and replayed.json()["customerNumber"] == number
    run.stop()

    # The partner is in the run's double (its state file), carrying the account's Salesforce Id.
    account_id = sample("german-account")["accountId"].upper()
    with S4Simulator(state_file=data_dir / S4_STATE_FILE) as double:
        session = requests.Session()
        session.auth = double.credentials
        found = session.get(
            f"{double.service_url}/A_BusinessPartner",
            headers={"Accept": "application/json"},
            params={"$filter": f"BusinessPartnerIDByExtSystem eq '{account_id}'"},
            timeout=10,
        )
    rows = found.json()["d"]["results"]
    assert len(rows) == 1 and int(rows[0]["Customer"]) == int(number)
