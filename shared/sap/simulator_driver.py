"""The SAP simulator as a pyrfc-shaped driver, loaded by its module name as rfc.py loads pyrfc and pyrfcx.

The simulator (the top-level package `sap_simulator`) has pyrfc's surface: `Connection` and pyrfc's
exception classes, so `RfcSapGateway(parameters, rfc_module=<the simulator>)` runs the production
adapter against it. Product code holds no static import of it (an import-linter contract in
pyproject.toml says so): the composition root loads it by name, only when SAP_TRANSPORT=simulator.
It is for local runs and tests: the deployment package leaves it out (.funcignore) and load_settings
refuses SAP_TRANSPORT=simulator inside an Azure-hosted app, so the app never asks for it there.
"""

from __future__ import annotations

import importlib
from typing import Any

SIMULATOR_DRIVER = "sap_simulator"


def import_simulator_module() -> Any:
    """The simulator module (sap_simulator/__init__.py), imported on first use."""
    return importlib.import_module(SIMULATOR_DRIVER)
