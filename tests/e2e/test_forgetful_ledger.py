"""Issue 22's acceptance for a ledger that loses entries: the running product (local host, Azurite, SAP
simulator, fake Salesforce) with SAP_GUARD_SEARCH_SINCE set; the ledger table is emptied and the retry
queue cleared in the middle of a storm (what a restore from an older backup, a move to a new storage
account, or an emulator killed before it saved does), then the flow sends every account again. No
account may end with two SAP customers. (Without the setting each forgotten account that SAP had
created gets a second one: tests/unit/test_guard_window.py shows that on the use case.)"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.fake_salesforce import salesforce_id18
from tests.support.product import RunningProduct
from tests.support.s4 import BACK_ENDS, S4RunningProduct
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

ACCOUNTS = {"rfc": 60, "s4": 20}  # S/4's the same outcome, smaller (CI time)
SETTLED = ("created", "needs_review", "failed")  # nothing more happens on its own


@pytest.fixture
def guard_searches_every_create(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Set before the product builds its services (on its first request): the ledger may lose from now."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    monkeypatch.setenv("SAP_GUARD_SEARCH_SINCE", since.isoformat())
    return since


@pytest.fixture
def searching_product(guard_searches_every_create: datetime, product: RunningProduct) -> RunningProduct:
    return product


def break_some_answers(product: RunningProduct) -> None:
    """Some answers are lost after SAP committed (the outcome-unknown path stays in play as well)."""
    if isinstance(product, S4RunningProduct):
        product.sap.faults.plan.arm("cut_after_commit", 3)  # armed: each costs one claim window, no chains
    else:
        product.sap.configure_faults("communication_after_bapi=0.05,communication_after_commit=0.05,seed=22")


def accounts(count: int) -> list[dict]:
    """Distinct accounts, each with a name of its own (SAP holds no Salesforce Id: the name tells them apart)."""
    return [
        dict(
            sample("german-account"),
            accountId=salesforce_id18(f"001Dn022{index:07d}"),
            name=f"Vergesslich {index} GmbH",
        )
        for index in range(count)
    ]


def empty_the_ledger_and_the_queue(product: RunningProduct) -> int:
    """Every entity of the ledger table deleted and every retry message cleared, under the running product."""
    product.queue.clear_messages()
    deleted = 0
    for entity in product.ledger.list_entities():
        product.ledger.delete_entity(entity["PartitionKey"], entity["RowKey"])
        deleted += 1
    return deleted


@pytest.mark.parametrize("product", BACK_ENDS, indirect=True)
def test_a_ledger_emptied_mid_storm_then_a_resend_of_every_account_leaves_one_customer_each(
    searching_product: RunningProduct,
):
    product = searching_product
    payloads = accounts(ACCOUNTS["s4" if isinstance(product, S4RunningProduct) else "rfc"])
    for payload in payloads:
        product.salesforce.add_account(payload["accountId"], Name=payload["name"])
    break_some_answers(product)
    sends = [p for p in payloads for _ in range(2)]
    random.Random(22).shuffle(sends)
    half_sent = threading.Event()
    answered = []

    def send(payload: dict, session: requests.Session) -> int:
        status = product.post(payload, session).status_code
        answered.append(status)
        if len(answered) >= len(sends) // 2:
            half_sent.set()
        return status

    with ThreadPoolExecutor(max_workers=16) as pool, requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))
        storm = [pool.submit(send, payload, session) for payload in sends]
        assert half_sent.wait(timeout=120)
        deleted = empty_the_ledger_and_the_queue(product)  # while the other half is still being sent
        statuses = [future.result() for future in storm]

    assert set(statuses) <= {200, 201, 202}, sorted(set(statuses))
    assert deleted > 0
    created_before_resend = {c.number for p in payloads for c in product.sap_customers_of(p)}
    forgotten = [
        p
        for p in payloads
        if product.sap_customers_of(p)
        and requests.get(f"{product.base_url}/api/customers/{p['accountId']}", timeout=30).status_code == 404
    ]
    assert forgotten, "the wipe should have left accounts SAP knows and the ledger does not"

    # The flow sends every account again (twice, concurrently, as a flow retrying would).
    resends = [p for p in payloads for _ in range(2)]
    random.Random(23).shuffle(resends)
    with ThreadPoolExecutor(max_workers=16) as pool, requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))
        statuses = list(pool.map(lambda p: product.post(p, session).status_code, resends))
    assert set(statuses) <= {200, 201, 202}, sorted(set(statuses))
    product.wait_until(
        lambda: (
            product.queues_empty() and all(product.status(p["accountId"]).get("status") in SETTLED for p in payloads)
        ),
        timeout=120,
        what="every account to settle",
    )

    for payload in payloads:
        customers = product.sap_customers_of(payload)
        assert len(customers) == 1, f"{payload['accountId']}: {len(customers)} SAP customers"
        status = product.status(payload["accountId"])
        assert status["status"] == "created" and status["customerNumber"] == customers[0].number
    # Every customer SAP held for a forgotten account was adopted, not created again.
    assert created_before_resend <= {c.number for p in payloads for c in product.sap_customers_of(p)}
    assert any(product.status(p["accountId"]).get("adopted") for p in forgotten)
