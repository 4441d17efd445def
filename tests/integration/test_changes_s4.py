"""Issue 26's change path on the other back end: the same use cases over the Business Partner gateway and the
S/4 double over real HTTP (PATCH A_BusinessPartnerAddress with If-Match). A changed street reaches the partner's
address alone; B, A, B leaves B. What the double holds is read from its own database, not through the gateway."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import bootstrap
from shared.bootstrap import EntryPoint
from shared.core.business_partner_facts import BUSINESS_PARTNER_ADDRESS
from shared.core.change_request import parse_change_request
from shared.core.validation import parse_customer_request
from shared.settings import load_settings
from shared.usecases import Outcome, Services, create_customer
from shared.usecases.change import ChangeOutcome, change_customer
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue
from tests.support.s4 import ScriptedS4Simulator, business_partner_gateway
from tests.support.samples import sample


@pytest.fixture
def services(double: ScriptedS4Simulator) -> Services:
    return bootstrap.bootstrap(
        EntryPoint.FUNCTION_APP,
        load_settings({"SAP_TRANSPORT": "simulator"}),
        sap=business_partner_gateway(double),
        ledger=InMemoryLedger(),
        retry_queue=InMemoryRetryQueue(),
        writeback=None,
        instrument=False,
    )


def addresses(double: ScriptedS4Simulator, partner: str) -> list[dict]:
    with double.database.transaction() as tx:
        return [
            dict(row.record)
            for row in tx.all(BUSINESS_PARTNER_ADDRESS.name)
            if str(row.record.get("BusinessPartner")) == partner
        ]


def partner_of(services: Services, account_id: str, double: ScriptedS4Simulator) -> str:
    from tests.support.s4 import S4System

    [customer] = S4System(double).customers_of_account(account_id)
    return customer.partner


def change(minute: int, **values: str):
    stamp = datetime(2026, 12, 7, 14, minute, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    return parse_change_request({**sample("german-account"), **values, "systemModstamp": stamp})


def test_a_changed_street_reaches_the_business_partner_address_alone(services, double):
    created = create_customer(parse_customer_request(sample("german-account")), services)
    assert created.outcome is Outcome.CREATED
    partner = partner_of(services, created.account_id, double)
    [before] = addresses(double, partner)

    result = change_customer(change(1, street="Neue Straße 5"), services)

    assert result.outcome is ChangeOutcome.APPLIED and result.changed_fields == ("street",)
    [after] = addresses(double, partner)
    # the street line as the create splits it (street name and house number), nothing else of the address
    assert {name for name in after if after[name] != before.get(name)} == {"StreetName", "HouseNumber"}
    assert (after["StreetName"], after["HouseNumber"]) == ("Neue Straße", "5")


def test_out_of_order_b_a_b_leaves_b_on_the_business_partner(services, double):
    created = create_customer(parse_customer_request(sample("german-account")), services)
    partner = partner_of(services, created.account_id, double)
    a, b = change(1, city="Augsburg", postalCode="86150"), change(2, city="Bamberg", postalCode="96047")

    outcomes = [change_customer(item, services).outcome for item in (b, a, b)]

    assert outcomes == [ChangeOutcome.APPLIED, ChangeOutcome.STALE, ChangeOutcome.STALE]
    [address] = addresses(double, partner)
    assert (address["CityName"], address["PostalCode"]) == ("Bamberg", "96047")
