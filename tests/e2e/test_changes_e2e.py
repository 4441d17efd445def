"""The change path as it runs (issue 26): the local host serving function_app.py over real HTTP, the ledger and
the retry queue in Azurite, the queue trigger, the SAP simulator behind the production RFC gateway, and the fake
Salesforce for the write-back. Lean on purpose (the storm and the rules' tables run in process:
tests/integration/test_changes_acceptance.py, tests/unit/test_change_*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.azurite import AzuriteEndpoints
from tests.support.e2e_product import running_product
from tests.support.outbound_messages import ORGANIZATION_ID, outbound_message, soap_headers, synced_account_fields_of
from tests.support.product import RunningProduct
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

CHANGE = "BAPI_CUSTOMER_CHANGEFROMDATA1"


@pytest.fixture
def product(azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningProduct]:
    yield from running_product(azurite, unique_name, monkeypatch, SALESFORCE_ORGANIZATION_ID=ORGANIZATION_ID[:15])


def stamp(minutes: int) -> str:
    return (datetime(2026, 12, 7, 14, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def post_change(product: RunningProduct, account_id: str, **changes: str) -> requests.Response:
    body = {**sample("german-account"), **changes}
    body.pop("accountId")
    return requests.post(f"{product.base_url}/api/customers/{account_id}/changes", json=body, timeout=30)


def test_a_changed_street_reaches_sap_through_the_change_endpoint_alone(product: RunningProduct):
    created = product.post(sample("german-account"))
    assert created.status_code == 201, created.text
    account_id, number = created.json()["accountId"], created.json()["customerNumber"]
    before = dict(product.sap.customer(number).address)

    answer = post_change(product, account_id, street="Neue Straße 5", systemModstamp=stamp(1))

    assert answer.status_code == 200, answer.text
    assert answer.json()["change"] == "applied" and answer.json()["changedFields"] == ["street"]
    after = product.sap.customer(number).address
    assert {name for name in after if after[name] != before.get(name)} == {"STREET"}
    assert product.status(account_id)["lastChangeStatus"] == "applied"
    again = post_change(product, account_id, street="Neue Straße 5", systemModstamp=stamp(1))
    assert (again.status_code, again.json()["change"]) == (200, "stale")
    assert product.sap.calls[CHANGE] == 1


def test_a_changed_street_reaches_sap_through_the_push_path_and_the_queue_trigger(product: RunningProduct):
    created = product.post(sample("german-account"))
    assert created.status_code == 201, created.text
    account_id, number = created.json()["accountId"], created.json()["customerNumber"]
    moved = {**sample("german-account"), "street": "Neue Straße 5"}
    fields = synced_account_fields_of(moved, number, modified_at=datetime.now(UTC))

    response = requests.post(
        f"{product.base_url}/api/salesforce/outbound-messages",
        data=outbound_message([fields]),
        headers=soap_headers(),
        timeout=30,
    )

    assert response.status_code == 200
    product.wait_until(lambda: product.status(account_id)["lastChangeStatus"] == "applied", what="change applied")
    assert product.sap.customer(number).address["STREET"] == "Neue Straße 5"
    assert product.sap.calls[CHANGE] == 1


def test_a_change_while_the_create_is_queued_ends_in_one_customer_with_the_newest_values(product: RunningProduct):
    product.sap.faults.arm("communication_before")
    queued = product.post(sample("german-account"))
    assert queued.status_code == 202, queued.text
    account_id = queued.json()["accountId"]

    folded = post_change(
        product, account_id, street="Neue Straße 5", city="Augsburg", postalCode="86150", systemModstamp=stamp(1)
    )

    assert (folded.status_code, folded.json()["change"]) == (202, "folded")
    product.wait_until(
        lambda: product.status(account_id)["lastChangeStatus"] == "applied",
        timeout=120,
        what="the folded change applied after the create",
    )
    [customer] = product.sap.created_customers()
    assert (customer.address["STREET"], customer.address["CITY"]) == ("Neue Straße 5", "Augsburg")
    assert product.status(account_id)["customerNumber"] == customer.number
