"""checkov (the infrastructure-as-code scanner) in a virtual environment of its own under .tools/.

checkov pins dozens of libraries exactly (boto3, networkx, pydantic, ...) that would fight the app's
own pins in .venv, so it gets its own environment, made once and reused: `scripts/test` calls
`python -m devtools.checkov_tool install` before pytest, and tests/infra/ calls `ensure_checkov()`
(the same thing, so `pytest tests/infra` alone works too). A clean clone installs it by itself.

    python -m devtools.checkov_tool install   # idempotent; prints the checkov it will use
    python -m devtools.checkov_tool path      # the command that runs checkov (installs first if needed)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from devtools.tool_lock import install_lock

CHECKOV_VERSION = "3.3.30"
ROOT = Path(__file__).resolve().parent.parent
# .tools/ may be a symlink shared between checkouts: the venv's scripts record the resolved path.
TOOL_DIR = (ROOT / ".tools").resolve() / f"checkov-{CHECKOV_VERSION}"
_STAMP = TOOL_DIR / ".installed"


def checkov_executable() -> Path:
    return TOOL_DIR / "bin" / "checkov"


def checkov_command() -> list[str]:
    """How to run checkov: its venv's Python with the module, which works wherever the venv was made."""
    ensure_checkov()
    return [str(TOOL_DIR / "bin" / "python"), "-m", "checkov.main"]


def _installed() -> bool:
    return _STAMP.is_file() and _STAMP.read_text().strip() == CHECKOV_VERSION and checkov_executable().is_file()


def ensure_checkov(*, quiet: bool = True) -> Path:
    """The checkov executable, installing the pinned version first if it is not there yet."""
    executable = checkov_executable()
    if _installed():
        return executable
    with install_lock(TOOL_DIR):
        if _installed():  # another process finished it while we waited
            return executable
        _install(quiet=quiet)
    return executable


def _install(*, quiet: bool) -> None:
    if TOOL_DIR.exists():  # half-made by an interrupted install: start again
        shutil.rmtree(TOOL_DIR)
    if not quiet:
        print(f"    installing checkov {CHECKOV_VERSION} into {TOOL_DIR} (a few minutes, once)", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOL_DIR)
    python = TOOL_DIR / "bin" / "python"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--progress-bar", "off", f"checkov=={CHECKOV_VERSION}"],
        check=True,
        env=env,
    )
    _STAMP.write_text(CHECKOV_VERSION + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.checkov_tool", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("install", "path"))
    args = parser.parse_args(argv)
    ensure_checkov(quiet=args.command == "path")
    print(" ".join(checkov_command()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
