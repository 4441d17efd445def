"""The product as it runs: the local host serving function_app.py over real HTTP, Azurite for the
ledger and the retry queue, the SAP simulator, and the fake Salesforce over HTTPS.

SAP back ends: `product` runs on the RFC simulator (SAP_TRANSPORT=simulator) unless a test asks for
S/4HANA with `@pytest.mark.parametrize("product", ["rfc", "s4"], indirect=True)` (or BACK_ENDS): then the
app runs SAP_TRANSPORT=odata against the test's S/4 double (s4_simulator/, over real HTTP), and `product.sap`
is that double as tests/support/s4.py's S4System."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.azurite import AzuriteEndpoints
from tests.support.e2e_product import running_product
from tests.support.product import RunningProduct
from tests.support.s4 import ScriptedS4Simulator, s4_for_this_test, sap_back_end


@pytest.fixture
def s4_double() -> Iterator[ScriptedS4Simulator]:
    """A fresh S/4 system for the test (in memory, over real HTTP). One per test, not per session: it starts in
    about 25 ms (measured), while a shared one couples tests through their account Ids (the push tests' and the
    storm's coincide, and the storm would adopt the push test's partners instead of creating its own)."""
    with ScriptedS4Simulator() as double:
        yield double


@pytest.fixture
def product(
    request: pytest.FixtureRequest, azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningProduct]:
    s4 = s4_for_this_test(request) if sap_back_end(request) == "s4" else None
    yield from running_product(
        azurite,
        unique_name,
        monkeypatch,
        s4,
        RETRY_MAX_ATTEMPTS="12",
        RETRY_AFTER_SECONDS="5",
        PYTHON_THREADPOOL_THREAD_COUNT="32",
    )
