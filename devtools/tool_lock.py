"""One installer at a time for a tool's own venv under .tools/ (checkov, Microsoft's Python worker): two
test runs sharing .tools/ must not remove each other's half-made venv."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def install_lock(tool_dir: Path) -> Iterator[None]:
    """Held while `tool_dir` is checked and (re)made; the lock file sits beside it, `.<name>.lock`."""
    tool_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(tool_dir.parent / f".{tool_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
