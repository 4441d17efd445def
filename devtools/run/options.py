"""scripts/run's command line: the options, their checks, and the port check before anything starts."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devtools import azurite
from devtools.run.console import RunError
from devtools.run.environment import PROJECT_ROOT, SAP_SIMULATOR_STATE_FILE

if TYPE_CHECKING:
    pass


DEFAULT_PORT = 7071


TOPOLOGIES = ("local", "relay")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    # The description is the package docstring's second paragraph (devtools/run/__init__.py), read at call
    # time: the package imports this module, so it is complete by then.
    import devtools.run

    description = (devtools.run.__doc__ or "").split("\n\n")[1]
    parser = argparse.ArgumentParser(prog="scripts/run", description=description)
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="HTTP port of the functions, 1-65535 (default: 7071)"
    )
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="local",
        help="local: the functions call the SAP simulator in their own process (default); "
        "relay: the functions call SAP over a local relay double and the on-premise agent "
        "(python -m agent), which serves the simulator",
    )
    parser.add_argument(
        "--salesforce",
        choices=["off", "fake"],
        default="off",
        help="fake: write SAP numbers back to a fake Salesforce started with this command",
    )
    parser.add_argument(
        "--sap",
        choices=["s4"],
        default=None,
        help="s4: serve the local S/4 double (s4_simulator) and point the functions at it "
        "(SAP_TRANSPORT=odata); default: SAP as the settings say (the SAP simulator)",
    )
    parser.add_argument(
        "--sap-faults",
        default=None,
        metavar="FAULTS",
        help='SAP simulator fault injection, e.g. "communication_before=0.1,latency_ms=20" or "down"; '
        'with --sap s4 the S/4 double\'s, e.g. "cut_after_commit=0.1,latency_ms=20"',
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=PROJECT_ROOT / azurite.LOCAL_DATA_DIR_NAME,
        metavar="DIR",
        help="where local storage (DIR/azurite) and the SAP simulator's customers "
        f"(DIR/{SAP_SIMULATOR_STATE_FILE}) are kept (default: .local in the checkout)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start with empty storage: delete what earlier runs kept in the data dir first",
    )
    return parser.parse_args(argv)


def check_sap_faults(text: str) -> None:
    from sap_simulator.faults import FaultPlan, FaultSettingsError

    try:
        FaultPlan.parse(text)
    except FaultSettingsError as error:
        raise RunError(str(error)) from None


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
