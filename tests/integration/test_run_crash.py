"""scripts/run when the functions host dies: storage stays up, the host comes back, accepted work is finished.

"Created exactly once" is judged with what survives a host: the ledger (Azurite on disk) and the SAP
simulator's database (.local/sap-simulator.sqlite3, written before a commit answers), never a resend.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest
import requests
from azure.storage.queue import QueueClient

from devtools.fake_salesforce import salesforce_id18
from devtools.run import MAX_RESTARTS, READY_LINE, RESTART_LINE, SAP_SIMULATOR_STATE_FILE
from sap_simulator.store import created_customers_in
from tests.support.network import free_port
from tests.support.run_command import STOP_DEADLINE_SECONDS, RunningCommand, process_exists
from tests.support.samples import sample

pytestmark = pytest.mark.e2e
# Retries come back after exactly this (attempt 1: the base; later ones: capped at the same maximum), long
# enough for the kill to come before the first retry is dequeued.
RETRY_DELAY_SECONDS = 6
FINISH_DEADLINE_SECONDS = 40.0


def _accounts(count: int) -> list[dict]:
    return [
        dict(
            sample("german-account"),
            accountId=salesforce_id18(f"001Dn{990:03d}{index:07d}"),
            name=f"Absturz {index} GmbH",
        )
        for index in range(count)
    ]


def _journal(data_dir: Path) -> list[dict]:
    """The customers the runs created, read from the SAP simulator's state file after the fact."""
    path = data_dir / SAP_SIMULATOR_STATE_FILE
    if not path.exists():
        return []
    return [dataclasses.asdict(record) for record in created_customers_in(path)]


def _customers_named(journal: list[dict], name: str) -> list[dict]:
    """The SAP customers with this name (each test account has a name of its own)."""
    return [record for record in journal if record["address"].get("NAME") == name]


def _status(base_url: str, account_id: str) -> dict:
    response = requests.get(f"{base_url}/api/customers/{account_id}", timeout=10)
    return response.json() if response.status_code == 200 else {}


def test_a_killed_host_comes_back_and_finishes_every_accepted_request_once_without_a_resend(
    run_environment, data_dir, started_runs
):
    run_environment.update(
        {
            # The first two SAP calls of each host process fail: the first creates are answered 202, the rest 201,
            # and the restarted host's first retries fail once more before they succeed.
            "SAP_SIMULATOR_FAULTS": "fail_next_calls=2",
            "RETRY_BASE_DELAY_SECONDS": str(RETRY_DELAY_SECONDS),
            "RETRY_MAX_DELAY_SECONDS": str(RETRY_DELAY_SECONDS),
        }
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    run = RunningCommand.start("--port", str(port), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    first = run.started_pids()
    assert run.wait_for_line(READY_LINE) is not None, run.output()

    accepted: dict[str, int] = {}
    names = {}
    for payload in _accounts(5):
        answer = requests.post(f"{base_url}/api/customers", json=payload, timeout=30)
        assert answer.status_code in (201, 202), answer.text
        accepted[payload["accountId"]] = answer.status_code
        names[payload["accountId"]] = payload["name"]
    queued = [account for account, status in accepted.items() if status == 202]
    assert queued and len(queued) < len(accepted), accepted

    os.kill(first["host"], signal.SIGKILL)  # a crash: nothing of the host gets to clean up
    # Storage did not go down with the host: the retry messages are in Azurite's queue.
    queue = QueueClient.from_connection_string(
        run_environment["AzureWebJobsStorage"], run_environment["RETRY_QUEUE_NAME"]
    )
    assert queue.get_queue_properties().approximate_message_count >= len(queued)
    assert first["azurite"] is not None and process_exists(first["azurite"])

    second = run.started_pids(nth=2)
    assert second["host"] != first["host"] and second["azurite"] == first["azurite"]
    assert run.wait_for_line(f"{READY_LINE} again") is not None, run.output()
    assert any(line.startswith(RESTART_LINE) and "killed by SIGKILL" in line for line in run.lines)

    # Nobody sends anything again: the restarted host's queue trigger finishes the queued accounts.
    deadline = time.monotonic() + FINISH_DEADLINE_SECONDS
    statuses: dict[str, dict] = {}
    while time.monotonic() < deadline:
        statuses = {account: _status(base_url, account) for account in accepted}
        if all(status.get("status") == "created" for status in statuses.values()):
            break
        time.sleep(0.5)
    assert all(status.get("status") == "created" for status in statuses.values()), statuses

    journal = _journal(data_dir)
    for account, status in statuses.items():
        [customer] = _customers_named(journal, names[account])  # exactly one SAP customer for the account
        assert customer["number"] == status["customerNumber"]
    assert len(journal) == len(accepted), "no other customer was created, before or after the crash"
    assert len({record["number"] for record in journal}) == len(journal), "no number handed out twice"
    assert process_exists(first["azurite"])


def test_a_host_that_keeps_dying_ends_the_run_with_exit_1_and_stops_storage(run_environment, data_dir, started_runs):
    run = RunningCommand.start("--port", str(free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    azurite_pid = run.started_pids()["azurite"]
    for start in range(1, MAX_RESTARTS + 2):  # the first start and MAX_RESTARTS restarts, each killed when ready
        pids = run.started_pids(nth=start)
        assert len(run.wait_for_lines(READY_LINE, start)) == start, run.output()
        assert pids["azurite"] == azurite_pid
        os.kill(pids["host"], signal.SIGKILL)

    assert run.process.wait(timeout=STOP_DEADLINE_SECONDS) == 1, run.output()
    assert f"{MAX_RESTARTS + 1} times within" in run.output()
    assert azurite_pid is not None and not process_exists(azurite_pid)


def test_storage_survives_a_stop_and_start_of_the_run_and_fresh_empties_it(run_environment, data_dir, started_runs):
    [payload] = _accounts(1)

    def start(*extra: str) -> tuple[RunningCommand, str]:
        port = free_port()
        run = RunningCommand.start(
            "--port", str(port), "--data-dir", str(data_dir), *extra, environment=run_environment
        )
        started_runs.append(run)
        assert run.wait_for_line(READY_LINE) is not None, run.output()
        return run, f"http://127.0.0.1:{port}"

    def stop(run: RunningCommand) -> None:
        os.kill(run.process.pid, signal.SIGINT)
        assert run.process.wait(timeout=STOP_DEADLINE_SECONDS) == 0, run.output()

    run, base_url = start()
    created = requests.post(f"{base_url}/api/customers", json=payload, timeout=30)
    assert created.status_code == 201, created.text
    stop(run)

    run, base_url = start()
    assert _status(base_url, payload["accountId"])["customerNumber"] == created.json()["customerNumber"]
    again = requests.post(f"{base_url}/api/customers", json=payload, timeout=30)
    assert again.status_code == 200 and again.json()["customerNumber"] == created.json()["customerNumber"]
    stop(run)

    run, base_url = start("--fresh")
    assert "--fresh: emptied" in run.output()
    assert requests.get(f"{base_url}/api/customers/{payload['accountId']}", timeout=10).status_code == 404
    assert _journal(data_dir) == []
    stop(run)
