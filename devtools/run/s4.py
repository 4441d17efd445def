"""scripts/run --sap s4: the local S/4 double (s4_simulator) in this process, and the functions pointed at it.

The double serves API_BUSINESS_PARTNER on a free loopback port with a communication user made up for the
run; the functions get SAP_TRANSPORT=odata with its URL and logon (shared/settings/s4.py allows plain
http only to a local host). Its Business Partners are kept in the data dir (s4-simulator.sqlite3, or the
file S4_SIMULATOR_STATE_FILE names), so a restarted run finds them; --fresh empties it. Faults: --sap-faults
takes the double's fault string (s4_simulator/faults.py), or S4_SIMULATOR_FAULTS. The double runs in this
process, like the fake Salesforce: a functions host that crashes and is started again finds it unchanged.

With --topology relay the agent (python -m agent) gets SAP_TRANSPORT=odata and the double's logon, as an agent in
front of S/4HANA on premise would (shared/bootstrap/sap.py builds the same Business Partner gateway for it), and
the functions reach it through the relay double (SAP_TRANSPORT=relay); the logon stays with the agent.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from devtools.run.console import RunError, say
from devtools.run.environment import display_path

if TYPE_CHECKING:
    from devtools.run.processes import Run

S4_STATE_FILE = "s4-simulator.sqlite3"
# The grouping new partners get when the settings name none (SAP_BP_GROUPING): the double accepts any.
DEFAULT_GROUPING = "BP02"


def check_s4_arguments(arguments: argparse.Namespace) -> None:
    """Refuse what --sap s4 cannot do, before anything starts: faults the double does not know."""
    if arguments.sap_faults is not None:
        from s4_simulator import FaultPlan, FaultSettingsError

        try:
            FaultPlan.parse(arguments.sap_faults)
        except FaultSettingsError as error:
            said = str(error).replace("S4_SIMULATOR_FAULTS", "--sap-faults (the S/4 double's faults)")
            raise RunError(said) from None


def start_s4_double(
    arguments: argparse.Namespace, run: Run, data_dir: Path, effective: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Start the double; the functions' settings for it and the banner's lines."""
    from s4_simulator import (
        FaultPlan,
        S4Simulator,
        S4SimulatorSettingsError,
        simulator_options_from_environment,
    )

    try:
        options = simulator_options_from_environment(os.environ)
    except S4SimulatorSettingsError as error:
        raise RunError(str(error)) from None
    state_file = Path(options.pop("state_file", None) or data_dir / S4_STATE_FILE).expanduser().resolve()
    if arguments.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state_file}{suffix}").unlink(missing_ok=True)
        say(f"==> --fresh: emptied {display_path(state_file)}")
    if arguments.sap_faults is not None:
        options["faults"] = FaultPlan.parse(arguments.sap_faults)
    say("==> SAP: the local S/4 double (python -m s4_simulator's server, in this process)")
    try:
        run.s4_double = S4Simulator(state_file=state_file, **options).start()
    except Exception as error:  # an unusable state file, say: one line, not a traceback
        raise RunError(f"the S/4 double cannot start: {error}") from None
    double = run.s4_double
    user, password = double.credentials
    settings = {
        "SAP_TRANSPORT": "odata",
        "SAP_ODATA_URL": double.service_url,
        "SAP_ODATA_AUTH": "basic",
        "SAP_ODATA_USER": user,
        "SAP_ODATA_PASSWORD": password,
        "SAP_BP_GROUPING": effective.get("SAP_BP_GROUPING") or DEFAULT_GROUPING,
    }
    say(f"    serving {double.service_url} (communication user {user}, password made up for this run)")
    lines = [
        f"SAP S/4 double: Business Partners kept in {display_path(state_file)} (SQLite; survives restarts; "
        "scripts/run --fresh starts empty)."
    ]
    faults = options["faults"]
    if any(faults.probabilities.values()) or faults.down or faults.fail_next_calls or faults.latency_ms:
        lines.append(
            "S/4 double faults ACTIVE (--sap-faults or S4_SIMULATOR_FAULTS): expect 202s that the queue "
            "trigger finishes later, or failures"
        )
    return settings, lines
