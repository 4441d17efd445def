"""The simulated SAP's state file across processes: two processes creating customers on one file at the
same time, one of them killed with SIGKILL; afterwards the file holds every customer whose COMMIT
answered, each number once, and what one process committed the other one found."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sap_simulator.store import created_customers_in

ROOT = Path(__file__).resolve().parents[2]
# A process of its own: creates customers "<tag> <n> GmbH" one after another on the state file and prints
# "<number> <n>" once BAPI_TRANSACTION_COMMIT has answered; then checks with BAPI_CUSTOMER_FIND that it
# sees the other process's customers ("seen <count>").
_CREATOR = """
import sys
from sap_simulator import Connection
from sap_simulator.store import SimulatedSapOnFile

state_file, tag, other = sys.argv[1], sys.argv[2], sys.argv[3]
system = SimulatedSapOnFile(state_file)
reference = {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"}
for index in range(10_000):
    with Connection(system=system, user="rfc_user") as connection:
        data = {"NAME": f"{tag} {index} GmbH", "CITY": "Berlin", "POSTL_COD1": "10115", "STREET": "Weg 1",
                "COUNTRY": "DE", "REGION": "11", "LANGU": "D"}
        number = connection.call("BAPI_CUSTOMER_CREATEFROMDATA1", PI_COMPANYDATA=data,
                                 PI_COPYREFERENCE=reference)["CUSTOMERNO"]
        assert connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")["RETURN"]["TYPE"] == ""
        found = connection.call("BAPI_CUSTOMER_FIND", MAX_CNT=0, PL_HOLD="X", SELOPT_TAB=[
            {"TABNAME": "KNA1", "FIELDNAME": "NAME1", "FIELDVALUE": f"{other} *"}])["RESULT_TAB"]
    print(number, index, "seen", sum(1 for row in found if row["CUSTOMER"]), flush=True)
"""


def _start(state_file: Path, tag: str, other: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CREATOR, str(state_file), tag, other],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _read(process: subprocess.Popen[str], count: int, timeout: float = 30) -> list[list[str]]:
    assert process.stdout is not None
    lines: list[list[str]] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the creator ended: {process.stderr.read() if process.stderr else ''}")
        lines.append(line.split())
    return lines


def test_two_processes_share_one_state_and_a_sigkill_loses_nothing_that_was_committed(tmp_path):
    state_file = tmp_path / "sap.sqlite3"
    killed, survivor = _start(state_file, "Eins", "Zwei"), _start(state_file, "Zwei", "Eins")
    try:
        answered = {"Eins": _read(killed, 15), "Zwei": _read(survivor, 15)}
        os.kill(killed.pid, signal.SIGKILL)  # mid-loop: possibly inside a create or a commit
        killed.wait(timeout=10)
        committed_by_the_killed = sum(1 for c in created_customers_in(state_file) if c.address["NAME"][:5] == "Eins ")
        # The survivor goes on; its FIND comes to see every customer the killed process committed (its
        # lines may have waited in the pipe, so read on until one was printed after the kill).
        while int(answered["Zwei"][-1][3]) < committed_by_the_killed and len(answered["Zwei"]) < 2000:
            answered["Zwei"] += _read(survivor, 1)
    finally:
        for process in (killed, survivor):
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)

    assert int(answered["Zwei"][-1][3]) == committed_by_the_killed >= len(answered["Eins"])
    customers = {record.number: record for record in created_customers_in(state_file)}
    for tag, lines in answered.items():
        for number, index, *_ in lines:
            assert customers[number].address["NAME"] == f"{tag} {index} GmbH", "committed, so it is in the file"
    names = [record.address["NAME"] for record in customers.values()]
    assert len(names) == len(set(names)), "each create committed once, under a number of its own"
