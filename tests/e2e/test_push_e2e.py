"""The push path as it runs: Salesforce's outbound messages posted over real HTTP to the local host
serving function_app.py, the ledger and the retry queue in Azurite, the queue trigger creating the
customers in the SAP simulator and writing the numbers back to the fake Salesforce."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import requests

from devtools.azurite import AzuriteEndpoints
from devtools.fake_salesforce import salesforce_id18
from shared.core.outbound_message import OUTBOUND_NS
from tests.support.e2e_product import running_product
from tests.support.outbound_messages import (
    ORGANIZATION_ID,
    OTHER_ORGANIZATION_ID,
    account_fields_of,
    outbound_message,
    salesforce_datetime,
    soap_headers,
)
from tests.support.product import RunningProduct
from tests.support.s4 import BACK_ENDS, S4RunningProduct, s4_for_this_test, sap_back_end
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
# The organization as Setup shows it (messages carry 18 characters). A message of 100 accounts is about 100 KB: the
# push endpoint declares its own bound (1 MiB) in its trigger binding, every other route keeps the local host's
# 64 KiB (devhost/http_server.py).
PUSH_SETTINGS = {"SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID[:15], "PYTHON_THREADPOOL_THREAD_COUNT": "16"}


@pytest.fixture
def product(
    request: pytest.FixtureRequest, azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningProduct]:
    """On the RFC simulator, or with `parametrize("product", BACK_ENDS, indirect=True)` on the test's S/4 double
    too (tests/e2e/conftest.py)."""
    s4 = s4_for_this_test(request) if sap_back_end(request) == "s4" else None
    yield from running_product(azurite, unique_name, monkeypatch, s4, **PUSH_SETTINGS)


@pytest.fixture
def older_picklist_product(
    azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningProduct]:
    """The product in an org made with the older default Account Type picklist."""
    yield from running_product(
        azurite,
        unique_name,
        monkeypatch,
        **PUSH_SETTINGS,
        SALESFORCE_CUSTOMER_TYPES="Customer - Direct,Customer - Channel",
    )


def accounts(count: int, series: int, **fields: str | None) -> list[dict[str, str | None]]:
    made = []
    for index in range(count):
        payload = dict(
            sample("german-account"),
            accountId=salesforce_id18(f"001Dn{series:03d}{index:07d}"),
            name=f"Push {series}-{index} GmbH",
        )
        made.append(account_fields_of(payload, **fields))
    return made


def post(product: RunningProduct, body: bytes) -> requests.Response:
    return requests.post(
        f"{product.base_url}/api/salesforce/outbound-messages", data=body, headers=soap_headers(), timeout=30
    )


def acknowledged(response: requests.Response) -> bool:
    root = ElementTree.fromstring(response.content)
    return (
        response.status_code == 200
        and root.findtext(f"{SOAP}Body/{{{OUTBOUND_NS}}}notificationsResponse/{{{OUTBOUND_NS}}}Ack") == "true"
    )


def seed(product: RunningProduct, fields: list[dict[str, str | None]]) -> None:
    for account in fields:
        product.salesforce.add_account(account["Id"], Name=account["Name"])


def numbers_recorded(product: RunningProduct, fields: list[dict[str, str | None]]) -> bool:
    return (
        all((product.salesforce.account(a["Id"]) or {}).get("SAP_Customer_Number__c") for a in fields)
        and product.queues_empty()
    )


def assert_one_customer_each(product: RunningProduct, fields: list[dict[str, str | None]]) -> None:
    for account in fields:
        customers = product.sap_customers_of({"name": account["Name"], "accountId": account["Id"]})
        assert len(customers) == 1, f"{account['Id']}: {len(customers)} SAP customers"
        assert product.salesforce.account(account["Id"])["SAP_Customer_Number__c"] == customers[0].number
        assert product.status(account["Id"])["customerNumber"] == customers[0].number


# The big message's size per back end: RFC's proves the size; S/4's the same outcome, smaller (CI time).
MESSAGE_ACCOUNTS = {"rfc": 100, "s4": 20}


@pytest.mark.parametrize("product", BACK_ENDS, indirect=True)
def test_a_message_of_100_accounts_is_acknowledged_and_creates_each_customer_once(product):
    fields = accounts(MESSAGE_ACCOUNTS["s4" if isinstance(product, S4RunningProduct) else "rfc"], series=1)
    seed(product, fields)
    response = post(product, outbound_message(fields))
    assert acknowledged(response), response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    product.wait_until(
        lambda: numbers_recorded(product, fields),
        timeout=60,
        what=f"the queue trigger to create the {len(fields)} customers and write the numbers back",
    )
    assert_one_customer_each(product, fields)


@pytest.mark.parametrize("product", BACK_ENDS, indirect=True)
def test_a_replayed_message_even_sent_concurrently_creates_no_second_customer(product):
    fields = accounts(10, series=2)
    seed(product, fields)
    body = outbound_message(fields)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post(product, body), range(4)))
    assert all(acknowledged(answer) for answer in answers)
    product.wait_until(lambda: numbers_recorded(product, fields), timeout=60, what="the numbers to be recorded")
    assert acknowledged(post(product, body))  # a day later, Salesforce's retry of a lost ack
    product.wait_until(product.queues_empty, timeout=30, what="the queue to drain")
    assert_one_customer_each(product, fields)


def test_an_older_notification_arriving_after_a_newer_one_does_not_overwrite_it(product):
    now = datetime.now(UTC)
    [newer] = accounts(1, series=3, Name="Push Neu GmbH", LastModifiedDate=salesforce_datetime(now))
    before = salesforce_datetime(now - timedelta(minutes=10))  # both system fields of the earlier save
    older = dict(newer, Name="Push Alt GmbH", LastModifiedDate=before, SystemModstamp=before)
    seed(product, [newer])
    assert acknowledged(post(product, outbound_message([newer])))
    product.wait_until(lambda: numbers_recorded(product, [newer]), timeout=30, what="the newer change to be created")
    assert acknowledged(post(product, outbound_message([older])))
    product.wait_until(product.queues_empty, timeout=30, what="the queue to drain")
    assert len(product.sap_customers_of({"name": "Push Neu GmbH"})) == 1
    assert product.sap_customers_of({"name": "Push Alt GmbH"}) == []


def test_a_message_from_another_organization_is_refused_and_nothing_is_recorded(product):
    fields = accounts(2, series=4)
    response = post(product, outbound_message(fields, organization_id=OTHER_ORGANIZATION_ID))
    assert response.status_code == 403
    assert "OrganizationId" in ElementTree.fromstring(response.content).findtext(f"{SOAP}Body/{SOAP}Fault/faultstring")
    assert all(
        requests.get(f"{product.base_url}/api/customers/{a['Id']}", timeout=30).status_code == 404 for a in fields
    )
    assert product.queues_empty()


def test_a_malformed_body_is_a_clear_400_and_salesforces_resend_is_accepted_whole(product):
    fields = accounts(3, series=5)
    seed(product, fields)
    body = outbound_message(fields)
    cut = post(product, body[: len(body) // 2])  # the connection broke mid-message
    assert cut.status_code == 400
    fault = ElementTree.fromstring(cut.content).find(f"{SOAP}Body/{SOAP}Fault")
    assert fault.findtext("faultcode") == "soapenv:Client"
    assert "not well-formed XML" in fault.findtext("faultstring")
    assert all(
        requests.get(f"{product.base_url}/api/customers/{a['Id']}", timeout=30).status_code == 404 for a in fields
    )
    assert acknowledged(post(product, body))  # Salesforce sends the message again, whole
    product.wait_until(lambda: numbers_recorded(product, fields), timeout=30, what="the resend to be created")
    assert_one_customer_each(product, fields)


@pytest.mark.parametrize("product", BACK_ENDS, indirect=True)
def test_with_sap_down_the_message_is_acknowledged_at_once_and_the_customers_follow(product):
    fields = accounts(5, series=6)
    seed(product, fields)
    product.sap.faults.down = True
    response = post(product, outbound_message(fields))
    assert acknowledged(response)  # SAP is never called while Salesforce waits for the answer
    assert response.elapsed.total_seconds() < 10
    product.wait_until(
        lambda: all(product.status(a["Id"])["attempts"] >= 1 for a in fields),
        timeout=30,
        what="the queue trigger to find SAP down and queue each account again",
    )
    assert all(product.status(a["Id"])["status"] in ("queued", "pending") for a in fields)
    assert all(product.sap_customers_of({"name": a["Name"], "accountId": a["Id"]}) == [] for a in fields)
    product.sap.faults.down = False
    product.wait_until(lambda: numbers_recorded(product, fields), timeout=60, what="the customers after the outage")
    assert_one_customer_each(product, fields)


def test_with_the_older_picklist_either_customer_value_creates_and_a_prospect_does_not(older_picklist_product):
    product = older_picklist_product
    [direct] = accounts(1, series=7, Type="Customer - Direct")
    [channel] = accounts(1, series=8, Type="Customer - Channel")
    [prospect] = accounts(1, series=9, Type="Prospect")
    [plain] = accounts(1, series=10)  # Type Customer: not one of this org's customer types
    fields = [direct, channel, prospect, plain]
    seed(product, fields)
    assert acknowledged(post(product, outbound_message(fields)))
    product.wait_until(
        lambda: numbers_recorded(product, [direct, channel]),
        timeout=60,
        what="the two customers of the org's customer types to be created and written back",
    )
    assert_one_customer_each(product, [direct, channel])
    for other in (prospect, plain):
        assert product.sap_customers_of({"name": other["Name"]}) == []
        assert product.salesforce.account(other["Id"])["SAP_Customer_Number__c"] is None


LONG_STREET = "Lange Strasse mit sehr vielen Zeichen 123"  # 41 characters: SAP's STREET holds 35


def test_a_street_shortened_on_the_push_path_is_warned_in_the_status_the_ledger_and_the_account(product):
    [account] = accounts(1, series=8, BillingStreet=LONG_STREET)
    seed(product, [account])
    assert acknowledged(post(product, outbound_message([account])))
    product.wait_until(lambda: numbers_recorded(product, [account]), timeout=30, what="the customer to be created")

    [customer] = product.sap_customers_of({"name": account["Name"]})
    assert customer.address["STREET"] == "Lange Str. mit sehr vielen Zeichen"  # the house number did not fit
    expected = (
        "street shortened to 35 characters for SAP (STREET): street types abbreviated and, if still too "
        "long, cut after the last whole word that fits"
    )
    # The status API (GET /api/customers/{id}): field and rule.
    assert product.status(account["Id"])["warnings"] == [{"field": "street", "message": expected}]
    # The ledger's own record of the attempt.
    stored = product.ledger.get_entity(account["Id"], "ledger")
    assert stored["Status"] == "created" and '"field": "street"' in stored["Warnings"]
    # The account in Salesforce: its own field, beside Synced and the number.
    written = product.salesforce.account(account["Id"])
    assert written["SAP_Sync_Warnings__c"] == expected and written["SAP_Sync_Status__c"] == "Synced"
    # Never the value, in any of the three.
    for text in (str(product.status(account["Id"])), str(stored), str(written.get("SAP_Sync_Warnings__c"))):
        assert "Lange" not in text and "Zeichen" not in text
