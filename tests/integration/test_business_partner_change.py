"""The Business Partner gateway's change path over real HTTP on the S/4 double: If-Match from a fresh read on
every PATCH, a stale ETag read again once, a phone created when the address has none, a change stopped half
way says its outcome is unknown, and the metadata check's updatable flags."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from s4_simulator.faults import FaultPlan
from shared.core.business_partner_facts import BUSINESS_PARTNER_ADDRESS
from shared.core.change_models import CustomerChange
from shared.core.mapping import map_customer_request
from shared.core.salesforce_id import checksum_suffix
from shared.core.validation import parse_customer_request
from shared.sap.business_partner import BusinessPartnerGateway
from shared.sap.errors import SapBusinessRejection, SapInterfaceMismatch, SapTransientError
from shared.settings import load_settings
from tests.support.s4 import ScriptedS4Simulator, business_partner_gateway
from tests.support.samples import sample


class StaleETags(ScriptedS4Simulator):
    """The double, where another writer changes the entity between the gateway's read and its PATCH
    `stale_patches` times (the PATCH arrives with an ETag that is no longer current), recording every PATCH's
    If-Match."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.stale_patches = 0
        self.if_match: list[str | None] = []

    def exchange(self, method: str, target: str, headers: dict[str, str], body: bytes):  # type: ignore[override]
        if method == "PATCH":
            self.if_match.append(headers.get("if-match"))
            if self.stale_patches > 0:
                self.stale_patches -= 1
                headers = {**headers, "if-match": 'W/"an-older-version"'}
        return super().exchange(method, target, headers, body)


@pytest.fixture
def double() -> Iterator[StaleETags]:
    with StaleETags() as running:
        yield running


def created(gateway: BusinessPartnerGateway, **changes: str) -> str:
    request = parse_customer_request({**sample("german-account"), **changes})
    organization = load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization
    creation = map_customer_request(request, organization, gateway.check_interface().company_data_lengths)
    return gateway.create_customer(creation).customer_number


def change(number: str, **company_data: str) -> CustomerChange:
    return CustomerChange("001Aj00000AbCdEIAV", number, company_data, "1000", "10", "00", "2026-12-07T10:00:00Z")


def test_every_patch_carries_the_etag_of_a_fresh_read(double):
    gateway = business_partner_gateway(double)
    number = created(gateway)
    gateway.change_customer(change(number, NAME="Neu GmbH", STREET="Neue Str. 7"))
    assert len(double.if_match) == 2 and all(tag and tag != "*" for tag in double.if_match)
    held = gateway.read_customer(number).company_data
    assert (held["NAME"], held["STREET"]) == ("Neu GmbH", "Neue Str. 7")


def test_a_stale_etag_is_read_again_and_sent_once_more(double):
    gateway = business_partner_gateway(double)
    number = created(gateway)
    double.stale_patches = 1
    gateway.change_customer(change(number, CITY="Augsburg"))
    assert gateway.read_customer(number).company_data["CITY"] == "Augsburg" and len(double.if_match) == 2


def test_a_second_stale_etag_is_transient_and_nothing_changed(double):
    gateway = business_partner_gateway(double)
    number = created(gateway)
    double.stale_patches = 2
    with pytest.raises(SapTransientError, match="412"):
        gateway.change_customer(change(number, CITY="Augsburg"))
    assert gateway.read_customer(number).company_data["CITY"] == "München"


def test_a_phone_is_created_under_the_address_when_it_has_none(double):
    gateway = business_partner_gateway(double)
    number = created(gateway, phone="")
    assert gateway.read_customer(number).company_data["TEL1_NUMBR"] == ""
    gateway.change_customer(change(number, TEL1_NUMBR="+49 89 7654321"))
    assert gateway.read_customer(number).company_data["TEL1_NUMBR"] == "+49 89 7654321"


def test_a_change_refused_after_part_of_it_was_applied_says_its_outcome_is_unknown(double):
    gateway = business_partner_gateway(double)
    number = created(gateway)
    with pytest.raises(SapBusinessRejection) as raised:
        gateway.change_customer(change(number, NAME="Neu GmbH", COUNTRY="", COUNTRYISO=""))
    assert raised.value.outcome_unknown  # the names were changed before the address was refused
    assert raised.value.message.text == "An address needs a Country"


def test_a_property_the_change_sets_that_is_not_updatable_stops_the_gateway_naming_it(double):
    marker = b'Name="StreetName"'
    double.metadata_change = lambda document: document.replace(marker, marker + b' sap:updatable="false"', 1)
    with pytest.raises(SapInterfaceMismatch, match=f"{BUSINESS_PARTNER_ADDRESS.name}.StreetName"):
        business_partner_gateway(double).check_interface()


def test_changes_sent_again_until_answered_through_cut_lines_end_with_sap_holding_the_newest_values(double):
    """10 customers x 3 changes each, the line cut before requests (10%) and after committed PATCHes/POSTs (20%),
    every change sent again until it is answered (as the use case's retry does): each partner ends with its newest
    values, whatever part of an earlier change got through."""
    gateway = business_partner_gateway(double)
    numbers = [
        created(gateway, accountId=f"001Dn00000Ab{index:03d}" + checksum_suffix(f"001Dn00000Ab{index:03d}"))
        for index in range(10)
    ]
    double.faults = FaultPlan.parse("cut_before=0.1,cut_after_commit=0.2,seed=26")
    sends = 0
    for round_ in range(3):
        for index, number in enumerate(numbers):
            wanted = change(
                number,
                NAME=f"Kunde {index} v{round_}",
                STREET=f"Ringstr. {round_ + 1}",
                CITY=("Augsburg", "Nürnberg", "Passau")[round_],
            )
            for _ in range(30):
                sends += 1
                try:
                    gateway.change_customer(wanted)
                    break
                except SapTransientError:
                    continue  # transient or outcome unknown: the retry sends the same change again
            else:
                pytest.fail(f"change {round_} of customer {number} never answered")
    double.faults = FaultPlan()
    assert sends > 30  # the faults fired: some changes were sent more than once
    for index, number in enumerate(numbers):
        held = gateway.read_customer(number).company_data
        assert (held["NAME"], held["STREET"], held["CITY"]) == (f"Kunde {index} v2", "Ringstr. 3", "Passau")
