"""`python -m agent` as its own process: it listens on the relay double with its settings, serves a
create from its own SAP (the simulator), stops on SIGTERM, and a missing setting is one line, exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.relay_double import RelayDoubleThread
from shared.core.mapping import map_customer_request
from shared.core.validation import parse_customer_request
from shared.sap import SapConfigurationError
from shared.sap.relay import RelaySapGateway
from shared.settings import load_settings
from tests.support.samples import sample
from tests.support.sap import simulated_gateway

ROOT = Path(__file__).resolve().parents[2]
KEY_NAME, KEY, URL = "listen-and-send", "agent-process-key", "https://agent-process.relay/sap"
PROOF_KEY = "agent-process-proof-key-" + "q" * 16


def test_the_agent_process_serves_creates_and_stops_on_sigterm():
    with RelayDoubleThread({KEY_NAME: KEY}, namespace="agent-process.relay") as double:
        env = {
            **os.environ,
            "AGENT_RELAY_URL": URL,
            "AGENT_RELAY_KEY_NAME": KEY_NAME,
            "AGENT_RELAY_KEY": KEY,
            "AGENT_PROOF_KEY": PROOF_KEY,
            "AGENT_RELAY_BASE_URL": f"ws://{double.host}:{double.port}",
            "SAP_TRANSPORT": "simulator",
        }
        for name in ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID", "SAP_SIMULATOR_FAULTS"):
            env.pop(name, None)
        agent = subprocess.Popen(
            [sys.executable, "-m", "agent"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 15
            while double.listener_count() < 1 and time.monotonic() < deadline and agent.poll() is None:
                time.sleep(0.05)
            assert double.listener_count() == 1, agent.stdout.read() if agent.poll() is not None else "no listener"
            unproven = RelaySapGateway(URL, KEY_NAME, KEY, base_url=double.base_url, read_timeout_seconds=10)
            with pytest.raises(SapConfigurationError, match="401"):
                unproven.ping()
            gateway = RelaySapGateway(
                URL, KEY_NAME, KEY, proof_key=PROOF_KEY, base_url=double.base_url, read_timeout_seconds=10
            )
            gateway.ping()
            request = parse_customer_request(sample("german-account"))
            creation = map_customer_request(
                request,
                load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization,
                simulated_gateway().check_interface().company_data_lengths,
            )
            created = gateway.create_customer(creation)
            assert len(created.customer_number) == 10 and created.customer_number.isdigit()
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(timeout=10) == 0
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()


def test_the_agent_in_front_of_sap_does_not_start_without_a_proof_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update(
        {"AGENT_RELAY_URL": URL, "AGENT_RELAY_KEY_NAME": KEY_NAME, "AGENT_RELAY_KEY": KEY, "SAP_TRANSPORT": "rfc"}
    )
    result = subprocess.run(
        [sys.executable, "-m", "agent"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "AGENT_PROOF_KEY" in result.stderr


def test_a_missing_agent_setting_is_named_with_exit_2():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    result = subprocess.run(
        [sys.executable, "-m", "agent"],
        cwd=ROOT,
        env={**env, "SAP_TRANSPORT": "simulator"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "AGENT_RELAY_URL" in result.stderr
