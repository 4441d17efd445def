"""The Business Partner gateway (shared/sap/business_partner*.py) over real HTTP against the S/4 double
(s4_simulator/): what the contract suite does not ask. An outcome-unknown create never becomes two Business
Partners wherever the line breaks; another release's `$metadata` stops it with one configuration error naming
the property; a value over a MaxLength is shortened with a warning, never sent long; the CSRF token is fetched
again when SAP refuses it; a wrong logon is a configuration error; a partner found without its customer data
is completed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from s4_simulator.model import Customizing
from shared.core.business_partner_facts import CUSTOMER_COMPANY, CUSTOMER_SALES_AREA
from shared.core.mapping import map_customer_request
from shared.core.models import CustomerCreation
from shared.core.salesforce_id import checksum_suffix
from shared.core.validation import parse_customer_request
from shared.sap.business_partner import BusinessPartnerGateway
from shared.sap.business_partner_http import ODataConnection
from shared.sap.errors import (
    SapBusinessRejection,
    SapConfigurationError,
    SapInterfaceMismatch,
    SapOutcomeUnknown,
    SapTransientError,
)
from shared.settings import load_settings
from shared.usecases.health import CheckStatus, check_sap
from tests.support.s4 import S4System, ScriptedS4Simulator, business_partner_gateway
from tests.support.samples import sample

ORGANIZATION = load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization


def account_id(number: int) -> str:
    """The 18-character Id of the account numbered `number` (its checksum suffix computed)."""
    id15 = f"001Dn00000Ab{number:03d}"
    return id15 + checksum_suffix(id15)


def account(number: int, **changes: str) -> dict[str, str]:
    """A valid request for the account numbered `number`."""
    return {**sample("german-account"), "accountId": account_id(number), **changes}


def mapped(gateway, payload: dict[str, str]) -> CustomerCreation:
    """The command as the use cases make it: mapped with the lengths the gateway reported."""
    lengths = gateway.check_interface().company_data_lengths
    return map_customer_request(parse_customer_request(payload), ORGANIZATION, lengths)


def customer_data(double: ScriptedS4Simulator, customer: str) -> tuple[list[dict], list[dict]]:
    with double.database.transaction() as tx:
        areas = [row.record for row in tx.all(CUSTOMER_SALES_AREA.name) if row.record["Customer"] == customer]
        companies = [row.record for row in tx.all(CUSTOMER_COMPANY.name) if row.record["Customer"] == customer]
    return areas, companies


@pytest.mark.parametrize("cut_after_post", [1, 2, 3])
def test_a_create_cut_after_any_of_its_posts_ends_as_one_complete_partner_on_retry(double, cut_after_post):
    gateway = business_partner_gateway(double)
    first = mapped(gateway, account(1))
    double.cut_after_posts = {cut_after_post}  # 1: the partner, 2: its sales area, 3: its company code data

    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(first)
    retried = gateway.create_customer(dataclasses.replace(first, search_since=datetime.now(UTC)))

    [customer] = S4System(double).created_customers()
    assert retried.adopted and retried.customer_number == customer.number
    assert customer.external_id == account_id(1).upper()
    areas, companies = customer_data(double, customer.number)
    assert len(areas) == 1 and len(companies) == 1
    assert companies[0]["ReconciliationAccount"] == "140000"  # copied from reference customer 1000


def test_many_outcome_unknown_creates_and_their_retries_make_exactly_one_partner_each(double):
    gateway = business_partner_gateway(double, pool_size=2)
    double.faults.probabilities["cut_after_commit"] = 0.3
    double.faults.seed = 7
    accounts = 20
    for number in range(accounts):
        creation = mapped(gateway, account(number))
        for _attempt in range(10):
            try:
                gateway.create_customer(creation)
                break
            except SapTransientError as error:
                if error.outcome_unknown:
                    creation = dataclasses.replace(creation, search_since=datetime.now(UTC))

    customers = S4System(double).created_customers()
    assert double.faults.fired.get("cut_after_commit", 0) > 0
    assert sorted(c.external_id for c in customers) == sorted(account_id(n).upper() for n in range(accounts))


def _without_property(set_name: str, name: str) -> Callable[[bytes], bytes]:
    def change(document: bytes) -> bytes:
        root = ElementTree.fromstring(document)
        for entity_type in root.iter():
            if entity_type.tag.endswith("EntityType") and entity_type.get("Name") == f"{set_name}Type":
                entity_type.remove(next(p for p in entity_type if p.get("Name") == name))
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    return change


def _narrowed(set_name: str, name: str, length: int) -> Callable[[bytes], bytes]:
    def change(document: bytes) -> bytes:
        root = ElementTree.fromstring(document)
        for entity_type in root.iter():
            if entity_type.tag.endswith("EntityType") and entity_type.get("Name") == f"{set_name}Type":
                next(p for p in entity_type if p.get("Name") == name).set("MaxLength", str(length))
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    return change


def test_a_property_missing_from_the_live_metadata_stops_every_create_with_one_error_naming_it(double):
    double.metadata_change = _without_property("A_BusinessPartnerAddress", "HouseNumber")
    gateway = business_partner_gateway(double)
    creation = map_customer_request(parse_customer_request(account(1)), ORGANIZATION)

    for call in (gateway.check_interface, lambda: gateway.create_customer(creation)):
        with pytest.raises(SapInterfaceMismatch) as raised:
            call()
        assert "A_BusinessPartnerAddress has no property HouseNumber" in raised.value.detail
    assert double.posts == 0 and S4System(double).created_customers() == []


def test_a_value_over_the_live_max_length_is_shortened_with_a_warning_and_never_sent_long(double):
    double.metadata_change = _narrowed("A_BusinessPartnerAddress", "CityName", 12)
    gateway = business_partner_gateway(double)

    creation = mapped(gateway, account(1, city="Garching bei München"))
    created = gateway.create_customer(creation)

    assert [warning.field for warning in creation.warnings] == ["city"]
    with double.database.transaction() as tx:
        [address] = [
            row.record
            for row in tx.all("A_BusinessPartnerAddress")
            if row.record.get("CityName", "").startswith("Garching")
        ]
    assert address["CityName"] == "Garching bei" and created.customer_number


def test_a_command_mapped_before_the_lengths_were_known_is_refused_for_a_new_mapping_not_sent(double):
    double.metadata_change = _narrowed("A_BusinessPartnerAddress", "CityName", 12)
    gateway = business_partner_gateway(double)
    unmapped = map_customer_request(parse_customer_request(account(1, city="Garching bei München")), ORGANIZATION)

    with pytest.raises(SapTransientError, match=r"A_BusinessPartnerAddress\.CityName longer than"):
        gateway.create_customer(unmapped)
    assert double.posts == 0


def test_an_expired_csrf_token_is_fetched_again_once_and_the_create_goes_through(double):
    gateway = business_partner_gateway(double, pool_size=1)  # the session (cookies, token) is kept between units
    gateway.create_customer(mapped(gateway, account(1)))
    double.expire_sessions()

    created = gateway.create_customer(mapped(gateway, account(2)))

    assert created.customer_number and len(S4System(double).created_customers()) == 2


def test_a_wrong_logon_is_a_configuration_error_and_nothing_is_created(double):
    user, _ = double.credentials
    gateway = business_partner_gateway(double)
    gateway._connection = ODataConnection(double.service_url, user=user, password="wrong", timeout_seconds=5)

    with pytest.raises(SapConfigurationError, match="HTTP 401"):
        gateway.ping()
    assert S4System(double).created_customers() == []


def test_sap_down_before_the_post_is_transient_with_the_outcome_known(double):
    gateway = business_partner_gateway(double)
    creation = mapped(gateway, account(1))
    double.faults.down = True

    with pytest.raises(SapTransientError) as raised:
        gateway.create_customer(creation)
    assert not raised.value.outcome_unknown and double.posts == 0


def test_no_answer_in_time_after_the_post_is_an_unknown_outcome_that_the_retry_adopts(double):
    user, password = double.credentials
    gateway = business_partner_gateway(double)
    creation = mapped(gateway, account(1))
    impatient = BusinessPartnerGateway(
        ODataConnection(double.service_url, user=user, password=password, timeout_seconds=1), ORGANIZATION, "BP02"
    )
    double.faults.stall_ms = 3000
    double.faults.arm("stall_after_commit")  # the partner is committed, the answer never comes

    with pytest.raises(SapOutcomeUnknown):
        impatient.create_customer(creation)
    adopted = gateway.create_customer(dataclasses.replace(creation, search_since=datetime.now(UTC)))

    [customer] = S4System(double).created_customers()
    assert adopted.adopted and adopted.customer_number == customer.number


def test_the_health_check_pings_the_service_and_names_a_metadata_mismatch(double):
    assert check_sap(business_partner_gateway(double)).status is CheckStatus.OK

    double.metadata_change = _without_property("A_CustomerCompany", "ReconciliationAccount")
    health = check_sap(business_partner_gateway(double))

    assert health.status is CheckStatus.FAILED and health.error == "SapInterfaceMismatch"


def test_sales_area_data_refused_after_the_partner_was_created_is_a_rejection_with_the_outcome_unknown():
    # The double's customising lacks sales area 1000/10/00 (the reference customer's data is seeded anyway).
    with ScriptedS4Simulator(customizing=Customizing(sales_areas={("3000", "10", "00"): "3000"})) as double:
        gateway = business_partner_gateway(double)
        creation = mapped(gateway, account(1))

        with pytest.raises(SapBusinessRejection) as raised:
            gateway.create_customer(creation)

        assert raised.value.outcome_unknown  # the partner stays, and the ledger is told SAP may hold it
        [customer] = S4System(double).created_customers()
        assert customer.external_id == account_id(1).upper()
        double.service.customizing.sales_areas[("1000", "10", "00")] = "1000"  # customising fixed, sent again
        adopted = gateway.create_customer(creation)
        assert adopted.adopted and adopted.customer_number == customer.number
        assert [len(data) for data in customer_data(double, customer.number)] == [1, 1]
