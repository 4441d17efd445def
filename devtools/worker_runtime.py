"""Microsoft's Python worker for Azure Functions, in a Python 3.13 virtual environment under .tools/.

From Python 3.13 the Functions host runs a small gRPC proxy that hands every request to the
`azure-functions-runtime` library (PyPI; source in Azure/azure-functions-python-worker, runtimes/v2):
that library indexes function_app.py and invokes the functions. tests/infra/test_deployment_package.py
loads the deployment package with it (tests/support/worker_driver.py). The venv holds the worker, the
protobuf runtime its messages need, and the app's requirements.txt as Python 3.13 resolves it (the
`azure-functions` 2.x line); in Azure those come from the build into .python_packages instead.

Made once and reused, like devtools/checkov_tool.py: `scripts/test` calls `install` before pytest and
the test calls `ensure_worker_runtime()`. A change to requirements.txt makes a new one. Where no
Python 3.13 is found (pyenv's versions, then PATH), `install` says so and the test skips.

    python -m devtools.worker_runtime install   # idempotent; prints the Python it will use
    python -m devtools.worker_runtime path      # that Python (installs first if needed)
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.tool_lock import install_lock

RUNTIME_VERSION = "1.3.0"  # azure-functions-runtime
PROTOBUF_VERSION = "7.36.2"  # the proxy's protobuf messages (tests/support/worker_driver.py builds them)
PYTHON_VERSION = "3.13"
ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
# .tools/ may be a symlink shared between checkouts: the venv's scripts record the resolved path.
TOOL_DIR = (ROOT / ".tools").resolve() / f"functions-worker-{RUNTIME_VERSION}-py{PYTHON_VERSION}"
_STAMP = TOOL_DIR / ".installed"


class PythonMissing(RuntimeError):
    """No Python 3.13 on this machine: the worker's test cannot run here."""


def find_python() -> Path:
    """A Python 3.13 that runs: pyenv's (PYENV_ROOT or ~/.pyenv), else `python3.13` on PATH (a pyenv
    shim there may exist and still refuse to run, so each candidate is asked for its version)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(
        glob.glob(str(pyenv / "versions" / f"{PYTHON_VERSION}.*" / "bin" / f"python{PYTHON_VERSION}")), reverse=True
    )
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    for candidate in [*candidates, *([on_path] if on_path else [])]:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == PYTHON_VERSION:
            return Path(candidate)
    raise PythonMissing(
        f"no Python {PYTHON_VERSION} found (neither {pyenv}/versions/{PYTHON_VERSION}.* nor a "
        f"working python{PYTHON_VERSION} on PATH)"
    )


def worker_python() -> Path:
    return TOOL_DIR / "bin" / "python"


def _wanted_stamp() -> str:
    requirements = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return f"azure-functions-runtime=={RUNTIME_VERSION} protobuf=={PROTOBUF_VERSION} requirements.txt={requirements}"


def _installed() -> bool:
    return _STAMP.is_file() and _STAMP.read_text().strip() == _wanted_stamp() and worker_python().is_file()


def ensure_worker_runtime(*, quiet: bool = True) -> Path:
    """The worker venv's Python, made first if missing or made for another requirements.txt.
    Raises PythonMissing where there is no Python 3.13."""
    if _installed():
        return worker_python()
    python = find_python()
    with install_lock(TOOL_DIR):
        if not _installed():  # another process may have finished it while we waited
            _install(python, quiet=quiet)
    return worker_python()


def _install(python: Path, *, quiet: bool) -> None:
    if TOOL_DIR.exists():  # half-made, or made for another requirements.txt: start again
        shutil.rmtree(TOOL_DIR)
    if not quiet:
        print(
            f"    installing azure-functions-runtime {RUNTIME_VERSION} and requirements.txt for Python "
            f"{PYTHON_VERSION} into {TOOL_DIR} (about half a minute, once)",
            flush=True,
        )
    subprocess.run([str(python), "-m", "venv", str(TOOL_DIR)], check=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    pip = subprocess.run(
        [
            str(worker_python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--progress-bar",
            "off",
            f"azure-functions-runtime=={RUNTIME_VERSION}",
            f"protobuf=={PROTOBUF_VERSION}",
            "-r",
            str(REQUIREMENTS),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip could not install the worker's venv (exit {pip.returncode}): {pip.stderr[-3000:]}")
    _STAMP.write_text(_wanted_stamp() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.worker_runtime", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("install", "path"))
    args = parser.parse_args(argv)
    try:
        python = ensure_worker_runtime(quiet=args.command == "path")
    except PythonMissing as missing:
        print(f"    skipped: {missing}; tests/infra/test_deployment_package.py skips the worker's checks")
        return 0 if args.command == "install" else 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
