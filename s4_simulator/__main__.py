"""python -m s4_simulator [--port 8044]: serve the S/4 double until Ctrl-C (settings: s4_simulator/__init__.py)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from s4_simulator import S4Simulator, S4SimulatorSettingsError, simulator_options_from_environment

READY_LINE = "S/4 double ready"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m s4_simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8044)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        options = simulator_options_from_environment()
    except S4SimulatorSettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with S4Simulator(args.port, host=args.host, **options) as simulator:
        user, password = simulator.credentials
        print(f"{READY_LINE} at {simulator.service_url}", flush=True)
        print(f"  communication user {user}, password {password}", flush=True)
        if simulator.state_file is not None:
            print(f"  state file {simulator.state_file}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
