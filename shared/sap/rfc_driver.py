"""Finding the RFC driver the gateway (shared/sap/rfc.py) talks through: SAP's pyrfc, or pyrfcx (a drop-in
of the same shape), and the SapDriverMissing that says what to install when neither loads."""

from __future__ import annotations

import importlib
from typing import Any

from shared.sap.errors import SapDriverMissing

_INSTALL_HINT = (
    "pyrfc is not installed: install SAP's PyRFC wheel (github.com/SAP/PyRFC releases) or "
    "`pip install pyrfcx`, plus the SAP NW RFC SDK with SAPNWRFC_HOME set and its lib directory on "
    "LD_LIBRARY_PATH (PATH on Windows)"
)
_SDK_HINT = (
    "the SAP NW RFC SDK library (libsapnwrfc) could not be loaded: install the SAP NW RFC SDK and set "
    "SAPNWRFC_HOME (pyrfc also needs its lib directory on LD_LIBRARY_PATH, PATH on Windows)"
)


def import_rfc_module() -> Any:
    """pyrfc (SAP's, or pyrfcx's drop-in of the same name), else pyrfcx. Raises the ImportError that
    explains best why neither loads (a missing SDK library beats a missing package).

    SAP's pyrfc swallows a failed import of its native module (`__init__` prints the error and goes
    on), so `import pyrfc` can succeed without `pyrfc.Connection`: that counts as not loaded."""
    errors: list[ImportError] = []
    for name in ("pyrfc", "pyrfcx"):
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            errors.append(error)
            continue
        if not hasattr(module, "Connection"):
            errors.append(ImportError(f"{name} is installed but its native module did not load (libsapnwrfc missing?)"))
            continue
        return module
    raise next((e for e in errors if _is_sdk_missing(e)), errors[0])


def _is_sdk_missing(error: BaseException) -> bool:
    text = str(error).lower()
    return "sapnwrfc" in text or "native module" in text


def driver_missing(error: BaseException) -> SapDriverMissing:
    """The SapDriverMissing for a driver that did not load: a missing SDK library, else a missing package."""
    if _is_sdk_missing(error):
        return SapDriverMissing(_SDK_HINT)
    return SapDriverMissing(f"{_INSTALL_HINT} ({error})")
