"""The one composition root (shared/bootstrap/): `bootstrap(entry, config, ...)` wires the function app,
the operations command and the agent; its keywords swap parts; the agent's wiring loads no adapter it
does not use (the import-linter contract on the agent leaves the root's lazy imports to this test)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared import bootstrap
from shared.bootstrap import EntryPoint
from shared.core.claims import DEFAULT_STALE_CLAIM_AFTER
from shared.core.models import CustomerCreation
from shared.sap import SapConfigurationError
from shared.settings import SettingsError, load_settings
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue, RecordingWriteBack

ROOT = Path(__file__).resolve().parents[2]
STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
AGENT = {"AGENT_RELAY_URL": "https://ns.example/sap", "AGENT_RELAY_KEY_NAME": "listen", "AGENT_RELAY_KEY": "key"}
# What the agent must never load: the function app's adapters, its use cases, or any Azure SDK.
NOT_THE_AGENTS = ("shared.storage", "shared.salesforce", "shared.usecases", "shared.instrumented", "azure")


def test_each_keyword_swaps_its_part_and_the_rest_comes_from_the_settings():
    config = load_settings({"SAP_TRANSPORT": "simulator", **STORAGE, "SAP_TIMEOUT_SECONDS": "7"})
    ledger, queue, writeback = InMemoryLedger(), InMemoryRetryQueue(), RecordingWriteBack()
    fixed = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    services = bootstrap.bootstrap(
        EntryPoint.FUNCTION_APP,
        config,
        ledger=ledger,
        retry_queue=queue,
        writeback=writeback,
        instrument=False,
        clock=lambda: fixed,
    )
    assert services.ledger is ledger and services.retry_queue is queue and services.writeback is writeback
    assert services.clock() == fixed
    assert services.stale_claim_after == bootstrap.stale_claim_window(7.0)
    assert services.organization == config.sap_organization and services.retry == config.retry
    assert type(services.sap).__name__ == "RfcSapGateway"  # SAP_TRANSPORT=simulator: the rfc adapter on it


def test_the_claim_window_is_the_rfc_units_bound_plus_the_margin_and_the_rootless_default_is_longer():
    default_timeout = load_settings({"SAP_TRANSPORT": "simulator", **STORAGE}).sap_timeout_seconds
    assert default_timeout == 30.0
    # five timeouts (four steps and the logon pyrfc cannot cancel: RfcSapGateway.longest_unit_seconds) + 5 s
    assert bootstrap.stale_claim_window(default_timeout) == timedelta(seconds=155)
    assert bootstrap.stale_claim_window(0.5) == timedelta(seconds=10)  # the floor
    assert bootstrap.stale_claim_window(default_timeout) < DEFAULT_STALE_CLAIM_AFTER


def test_without_overrides_the_function_app_gets_the_storage_adapters_and_no_write_back_unless_asked():
    services = bootstrap.bootstrap(config=load_settings({"SAP_TRANSPORT": "simulator", **STORAGE}))
    assert (type(services.ledger).__name__, type(services.retry_queue).__name__) == ("TableLedger", "StorageRetryQueue")
    assert services.writeback is None  # WRITEBACK_MODE defaults to the flow


def test_the_operations_command_never_talks_to_sap():
    services = bootstrap.bootstrap(EntryPoint.OPERATIONS, load_settings({**STORAGE}, sap_required=False))
    with pytest.raises(SapConfigurationError, match="does not connect to SAP"):
        services.sap.ping()
    with pytest.raises(SapConfigurationError, match="does not connect to SAP"):
        services.sap.create_customer(CustomerCreation(account_id="001000000000001AAA", parameters={}))


def test_the_agent_gets_its_own_sap_gateway_pooled_as_asked_and_never_the_relay():
    gateway = bootstrap.bootstrap(EntryPoint.AGENT, load_settings({"SAP_TRANSPORT": "simulator"}), sap_pool_size=5)
    assert gateway.pool is not None and gateway.pool.size == 5
    relay = load_settings({"SAP_TRANSPORT": "relay", "SAP_RELAY_URL": "https://ns.example/sap"})
    with pytest.raises(SettingsError, match="the agent talks to SAP itself"):
        bootstrap.bootstrap(EntryPoint.AGENT, relay)


def test_the_agents_wiring_loads_no_storage_salesforce_use_case_or_azure_module():
    # In a fresh interpreter: the agent's listener built through the composition root, as python -m agent does.
    code = (
        "import json, sys; from agent.__main__ import build_listener; build_listener(); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {"PATH": "/usr/bin:/bin", "SAP_TRANSPORT": "simulator", **AGENT}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert "shared.bootstrap" in modules and "shared.sap.rfc" in modules  # the walk saw the root and the gateway
    loaded = [
        name for name in modules if any(name == prefix or name.startswith(prefix + ".") for prefix in NOT_THE_AGENTS)
    ]
    assert loaded == []
