"""The deployment package, as azd and as Core Tools would build it from a developer's checkout.

The checkout is copied to a temporary folder (the repository's files, tracked or new) with the
leftovers a developer's machine really has planted around it: the venvs, the Azurite and checkov
installs, scripts/run's `.local/` (Azurite's data and the SAP simulator's customers), caches and a
local.settings.json. Both tools' file selection is ported in tests/support/deployment_package.py from
their source; the real azd and func binaries are not run here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import deployment_package as package

ROOT = Path(__file__).resolve().parents[2]
FUNCIGNORE = (ROOT / ".funcignore").read_text(encoding="utf-8")

# What the package is: the header of .funcignore and README "Deploy".
APP_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "functions", "shared"}

# A developer's leftovers, each where the tool that makes it puts it.
DEVELOPER_STATE = [
    ".venv/pyvenv.cfg",                                        # scripts/_venv.sh
    ".venv/lib/python3.11/site-packages/azure/functions/__init__.py",
    "sap-customer-sync_env/pyvenv.cfg",                        # `azd restore` (python.VenvNameForDir)
    ".tools/azurite/node_modules/azurite/package.json",        # devtools/azurite.py
    ".tools/checkov-3.3.30/bin/python",                        # devtools/checkov_tool.py
    ".local/sap-simulator.sqlite3",                            # devtools/run.py: the simulator's customers
    ".local/azurite/__azurite_db_table__.json",                # devtools/azurite.py: Azurite's data
    "__azurite_db_table__.json",                               # Azurite started in the checkout itself
    "__blobstorage__/blob",
    "__queuestorage__/queue",
    ".python_packages/lib/site-packages/stale.py",             # a previous Core Tools build
    "local.settings.json",
    ".env",
    "__pycache__/function_app.cpython-311.pyc",
    "shared/__pycache__/settings.cpython-311.pyc",
    "shared/sap/simulator/__pycache__/store.cpython-313.pyc",
    "functions/stray.pyc",
    ".pytest_cache/v/cache/nodeids",
    ".ruff_cache/0.17.6/cache",
    ".hypothesis/examples/example",
    ".benchmarks/Linux-CPython-3.11-64bit/0001_run.json",
    ".import_linter_cache/cache.json",
    ".git/HEAD",
    ".vscode/settings.json",
]

# Never in the package, whichever tool builds it (first path component, or a name at any depth).
NEVER_SHIPPED_TOP_LEVEL = {
    "tests", "bench", "devhost", "devtools", "scripts", "samples", "docs", "infra", "connector",
    "salesforce", "agent", "admin", "flow", ".local", ".venv", ".tools", "sap-customer-sync_env",
    ".python_packages", ".git", ".github", ".ci", ".vscode", "local.settings.json",
    "local.settings.example.json", ".env", "__azurite_db_table__.json", "__blobstorage__",
    "__queuestorage__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".benchmarks",
    ".import_linter_cache", "azure.yaml", "pyproject.toml", "requirements-dev.txt",
}
NEVER_SHIPPED_ANYWHERE = {"__pycache__", ".funcignore", ".gitignore"}


def _checkout_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """The repository's files and a developer's leftovers, in a folder of their own."""
    root = tmp_path_factory.mktemp("checkout")
    for name in _checkout_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    for name in DEVELOPER_STATE:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("developer state\n")
    return root


@pytest.fixture(scope="module")
def required(checkout) -> set[str]:
    modules = package.imported_modules(checkout)
    return modules | package.data_files_of(checkout, modules) | {"host.json", "requirements.txt"}


def missing_from(shipped: set[str], required: set[str]) -> list[str]:
    return sorted(required - shipped)


def unwanted_in(shipped: set[str]) -> list[str]:
    return sorted(
        path for path in shipped
        if path.split("/")[0] in NEVER_SHIPPED_TOP_LEVEL
        or path.split("/")[0] not in APP_TOP_LEVEL
        or NEVER_SHIPPED_ANYWHERE & set(path.split("/"))
        or path.endswith((".pyc", ".md"))
    )


def test_the_import_walk_sees_the_modules_the_app_imports_only_on_first_use(checkout):
    """The walk must follow imports made inside functions, or the package checks below prove little:
    the simulator, the Salesforce adapter and the storage adapters are imported on first use."""
    modules = package.imported_modules(checkout)
    assert {"function_app.py", "functions/customers.py", "shared/bootstrap.py",
            "shared/sap/simulator/store.py", "shared/salesforce/simple_salesforce.py",
            "shared/storage/table_ledger.py", "shared/sap/relay.py"} <= modules
    assert not {m for m in modules if m.split("/")[0] not in {"function_app.py", "functions", "shared"}}


@pytest.mark.parametrize("tool", sorted(package.PACKAGERS))
def test_package_holds_every_module_the_app_imports(tool, checkout, required):
    shipped = package.PACKAGERS[tool](checkout, FUNCIGNORE)
    assert missing_from(shipped, required) == []


@pytest.mark.parametrize("tool", sorted(package.PACKAGERS))
def test_package_ships_no_tests_dev_tools_admin_flow_simulator_state_or_caches(tool, checkout):
    shipped = package.PACKAGERS[tool](checkout, FUNCIGNORE)
    assert unwanted_in(shipped) == []
    assert {path.split("/")[0] for path in shipped} == APP_TOP_LEVEL


def test_azd_and_core_tools_build_the_same_package(checkout):
    assert package.azd_package(checkout, FUNCIGNORE) == package.core_tools_package(checkout, FUNCIGNORE)


def test_pathspec_git_rules_agree_with_the_go_gitignore_port(checkout):
    """A second reading of git's rules (pathspec) selects the same files as the go-gitignore port, for
    the real file and for one with a bare top-level name."""
    bare = FUNCIGNORE.replace("\n/salesforce\n", "\nsalesforce\n")
    for text in (FUNCIGNORE, bare):
        assert package.pathspec_package(checkout, text) == package.azd_package(checkout, text)


def test_a_bare_top_level_name_drops_shared_salesforce_from_the_azd_package_only(checkout, required):
    """The bug this file had: `salesforce` without a slash matches at any depth for azd (git's rule),
    so shared/salesforce/ is left out and every function fails with ModuleNotFoundError; Core Tools
    anchors it at the root and ships it, which is why the package check must run both ways."""
    assert "\n/salesforce\n" in FUNCIGNORE
    bare = FUNCIGNORE.replace("\n/salesforce\n", "\nsalesforce\n")
    missing_for_azd = missing_from(package.azd_package(checkout, bare), required)
    assert missing_for_azd
    assert {path.rsplit("/", 1)[0] for path in missing_for_azd} == {"shared/salesforce"}
    assert missing_from(package.core_tools_package(checkout, bare), required) == []


def test_ignore_syntax_the_ports_do_not_reproduce_is_refused():
    for line in ("shared/\\#odd", "[Tt]ests", "tests ", "**tests"):
        with pytest.raises(package.UnportedPattern):
            package.GoGitIgnore(line)
        with pytest.raises(package.UnportedPattern):
            package.CoreToolsIgnore(line)
