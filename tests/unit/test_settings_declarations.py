"""One declaration per setting (issue 23): every setting the product reads is declared once in
shared/settings/declarations.py, only the settings package reads the environment for it, and what is
derived from the declarations (local.settings.example.json, docs/settings.md) agrees with them.

The reads are found by tests/infra/settings_parity.py's extractor (every `env.get(...)`, `os.environ[...]`,
`os.getenv(...)` and `%BINDING%` with its name resolved)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from shared.settings import DECLARATIONS, DECLARED
from shared.settings.declarations import Reader
from tests.infra.settings_parity import CodeSettings, code_files

ROOT = Path(__file__).resolve().parents[2]

# What is searched for environment reads: the function app, the agent, the simulator.
READ_PATHS = ("function_app.py", "functions", "shared", "agent", "sap_simulator")
SETTINGS_PACKAGE = "shared/settings/"

# Variables the code reads that are not the product's settings (set by the platform or read on behalf of a
# library), each with the one module that may read it.
NOT_SETTINGS: dict[str, tuple[str, str]] = {
    "WEBSITE_SITE_NAME": ("shared/hosting.py", "set by App Service in every hosted app: tells Azure from a laptop"),
    "WEBSITE_INSTANCE_ID": ("shared/hosting.py", "set by App Service in every hosted app: tells Azure from a laptop"),
    "REQUESTS_CA_BUNDLE": ("shared/http_sessions.py", "requests' own: looked at to know whether sessions need it"),
    "CURL_CA_BUNDLE": ("shared/http_sessions.py", "requests' own: looked at to know whether sessions need it"),
    "NETRC": ("shared/http_sessions.py", "requests' own: looked at to know whether sessions need it"),
    "OTEL_SERVICE_NAME": ("shared/telemetry/exporter.py", "OpenTelemetry's own resource variable"),
}

# Modules other than the settings package that read a declared setting, each with the reason.
OTHER_READERS: dict[str, str] = {
    "sap_simulator/__init__.py": "the simulator reads its own SAP_SIMULATOR_* (declared, local only, reader "
    "SAP simulator); it may import no product settings (pyproject.toml)",
    "functions/retry.py": "the queue trigger's binding %RETRY_QUEUE_NAME%: the Functions host reads it",
}

# Modules other than those above that touch os.environ itself (not a setting read), with the reason.
ENVIRONMENT_HOLDERS: dict[str, str] = {}


@pytest.fixture(scope="module")
def code() -> CodeSettings:
    return CodeSettings(code_files(paths=READ_PATHS))


def _file(where: str) -> str:
    return where.rsplit(":", 1)[0]


def test_every_environment_read_names_a_setting_the_extractor_resolves(code):
    assert not code.unresolved, [f"{u.where}: {u.expression}" for u in code.unresolved]


def test_every_variable_the_code_reads_is_declared_or_named_as_no_product_setting(code):
    undeclared = sorted(set(code.names) - set(DECLARED) - set(NOT_SETTINGS))
    assert undeclared == [], f"declare these in shared/settings/declarations.py: {undeclared}"


def test_every_declared_setting_is_read_by_the_code(code):
    unread = sorted(set(DECLARED) - set(code.names))
    assert unread == [], f"declared but read nowhere: {unread}"


def test_only_the_settings_package_reads_a_product_setting(code):
    outside = sorted(
        {
            f"{name} at {where}"
            for name, wheres in code.names.items()
            if name in DECLARED
            for where in wheres
            if not where.startswith(SETTINGS_PACKAGE) and _file(where) not in OTHER_READERS
        }
    )
    assert outside == [], "read these through shared.settings (or name the module in OTHER_READERS with the reason)"


def test_the_simulator_reads_only_its_own_declared_settings(code):
    simulator = {
        name
        for name, wheres in code.names.items()
        if any(_file(where).startswith("sap_simulator/") for where in wheres)
    }
    assert simulator and all(
        DECLARED[name].reader is Reader.SIMULATOR and DECLARED[name].local_only for name in simulator
    ), sorted(simulator)


def test_a_variable_that_is_no_setting_is_read_only_by_its_named_module(code):
    misplaced = sorted(
        f"{name} at {where}"
        for name, (module, _) in NOT_SETTINGS.items()
        for where in code.names.get(name, [])
        if _file(where) != module
    )
    assert misplaced == []


def _touches_os_environ(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "environb", "getenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ("environ", "environb", "getenv") for alias in node.names)
        ):
            return True
    return False


def test_no_module_outside_the_settings_package_touches_os_environ_unless_named():
    allowed = {module for module, _ in NOT_SETTINGS.values()} | set(OTHER_READERS) | set(ENVIRONMENT_HOLDERS)
    touching = sorted(
        path.relative_to(ROOT).as_posix() for path in code_files(paths=READ_PATHS) if _touches_os_environ(path)
    )
    unexpected = [module for module in touching if not module.startswith(SETTINGS_PACKAGE) and module not in allowed]
    assert unexpected == [], "read the environment through shared.settings: " + ", ".join(unexpected)


def test_the_environment_check_sees_an_os_environ_read(tmp_path):
    module = tmp_path / "reader.py"
    module.write_text("import os\nTIMEOUT = os.environ.get('SAP_TIMEOUT_SECONDS')\n")
    assert _touches_os_environ(module)
    module.write_text("from os import getenv\nTIMEOUT = getenv('SAP_TIMEOUT_SECONDS')\n")
    assert _touches_os_environ(module)


def test_the_declarations_are_consistent():
    assert len(DECLARED) == len(DECLARATIONS), "a setting declared twice"
    for setting in DECLARATIONS:
        assert setting.description, setting.name
        if setting.local_example and setting.default is not None:
            assert setting.local_example == setting.default, f"{setting.name}: the example is not the default"


def test_local_settings_example_holds_exactly_the_declared_local_values():
    values = json.loads((ROOT / "local.settings.example.json").read_text(encoding="utf-8"))["Values"]
    host_only = {"FUNCTIONS_WORKER_RUNTIME": "python"}  # the Functions host's, not the product's
    declared = {setting.name: setting.local_example for setting in DECLARATIONS if setting.local_example is not None}
    assert values == {**declared, **host_only}


def _settings_table() -> list[tuple[list[str], str]]:
    """docs/settings.md's table: (the setting names of a row, its default cell)."""
    rows = []
    for line in (ROOT / "docs" / "settings.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows.append((re.findall(r"`([A-Za-z][A-Za-z0-9_]*(?:__\*)?)`", cells[0]), cells[1]))
    return rows


def test_the_settings_page_names_every_declared_setting_of_the_function_app_and_only_those():
    table = _settings_table()
    named = {name for names, _ in table for name in names}
    app = {setting.name for setting in DECLARATIONS if setting.reader is Reader.APP}
    missing = sorted(
        name
        for name in app
        if name not in named and not (name.startswith("AzureWebJobsStorage__") and "AzureWebJobsStorage__*" in named)
    )
    unknown = sorted(
        name for name in named if name not in DECLARED and name not in NOT_SETTINGS and name != "AzureWebJobsStorage__*"
    )
    assert missing == [] and unknown == [], f"docs/settings.md: missing {missing}, not declared {unknown}"


def test_the_settings_page_gives_each_declared_default():
    wrong = [
        f"{name}: declared default {DECLARED[name].default!r}, the page says {cell!r}"
        for names, cell in _settings_table()
        for name in names
        if name in DECLARED and DECLARED[name].default is not None and f"`{DECLARED[name].default}`" not in cell
    ]
    assert wrong == []
