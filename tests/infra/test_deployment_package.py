"""The deployment package, as azd and as Core Tools would build it from a developer's checkout, then
loaded and invoked by Microsoft's Python worker.

The checkout is copied to a temporary folder (the repository's files, tracked or new) with the
leftovers a developer's machine really has planted around it: the venvs, the Azurite and checkov
installs, scripts/run's `.local/` (Azurite's data and the SAP simulator's customers), caches and a
local.settings.json. Both tools' file selection is ported in tests/support/deployment_package.py from
their source; the real azd and func binaries are not run here.

The package azd builds is then handed to `azure-functions-runtime` (the worker library the Functions
host runs for Python 3.13, in its own venv: devtools/worker_runtime.py) through
tests/support/worker_driver.py: the worker indexes function_app.py, reports every function with its
bindings, and invokes /api/health and a malformed create the way the host would ask it to. Not run:
the .NET host (routing, function keys) and the gRPC channel. These tests skip only where no
Python 3.13 is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.worker_runtime import PythonMissing, ensure_worker_runtime
from tests.support import deployment_package as package

ROOT = Path(__file__).resolve().parents[2]
FUNCIGNORE = (ROOT / ".funcignore").read_text(encoding="utf-8")

# What the package is: the header of .funcignore and README "Deploy".
APP_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "functions", "shared"}

# A developer's leftovers, each where the tool that makes it puts it.
DEVELOPER_STATE = [
    ".venv/pyvenv.cfg",  # scripts/_venv.sh
    ".venv/lib/python3.11/site-packages/azure/functions/__init__.py",
    "sap-customer-sync_env/pyvenv.cfg",  # `azd restore` (python.VenvNameForDir)
    ".tools/azurite/node_modules/azurite/package.json",  # devtools/azurite.py
    ".tools/checkov-3.3.30/bin/python",  # devtools/checkov_tool.py
    ".local/sap-simulator.sqlite3",  # devtools/run/: the simulator's customers
    ".local/azurite/__azurite_db_table__.json",  # devtools/azurite.py: Azurite's data
    "__azurite_db_table__.json",  # Azurite started in the checkout itself
    "__blobstorage__/blob",
    "__queuestorage__/queue",
    ".python_packages/lib/site-packages/stale.py",  # a previous Core Tools build
    "local.settings.json",
    ".env",
    "__pycache__/function_app.cpython-311.pyc",
    "shared/__pycache__/settings.cpython-311.pyc",
    "shared/sap/__pycache__/relay.cpython-313.pyc",
    "sap_simulator/__pycache__/store.cpython-313.pyc",
    "functions/stray.pyc",
    ".pytest_cache/v/cache/nodeids",
    ".ruff_cache/0.17.6/cache",
    ".hypothesis/examples/example",
    ".benchmarks/Linux-CPython-3.11-64bit/0001_run.json",
    ".import_linter_cache/cache.json",
    ".git/HEAD",
    ".vscode/settings.json",
    ".azure/sapsync-prod/.env",  # `azd env set` (docs/deploy.md)
]

# Never in the package, whichever tool builds it (first path component, or a name at any depth).
NEVER_SHIPPED_TOP_LEVEL = {
    "tests",
    "bench",
    "devhost",
    "devtools",
    "scripts",
    "samples",
    "docs",
    "infra",
    "connector",
    "salesforce",
    "agent",
    "admin",
    "flow",
    ".local",
    ".venv",
    ".tools",
    "sap-customer-sync_env",
    ".python_packages",
    ".git",
    ".github",
    ".ci",
    ".vscode",
    "local.settings.json",
    "local.settings.example.json",
    ".env",
    "__azurite_db_table__.json",
    "__blobstorage__",
    "__queuestorage__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".benchmarks",
    ".import_linter_cache",
    "azure.yaml",
    "pyproject.toml",
    "requirements-dev.txt",
    ".azure",
    "sap_simulator",
    "s4_simulator",
    "doubles",
}
NEVER_SHIPPED_ANYWHERE = {"__pycache__", ".funcignore", ".gitignore"}


def _checkout_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
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
        path
        for path in shipped
        if path.split("/")[0] in NEVER_SHIPPED_TOP_LEVEL
        or path.split("/")[0] not in APP_TOP_LEVEL
        or NEVER_SHIPPED_ANYWHERE & set(path.split("/"))
        or path.endswith((".pyc", ".md"))
    )


def test_the_import_walk_sees_the_modules_the_app_imports_only_on_first_use(checkout):
    """The walk must follow imports made inside functions, or the package checks below prove little:
    the SAP adapters, the Salesforce adapter and the storage adapters are imported on first use."""
    modules = package.imported_modules(checkout)
    assert {
        "function_app.py",
        "functions/customers.py",
        "shared/bootstrap/__init__.py",
        "shared/sap/rfc.py",
        "shared/salesforce/simple_salesforce.py",
        "shared/storage/table_ledger.py",
        "shared/sap/relay.py",
    } <= modules
    assert not {m for m in modules if m.split("/")[0] not in {"function_app.py", "functions", "shared"}}


def test_the_simulator_is_left_out_on_purpose_loaded_by_name_only_where_it_is_allowed(checkout):
    """The SAP simulator is not an import of the app: the composition root loads it by module name
    (shared/sap/simulator_driver.py, as rfc.py loads pyrfc), so the walk above cannot see it. It is left
    out on purpose, not by accident: the one module that names it is that loader, neither tool ships its
    folder, and the app refuses SAP_TRANSPORT=simulator inside Azure, so it never asks for it there."""
    from shared.sap.simulator_driver import SIMULATOR_DRIVER
    from shared.settings import SettingsError, load_settings

    assert not {m for m in package.imported_modules(checkout) if m.split("/")[0] == SIMULATOR_DRIVER}
    naming_it = {
        m
        for m in package.azd_package(checkout, FUNCIGNORE)
        if m.endswith(".py") and SIMULATOR_DRIVER in (checkout / m).read_text(encoding="utf-8")
    }
    assert naming_it == {"shared/sap/simulator_driver.py"}
    assert (checkout / SIMULATOR_DRIVER / "__init__.py").is_file()
    for tool in package.PACKAGERS:
        assert not {m for m in package.PACKAGERS[tool](checkout, FUNCIGNORE) if m.split("/")[0] == SIMULATOR_DRIVER}
    with pytest.raises(SettingsError, match="simulator is refused inside an Azure-hosted function app"):
        load_settings({"SAP_TRANSPORT": "simulator", "WEBSITE_SITE_NAME": "func-sap-sync-prod"})


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


# The ports held to their originals' own tests. Azure/azure-functions-core-tools
# test/Cli/Func.UnitTests/ParserTests/GitIgnoreParserTests.cs (GitIgnoreFile and its Accepts/Denies facts):
CORE_TOOLS_TEST_FILE = """# This is a comment in a .gitignore file!
node_modules
*.log

# Ignore this nonexistent file
nonexistent

# Do not ignore this file
!/nonexistent/foo

# Ignore some files

/baz

foo/*.wat

/test1

test2

# Ignore some deep sub folders
othernonexistent/**/what

# Unignore some other sub folders
!/othernonexistent/**/what/foo


*.swp
"""
CORE_TOOLS_ACCEPTS = [
    ("test/index.js", True),
    ("wat/test/index.js", True),
    ("/othernonexistent/blah/adsasd/whatads", True),
    ("/othernonexistent/blah/adsasd/what/foo", True),
    ("test2", False),
    ("test1File.wat", True),
    ("test.swp", False),
    ("node_modules/what.js", False),
    ("foo/bar.wat", False),
    ("othernonexistent/blah/what", False),
    ("nonexistent", False),
    ("nonexistent/bar", False),
    ("nonexistent/foo", True),
    ("nonexistent/foo/wat", True),
    ("test1", False),
]


@pytest.mark.parametrize(("path", "accepted"), CORE_TOOLS_ACCEPTS)
def test_core_tools_port_agrees_with_gitignoreparser_tests(path, accepted):
    assert package.CoreToolsIgnore(CORE_TOOLS_TEST_FILE).accepts(path) is accepted


# denormal/go-gitignore defn_test.go, _GITMATCH and _GITMATCHES (path, ignored), without the two lines in
# syntax the port refuses (`*.[oa]`, `\!important!.txt`) and the cases only those lines decide.
GO_GITIGNORE_TEST_FILE = """*.html
*.min.js
!foo*.html
foo-excl.html
vmlinux*
log/*.log
!/log/foo.log
**/logdir/log
**/foodir/bar
exclude/**
!findthis*
**/hide/**
subdir/subdir2/
/rootsubdir/
dirpattern/
README.md
!arch/foo/kernel/vmlinux*
!htmldoc/*.html
git-sample-3/*
!git-sample-3/foo
git-sample-3/foo/*
!git-sample-3/foo/bar
Documentation/*.pdf
Documentation/**/p*.pdf
"""
GO_GITIGNORE_MATCHES = [
    ("arch/", False),
    ("arch/foo/kernel/vmlinux.lds.S", False),
    ("arch/foo/vmlinux.lds.S", True),
    ("bar/testfile", False),
    ("dirpattern", False),
    ("my/other/path/to/dirpattern", False),
    ("my/path/to/dirpattern/", True),
    ("my/path/to/dirpattern/some_file.txt", False),
    ("Documentation/foo-excl.html", True),
    ("Documentation/foo.html", False),
    ("Documentation/gitignore.html", True),
    ("Documentation/test.a.html", True),
    ("exclude/", True),
    ("exclude/dir1/dir2/dir3/testfile", True),
    ("exclude/other_file.txt", True),
    ("foo/exclude/some_file.txt", False),
    ("foo/exclude/other/file.txt", False),
    ("foodir/", False),
    ("foodir/bar/", True),
    ("foodir/bar/testfile", False),
    ("git-sample-3/", False),
    ("git-sample-3/foo/", False),
    ("git-sample-3/foo/bar/", False),
    ("git-sample-3/foo/test/", True),
    ("git-sample-3/test/", True),
    ("htmldoc/docs.html", False),
    ("htmldoc/jslib.min.js", True),
    ("log/foo.log", False),
    ("log/test.log", True),
    ("rootsubdir/", True),
    ("rootsubdir/foo", False),
    ("src/findthis.o", False),
    ("subdir/hide/", True),
    ("subdir/hide/foo", True),
    ("subdir/logdir/", False),
    ("subdir/logdir/log/", True),
    ("subdir/logdir/log/findthis.log", False),
    ("subdir/logdir/log/foo.log", False),
    ("subdir/rootsubdir/", False),
    ("subdir/subdir2/", True),
    ("subdir/subdir2/bar", False),
    ("README.md", True),
    ("my-path/README.md", True),
    ("my-path/also/README.md", True),
    ("Documentation/git.pdf", True),
    ("Documentation/ppc/ppc.pdf", True),
    ("tools/perf/Documentation/perf.pdf", False),
]


@pytest.mark.parametrize(("path", "ignored"), GO_GITIGNORE_MATCHES)
def test_go_gitignore_port_agrees_with_go_gitignores_tests(path, ignored):
    is_dir = path.endswith("/")
    assert package.GoGitIgnore(GO_GITIGNORE_TEST_FILE).ignores(path.rstrip("/"), is_dir) is ignored


def test_ignore_syntax_the_ports_do_not_reproduce_is_refused():
    for line in ("shared/\\#odd", "[Tt]ests", "tests ", "**tests"):
        with pytest.raises(package.UnportedPattern):
            package.GoGitIgnore(line)
        with pytest.raises(package.UnportedPattern):
            package.CoreToolsIgnore(line)


# --- the package in Microsoft's worker ----------------------------------------------------------

DRIVER = ROOT / "tests" / "support" / "worker_driver.py"
SWAGGER = ROOT / "connector" / "apiDefinition.swagger.json"
HEALTH = {"function": "Health", "method": "GET", "path": "health"}
MALFORMED_CREATE = {
    "function": "CreateSAPCustomer",
    "method": "POST",
    "path": "customers",
    "headers": {"content-type": "application/json"},
    "body": '{"accountId": "001',
}


@pytest.fixture(scope="module")
def worker_python() -> Path:
    try:
        return ensure_worker_runtime()
    except PythonMissing as missing:
        pytest.skip(f"Microsoft's worker needs Python 3.13: {missing}")


def _copy_package(checkout: Path, funcignore: str, destination: Path) -> Path:
    for name in package.azd_package(checkout, funcignore):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(checkout / name, destination / name)
    return destination


def _app_settings(azurite) -> dict[str, str]:
    """What the app is given in Azure, nothing more (no PYTHONPATH, no developer variables): the tests'
    settings, SAP through the relay as infra/main.bicep sets it (SAP_TRANSPORT=relay, SAP_RELAY_URL,
    SAP_AGENT_PROOF_KEY; the managed identity sends, and nothing here calls SAP: the simulator is not in
    the package) and queue and table names of this run's own in the test session's Azurite."""
    suffix = uuid.uuid4().hex[:12]
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "AzureWebJobsStorage": azurite.connection_string,
        "SAP_TRANSPORT": "relay",
        "SAP_RELAY_URL": "https://sapsync-test.servicebus.windows.net/sap-agent",
        "SAP_AGENT_PROOF_KEY": "package-test-proof-key-" + "p" * 32,
        "RETRY_QUEUE_NAME": f"retry-{suffix}",
        "LEDGER_TABLE_NAME": f"ledger{suffix}",
        "FUNCTIONS_WORKER_RUNTIME": "python",
    }


def run_worker(python: Path, app_dir: Path, settings: dict[str, str], steps: list[dict]) -> dict[str, Any]:
    run = subprocess.run(
        [str(python), "-I", str(DRIVER), str(app_dir)],
        input=json.dumps(steps),
        env=settings,
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0 and run.stdout, f"the worker driver failed (exit {run.returncode}): {run.stderr[-4000:]}"
    return json.loads(run.stdout)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def packaged_app(checkout, tmp_path_factory) -> Path:
    return _copy_package(checkout, FUNCIGNORE, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def worker_run(worker_python, packaged_app, azurite) -> dict[str, Any]:
    before = _files(packaged_app)
    results = run_worker(worker_python, packaged_app, _app_settings(azurite), [HEALTH, MALFORMED_CREATE])
    results["files_added"] = sorted(_files(packaged_app) - before)
    return results


def _registered_function_names(app_dir: Path) -> set[str]:
    """Every `@...function_name("X")` in the package's functions/ (read as text, not imported)."""
    return {
        name
        for path in (app_dir / "functions").glob("*.py")
        for name in re.findall(r'@\w+\.function_name\(\s*(?:name\s*=\s*)?"([^"]+)"', path.read_text())
    }


def _trigger(function: dict[str, Any]) -> dict[str, Any]:
    [trigger] = [b for b in function["bindings"] if b["direction"] == "IN" and b["type"].endswith("Trigger")]
    return trigger


def test_worker_indexes_every_function_of_the_package_with_its_trigger(worker_run, packaged_app):
    assert worker_run["init"] == {"ok": True, "error": ""}
    assert worker_run["metadata"] == {"ok": True, "error": ""}
    indexed = {f["name"]: f for f in worker_run["functions"]}
    assert set(indexed) == _registered_function_names(packaged_app)
    assert {"CreateSAPCustomer", "RetryCreateSAPCustomer", "Health"} <= set(indexed)
    for function in indexed.values():
        assert function["script_file"] == "function_app.py"
        assert _trigger(function)["type"] in {"httpTrigger", "queueTrigger", "timerTrigger"}
    assert _trigger(indexed["RetryCreateSAPCustomer"])["queueName"] == "%RETRY_QUEUE_NAME%"


def _route(route: str) -> str:
    """A Functions route with its parameters' constraints dropped: customers/{id:alpha} -> customers/{id}."""
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", route.strip("/"))


def test_every_connector_operation_has_a_function_with_its_route_method_and_a_key(worker_run):
    """connector/apiDefinition.swagger.json, whatever operations it holds today: each (path, method)
    is served by an indexed HTTP function on the same route under the host's `api` prefix, and an
    operation that sends the function key is not served anonymously (the key would be ignored)."""
    swagger = json.loads(SWAGGER.read_text(encoding="utf-8"))
    route_prefix = json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]
    assert swagger["basePath"] == f"/{route_prefix}"
    http = [_trigger(f) for f in worker_run["functions"] if _trigger(f)["type"] == "httpTrigger"]
    operations = [
        (path, method, op)
        for path, item in swagger["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operations
    for path, method, operation in operations:
        serving = [
            t
            for t in http
            if _route(t["route"]) == _route(path) and method.upper() in {m.upper() for m in t["methods"]}
        ]
        assert len(serving) == 1, f"{method.upper()} {path} ({operation.get('operationId')}): {len(serving)} functions"
        sends_key = bool(operation.get("security", swagger.get("security", [])))
        if sends_key:
            assert serving[0]["authLevel"].upper() in {"FUNCTION", "ADMIN"}, (path, method, serving[0]["authLevel"])


def test_health_answers_200_through_the_worker(worker_run):
    [health] = [i for i in worker_run["invocations"] if i["function"] == "Health"]
    assert health["ok"], health["error"]
    assert health["status"] == 200, health["body"]
    assert json.loads(health["body"])["status"] == "healthy"


def test_a_malformed_create_gets_400_naming_the_body_through_the_worker(worker_run):
    [create] = [i for i in worker_run["invocations"] if i["function"] == "CreateSAPCustomer"]
    assert create["ok"], create["error"]
    assert create["status"] == 400, create["body"]
    assert [e["field"] for e in json.loads(create["body"])["errors"]] == ["body"]


def test_the_worker_run_writes_no_state_into_the_package(worker_run):
    assert worker_run["files_added"] == []


def test_the_package_a_bare_top_level_name_makes_fails_in_the_worker(worker_python, checkout, azurite, tmp_path):
    """The end of the story the bare `salesforce` line told: what azd would deploy fails in the worker
    with the ModuleNotFoundError seen in Azure (at indexing or at the first invocation)."""
    bare = FUNCIGNORE.replace("\n/salesforce\n", "\nsalesforce\n")
    results = run_worker(worker_python, _copy_package(checkout, bare, tmp_path), _app_settings(azurite), [HEALTH])
    errors = [results["init"]["error"], *(i["error"] for i in results["invocations"])]
    assert any("No module named 'shared.salesforce'" in error for error in errors), errors
