"""Issue 24's first acceptance: `python -m admin preflight`, run as an operator runs it (a process of its own,
the app's settings in its environment), against the local doubles in a correct configuration passes every
check and exits 0.

Two configurations: SAP_TRANSPORT=relay, through the relay double to an on-premise agent process on the SAP
simulator (the production topology: tests/e2e/relay_processes.py), and SAP_TRANSPORT=simulator in the
command's own process. Both with Azurite and the fake Salesforce over HTTPS, the write-back by the app, the
push path on (its outbound message deployed in the fake org, pointing at --app-url) and telemetry configured.
Each check broken alone is tested per area: tests/unit/test_preflight_*.py, tests/integration/test_preflight_*.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.azurite import AzuriteEndpoints
from devtools.fake_salesforce import ORGANIZATION_ID, FakeSalesforce
from shared.core.preflight import Area
from tests.e2e.relay_processes import relay_topology
from tests.support.product import fake_salesforce_writeback

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
APP_URL = "https://contoso-sync.azurewebsites.net"
CONNECTION_STRING = (
    "InstrumentationKey=0b7a8b5e-3c1d-4f2a-9e6b-5d4c3b2a1f00;"
    "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
)
# What the command's environment must not inherit from this machine: the product's own settings.
_PRODUCT_PREFIXES = (
    "SAP_",
    "AGENT_",
    "SALESFORCE_",
    "WEBSITE_",
    "APPLICATIONINSIGHTS_",
    "AzureWebJobs",
    "PYTHON_APPLICATIONINSIGHTS",
    "RETRY_",
    "LEDGER_",
)


@pytest.fixture
def salesforce() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as fake:
        # The push path's outbound message as `sf project deploy` leaves it with SAP_SYNC_PUSH_URL set.
        fake.setup.deploy_outbound_message(endpointUrl=f"{APP_URL}/api/salesforce/outbound-messages?code=fn-key")
        yield fake


def app_settings(salesforce: FakeSalesforce, storage: str, unique_name: str) -> dict[str, str]:
    return {
        "AzureWebJobsStorage": storage,
        "RETRY_QUEUE_NAME": f"retry{unique_name}",
        "LEDGER_TABLE_NAME": f"ledger{unique_name}",
        "SAP_DEFAULT_SALES_AREA": "1000/10/00",
        **fake_salesforce_writeback(salesforce),
        "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION_STRING,
    }


def preflight(settings: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(_PRODUCT_PREFIXES)}
    environment = {**inherited, "NO_PROXY": "127.0.0.1,localhost", **settings}
    return subprocess.run(
        [sys.executable, "-m", "admin", "preflight", "--app-url", APP_URL, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_every_check_passes(done: subprocess.CompletedProcess[str], transport: str) -> dict:
    assert done.returncode == 0, done.stdout + done.stderr
    body = json.loads(done.stdout)
    assert body["passed"] is True and body["failedAreas"] == []
    assert [c for c in body["checks"] if c["verdict"] == "failed"] == []
    passed_areas = {c["area"] for c in body["checks"] if c["verdict"] == "passed"}
    expected = {area.value for area in Area} - ({"relay"} if transport != "relay" else set())
    assert passed_areas == expected, [(c["area"], c["check"], c["verdict"]) for c in body["checks"]]
    return body


@pytest.mark.azurite
def test_through_the_relay_and_the_agent_every_check_passes_and_it_exits_0(
    azurite: AzuriteEndpoints, salesforce: FakeSalesforce, unique_name: str, tmp_path: Path
):
    with relay_topology(azurite.connection_string, unique_name, tmp_path) as topology:
        topology.start_agent()
        relay = {
            name: value
            for name, value in topology.host_settings.items()
            if name.startswith("SAP_") and name != "SAP_TIMEOUT_SECONDS"
        }
        # The agent (on the simulator) says "nothing found" with F2 173; the app keeps a copy of the agent's
        # setting, which the SAP area's FIND probe compares with what SAP answers.
        settings = {
            **app_settings(salesforce, azurite.connection_string, unique_name),
            **relay,
            "SAP_FIND_NO_MATCH_MESSAGE": "F2 173",
        }
        body = assert_every_check_passes(preflight(settings, "--json"), "relay")
    checks = {(c["area"], c["check"]): c for c in body["checks"]}
    assert checks[("settings", "agent_proof")]["verdict"] == "passed"
    assert checks[("settings", "local_doubles")]["verdict"] == "skipped"  # a rehearsal, and it says so


@pytest.mark.azurite
def test_with_the_simulator_in_process_every_check_passes_and_the_text_says_so(
    azurite: AzuriteEndpoints, salesforce: FakeSalesforce, unique_name: str
):
    settings = {**app_settings(salesforce, azurite.connection_string, unique_name), "SAP_TRANSPORT": "simulator"}
    assert_every_check_passes(preflight(settings, "--json"), "simulator")
    text = preflight(settings)
    assert text.returncode == 0
    assert "✗" not in text.stdout and "fix:" not in text.stdout
    summary = text.stdout.rstrip().splitlines()[-1]
    assert " 0 failed, " in summary and summary.endswith("; no check failed (exit code 0).")
