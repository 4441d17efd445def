"""A local S/4HANA double: SAP's OData V2 service API_BUSINESS_PARTNER over real HTTP, for tests and
local runs (the RFC simulator, sap_simulator/, stands in for an ECC system the same way).

Built from the published facts of the service (shared/core/business_partner_facts.py, each with its
source; its referee: tests/contract/test_business_partner_facts.py) and, for the protocol around them
(logon, sessions and CSRF, ETags, errors), from SAP's documentation and knowledge base articles named in
server.py, service.py and odata.py. Where SAP's behaviour is not published the double takes the closed
side and says so: it knows only the facts' properties, refuses over-long values, demands If-Match on
every update, and never guesses a number.

    python -m s4_simulator --port 8044      # prints the service URL and the communication user

Modules: server.py (HTTP, logon, CSRF, faults), service.py (the OData service), creation.py (deep insert,
CVI, the create rules), documents.py (request bodies against the facts), odata.py (paths, $filter, JSON,
errors), metadata.py ($metadata from the facts), store.py (SQLite state), faults.py, reference.py (the
reference customers), model.py.

Settings (environment; the double's own, like SAP_SIMULATOR_*, read only here and only by the double's own
process: no product module imports this package, pyproject.toml's import contracts):
  S4_SIMULATOR_USER, S4_SIMULATOR_PASSWORD
                          the communication user (default S4_COMM_USER with a password made at start)
  S4_SIMULATOR_STATE_FILE a SQLite file holding every entity and number range across restarts (store.py);
                          unset: in memory
  S4_SIMULATOR_FAULTS     fault settings string, e.g. "cut_after_commit=0.05,latency_ms=20" (faults.py)
  S4_SIMULATOR_NUMBERING  separate (default: partners from 1000000, customers from 17100000) | same (the
                          customer takes its partner's number)
The deployment package leaves this package out (.funcignore), so it never runs in Azure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s4_simulator.faults import FaultPlan, FaultSettingsError
from s4_simulator.model import Customizing, Numbering
from s4_simulator.server import DEFAULT_USER, S4Simulator

__all__ = [
    "FAULTS_SETTING",
    "NUMBERING_SETTING",
    "PASSWORD_SETTING",
    "STATE_FILE_SETTING",
    "USER_SETTING",
    "Customizing",
    "FaultPlan",
    "FaultSettingsError",
    "Numbering",
    "S4Simulator",
    "S4SimulatorSettingsError",
    "simulator_options_from_environment",
]

USER_SETTING = "S4_SIMULATOR_USER"
PASSWORD_SETTING = "S4_SIMULATOR_PASSWORD"
STATE_FILE_SETTING = "S4_SIMULATOR_STATE_FILE"
FAULTS_SETTING = "S4_SIMULATOR_FAULTS"
NUMBERING_SETTING = "S4_SIMULATOR_NUMBERING"
NUMBERINGS = ("separate", "same")


class S4SimulatorSettingsError(ValueError):
    """An S4_SIMULATOR_* setting is malformed; the message names it."""


def simulator_options_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """S4Simulator's keyword arguments from the S4_SIMULATOR_* settings (unset ones left to the defaults)."""
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    user = (env.get(USER_SETTING) or "").strip()
    password = env.get(PASSWORD_SETTING) or ""
    if user or password:
        if not password:
            raise S4SimulatorSettingsError(f"{PASSWORD_SETTING}: needed when {USER_SETTING} is set")
        options["credentials"] = (user or DEFAULT_USER, password)
    state_file = (env.get(STATE_FILE_SETTING) or "").strip()
    if state_file:
        options["state_file"] = Path(state_file).expanduser().resolve()
    try:
        options["faults"] = FaultPlan.parse(env.get(FAULTS_SETTING))
    except FaultSettingsError as error:
        raise S4SimulatorSettingsError(str(error)) from None
    numbering = (env.get(NUMBERING_SETTING) or "separate").strip().lower()
    if numbering not in NUMBERINGS:
        raise S4SimulatorSettingsError(f"{NUMBERING_SETTING}: one of {', '.join(NUMBERINGS)}, not {numbering!r}")
    options["numbering"] = Numbering(same_numbers=numbering == "same")
    return options
