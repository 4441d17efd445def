"""SimpleSalesforceAccounts against the fake Salesforce over HTTPS: the reconcile's query follows every
result page (nextRecordsUrl) with simple-salesforce, survives a session that expires between pages, and
reads only Type = Customer accounts without an SAP number."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.fake_salesforce import FakeSalesforce
from shared.salesforce.simple_salesforce import SimpleSalesforceAccounts
from shared.settings import SalesforceAuth


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(query_batch_size=3) as server:
        yield server


def accounts(fake: FakeSalesforce) -> SimpleSalesforceAccounts:
    return SimpleSalesforceAccounts(
        fake.salesforce_settings(SalesforceAuth.CLIENT_CREDENTIALS), session=fake.session(), timeout_seconds=5
    )


def seed(fake: FakeSalesforce, count: int) -> list[str]:
    return [
        fake.add_account(
            f"001Dn{number:010d}",
            Name=f"Kunde {number}",
            Type="Customer",
            BillingCity="Köln",
            BillingCountry="Germany",
            SAP_Company_Code__c="1000",
        )
        for number in range(count)
    ]


def test_every_page_is_followed_and_mapped_to_request_bodies(fake):
    ids = seed(fake, 10)
    fake.add_account("001Dn0000000100", Name="Has one", Type="Customer", SAP_Customer_Number__c="0000100001")
    fake.add_account("001Dn0000000101", Name="Prospect", Type="Prospect")
    pages = list(accounts(fake).customers_without_sap_number())
    assert [len(page.requests) for page in pages] == [3, 3, 3, 1]
    assert {page.total_size for page in pages} == {10}
    bodies = [body for page in pages for body in page.requests]
    assert [body["accountId"] for body in bodies] == ids
    assert bodies[0] == {
        "accountId": ids[0],
        "name": "Kunde 0",
        "street": None,
        "city": "Köln",
        "postalCode": None,
        "state": None,
        "country": "Germany",
        "phone": None,
        "companyCode": "1000",
        "salesOrganization": None,
        "distributionChannel": None,
        "division": None,
        "referenceCustomer": None,
    }


def test_a_session_that_expires_between_pages_is_renewed_and_the_page_asked_again(fake):
    ids = seed(fake, 7)
    pages = accounts(fake).customers_without_sap_number()
    first = next(pages)
    fake.expire_all_sessions()
    rest = list(pages)
    assert [body["accountId"] for page in [first, *rest] for body in page.requests] == ids
    assert fake.token_requests == 2


def test_the_query_options_header_sets_the_batch_size_within_salesforces_bounds():
    with FakeSalesforce() as fake:  # the server's own cap: 2,000
        seed(fake, 450)
        session = fake.session()
        token = session.post(
            f"{fake.base_url}/services/oauth2/token",
            timeout=5,
            data={
                "grant_type": "client_credentials",
                "client_id": fake.credentials.client_id,
                "client_secret": fake.credentials.client_secret,
            },
        ).json()["access_token"]

        def first_page(header: str | None) -> dict:
            headers = {"Authorization": f"Bearer {token}", **({"Sforce-Query-Options": header} if header else {})}
            return session.get(
                f"{fake.base_url}/services/data/v61.0/query",
                headers=headers,
                timeout=5,
                params={"q": "SELECT Id FROM Account"},
            ).json()

        assert len(first_page(None)["records"]) == 450 and first_page(None)["done"] is True
        assert len(first_page("batchSize=200")["records"]) == 200
        assert len(first_page("batchSize=50")["records"]) == 200  # the documented minimum
        page = first_page("batchSize=300")
        assert len(page["records"]) == 300 and page["done"] is False and page["totalSize"] == 450
        rest = session.get(
            f"{fake.base_url}{page['nextRecordsUrl']}", timeout=5, headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert len(rest["records"]) == 150 and rest["done"] is True


def test_with_the_older_picklist_the_query_selects_both_customer_values(fake):
    import dataclasses

    direct = fake.add_account("001Dn0000000201", Name="Direct", Type="Customer - Direct")
    channel = fake.add_account("001Dn0000000202", Name="Channel", Type="Customer - Channel")
    fake.add_account("001Dn0000000203", Name="Prospect", Type="Prospect")
    fake.add_account("001Dn0000000204", Name="Plain", Type="Customer")  # not a customer value in this org
    fake.add_account("001Dn0000000205", Name="Numbered", Type="Customer - Direct", SAP_Customer_Number__c="0000100001")
    settings = dataclasses.replace(
        fake.salesforce_settings(SalesforceAuth.CLIENT_CREDENTIALS),
        customer_types=("Customer - Direct", "Customer - Channel"),
    )
    reader = SimpleSalesforceAccounts(settings, session=fake.session(), timeout_seconds=5)
    bodies = [body for page in reader.customers_without_sap_number() for body in page.requests]
    assert [body["accountId"] for body in bodies] == [direct, channel]
