"""The S/4 double's state on disk: what it answered survives a restart and a SIGKILL of its process,
numbers are never handed out twice, and its settings come from S4_SIMULATOR_* (refused clearly when
malformed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from s4_simulator import S4Simulator, S4SimulatorSettingsError, simulator_options_from_environment
from s4_simulator.__main__ import READY_LINE
from s4_simulator.store import S4Database, S4StateError
from tests.integration.s4_simulator_support import S4Client, partner_body

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = ("S4_TEST_USER", "Test-Password-1")


def test_partners_and_number_ranges_survive_a_restart_on_the_same_state_file(tmp_path):
    state = tmp_path / "s4.sqlite"
    with S4Simulator(state_file=state, credentials=CREDENTIALS) as first:
        created = S4Client(first).post("/A_BusinessPartner", partner_body()).json()["d"]
    with S4Simulator(state_file=state, credentials=CREDENTIALS) as second:
        client = S4Client(second)
        found = client.partners_with_external_id("001AB00000ABCDEFGH")
        assert [(row["BusinessPartner"], row["Customer"]) for row in found] == [
            (created["BusinessPartner"], created["Customer"])
        ]
        later = client.post("/A_BusinessPartner", partner_body("001AB00000ABCDEFG2")).json()["d"]
    assert int(later["BusinessPartner"]) == int(created["BusinessPartner"]) + 1
    assert int(later["Customer"]) == int(created["Customer"]) + 1


def test_a_file_that_is_not_the_doubles_state_is_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    other.write_bytes(b"not a database at all, just text" * 100)
    with pytest.raises(S4StateError, match="not usable as the S/4 double's state"):
        S4Database(other)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_double(state: Path, port: int) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "S4_SIMULATOR_STATE_FILE": str(state),
        "S4_SIMULATOR_USER": CREDENTIALS[0],
        "S4_SIMULATOR_PASSWORD": CREDENTIALS[1],
        "S4_SIMULATOR_FAULTS": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "s4_simulator", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith(READY_LINE), first
    return process


class _Remote:
    """Where a double in another process serves, for S4Client."""

    def __init__(self, port: int) -> None:
        self.service_url = f"http://127.0.0.1:{port}/sap/opu/odata/sap/API_BUSINESS_PARTNER"
        self.credentials = CREDENTIALS


def test_a_partner_whose_create_was_answered_survives_sigkill_of_the_double(tmp_path):
    state, port = tmp_path / "s4.sqlite", _free_port()
    process = _start_double(state, port)
    try:
        created = S4Client(_Remote(port)).post("/A_BusinessPartner", partner_body())
        assert created.status_code == 201
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    restarted = _start_double(state, port)
    try:
        client = S4Client(_Remote(port))
        found = client.partners_with_external_id("001AB00000ABCDEFGH")
        assert [row["BusinessPartner"] for row in found] == [created.json()["d"]["BusinessPartner"]]
        customer = created.json()["d"]["Customer"]
        assert client.get(f"/A_Customer('{customer}')").status_code == 200
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)


def test_the_settings_come_from_s4_simulator_variables(tmp_path):
    options = simulator_options_from_environment(
        {
            "S4_SIMULATOR_USER": "COMM",
            "S4_SIMULATOR_PASSWORD": "secret",
            "S4_SIMULATOR_STATE_FILE": str(tmp_path / "s"),
            "S4_SIMULATOR_FAULTS": "latency_ms=5",
            "S4_SIMULATOR_NUMBERING": "same",
        }
    )
    assert options["credentials"] == ("COMM", "secret")
    assert options["state_file"] == (tmp_path / "s").resolve()
    assert options["faults"].latency_ms == 5 and options["numbering"].same_numbers


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"S4_SIMULATOR_NUMBERING": "shared"}, "S4_SIMULATOR_NUMBERING: one of separate, same"),
        ({"S4_SIMULATOR_USER": "COMM"}, "S4_SIMULATOR_PASSWORD: needed"),
        ({"S4_SIMULATOR_FAULTS": "explode"}, "S4_SIMULATOR_FAULTS: unknown fault"),
    ],
)
def test_a_malformed_setting_is_refused_naming_it(environment, message):
    with pytest.raises(S4SimulatorSettingsError, match=message):
        simulator_options_from_environment(environment)


def test_no_product_module_reads_an_s4_simulator_setting():
    """The double's settings are its own (like SAP_SIMULATOR_*): only s4_simulator/__init__.py names them."""
    readers = {
        str(path.relative_to(ROOT))
        for folder in ("shared", "functions", "agent", "admin", "s4_simulator")
        for path in (ROOT / folder).rglob("*.py")
        if "S4_SIMULATOR_" in path.read_text(encoding="utf-8")
    } | ({"function_app.py"} if "S4_SIMULATOR_" in (ROOT / "function_app.py").read_text(encoding="utf-8") else set())
    assert readers == {"s4_simulator/__init__.py", "s4_simulator/faults.py"}
