# Sourced by scripts/run and scripts/test: makes .venv with the dev requirements, idempotently.
# Re-installs only when a requirements file changed since the last install (fast second run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

# A .venv left half-made (no pip, e.g. python3-venv missing when it was created) is made again.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "==> creating .venv (a few seconds)"
  rm -rf .venv
  "$(pick_python)" -m venv .venv || {
    echo "error: could not create a virtual environment (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  }
fi
stamp=".venv/.requirements.sha256"
# sha256sum on Linux, shasum on macOS
wanted="$(cat requirements.txt requirements-dev.txt | { sha256sum 2>/dev/null || shasum -a 256; } | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  # pip is silent for many seconds per step with --quiet: show one line per package instead.
  echo "==> installing requirements into .venv (the first time takes a minute or two)"
  echo "    upgrading pip"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  echo "    installing requirements-dev.txt"
  PYTHONUNBUFFERED=1 .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off \
      -r requirements-dev.txt |
    awk '/^(Collecting|Installing collected packages|Successfully installed)/ { print "    " $0; fflush() }'
  echo "$wanted" > "$stamp"
  echo "    requirements installed"
fi
PY="$ROOT/.venv/bin/python"
export PY
