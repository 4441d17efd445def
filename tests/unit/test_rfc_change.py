"""The change path over RFC (issue 26): the X flags the gateway builds (a table), and RfcSapGateway's change and
read against the simulated BAPI_CUSTOMER_CHANGEFROMDATA1 / GETDETAIL1: only flagged fields change, nothing
persists without the commit, SAP's rejections, and lines cut before and after the change and the commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

import sap_simulator as simulator
from sap_simulator import SimulatedSap
from sap_simulator.interfaces import STRUCTURES
from shared.core.change_models import CustomerChange
from shared.sap import (
    SapBusinessRejection,
    SapInterfaceMismatch,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.rfc import RfcSapGateway
from shared.sap.rfc_change import change_parameters, company_data_x
from tests.support.sap import (
    GERMAN_ADDRESS,
    GERMAN_PHONE,
    customer_in_sales_area,
    fresh_system_with,
    simulated_gateway,
)

CUSTOMER = "0000100001"
ADDRESS = {**GERMAN_ADDRESS, "TEL1_NUMBR": GERMAN_PHONE}


@pytest.fixture
def system() -> Iterator[SimulatedSap]:
    customer = customer_in_sales_area(CUSTOMER, ADDRESS, general={"ENTERED_BY": "RFC_USER"}, company_codes={"1000": {}})
    with fresh_system_with(customer) as fresh:
        yield fresh


@pytest.fixture
def gateway(system: SimulatedSap) -> RfcSapGateway:
    gateway = simulated_gateway()
    gateway.check_interface()
    return gateway


def change(company_data: dict[str, str], customer: str = CUSTOMER, sales_organization: str = "1000") -> CustomerChange:
    return CustomerChange(
        "001Aj00000AbCdEIAV", customer, company_data, sales_organization, "10", "00", "2026-12-07T10:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("company_data", "flags"),
    [
        ({"STREET": "Neue Str. 1"}, {"STREET": "X"}),
        (
            {"STREET": "Neue Str. 1", "POSTL_COD1": "10115", "CITY": "Berlin"},
            {"STREET": "X", "POSTL_COD1": "X", "CITY": "X"},
        ),
        ({"TEL1_NUMBR": ""}, {"TEL1_NUMBR": "X"}),  # a cleared value is a change too
        ({}, {}),
    ],
)
def test_the_x_structure_flags_exactly_the_fields_the_change_names(company_data, flags):
    assert company_data_x(company_data) == flags


def test_the_change_parameters_name_the_sales_area_and_send_personal_data_initial():
    parameters = change_parameters(change({"STREET": "Neue Str. 1"}), CUSTOMER)
    assert parameters == {
        "CUSTOMERNO": CUSTOMER,
        "PI_PERSONALDATA": {},
        "PI_PERSONALDATAX": {},
        "PI_COMPANYDATA": {"STREET": "Neue Str. 1"},
        "PI_COMPANYDATAX": {"STREET": "X"},
        "PI_SALESORG": "1000",
        "PI_DISTR_CHAN": "10",
        "PI_DIVISION": "00",
    }


def test_only_the_flagged_fields_change_and_the_change_is_committed(gateway, system):
    changed = gateway.change_customer(change({"STREET": "Neue Str. 1", "POSTL_COD1": "10115", "CITY": "Berlin"}))

    assert changed.customer_number == CUSTOMER
    record = system.customer(CUSTOMER)
    assert record.address == {**ADDRESS, "STREET": "Neue Str. 1", "POSTL_COD1": "10115", "CITY": "Berlin"}
    assert system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"] == 1 and system.calls["BAPI_TRANSACTION_COMMIT"] == 1
    assert system.counters["committed_changes"] == 1


def test_values_sent_without_their_flag_leave_sap_as_it_was(system):
    session = system.open_session({"user": "RFC_USER"})
    company = {**ADDRESS, "NAME": "Somebody Else", "STREET": "Neue Str. 1"}
    answer = system.call(
        session,
        "BAPI_CUSTOMER_CHANGEFROMDATA1",
        {
            "CUSTOMERNO": CUSTOMER,
            "PI_PERSONALDATA": {},
            "PI_COMPANYDATA": company,
            "PI_COMPANYDATAX": {"STREET": "X"},
            "PI_SALESORG": "1000",
        },
    )
    assert answer["RETURN"]["TYPE"] == ""
    system.call(session, "BAPI_TRANSACTION_COMMIT", {"WAIT": "X"})
    assert system.customer(CUSTOMER).address == {**ADDRESS, "STREET": "Neue Str. 1"}


def test_nothing_persists_without_the_commit(system):
    session = system.open_session({"user": "RFC_USER"})
    system.call(
        session,
        "BAPI_CUSTOMER_CHANGEFROMDATA1",
        {
            "CUSTOMERNO": CUSTOMER,
            "PI_PERSONALDATA": {},
            "PI_COMPANYDATA": {"STREET": "Neue Str. 1"},
            "PI_COMPANYDATAX": {"STREET": "X"},
            "PI_SALESORG": "1000",
        },
    )
    system.close_session(session)
    assert system.customer(CUSTOMER).address == ADDRESS


def test_a_cleared_field_is_gone_from_the_record(gateway, system):
    gateway.change_customer(change({"TEL1_NUMBR": ""}))
    assert "TEL1_NUMBR" not in system.customer(CUSTOMER).address


def test_a_changed_language_key_brings_its_iso_code(gateway, system):
    gateway.change_customer(change({"LANGU": "E"}))
    address = system.customer(CUSTOMER).address
    assert (address["LANGU"], address["LANGU_ISO"]) == ("E", "EN")


@pytest.mark.parametrize(
    ("the_change", "message"),
    [
        (change({"STREET": "x"}, customer="0000999999"), ("E", "F2", "502")),  # unknown customer
        (change({"STREET": "x"}, sales_organization="3000"), ("E", "F2", "156")),  # not in that sales area
        (change({"POSTL_COD1": "1234"}), ("E", "AM", "215")),  # a German postal code has 5 digits
        (change({"REGION": "ZZ"}), ("E", "AM", "228")),
    ],
)
def test_a_rejected_change_carries_sap_message_and_changes_nothing(gateway, system, the_change, message):
    with pytest.raises(SapBusinessRejection) as raised:
        gateway.change_customer(the_change)
    said = raised.value.message
    assert (said.type, said.id, said.number) == message and said.text
    assert not raised.value.outcome_unknown
    assert system.customer(CUSTOMER).address == ADDRESS
    assert system.calls["BAPI_TRANSACTION_COMMIT"] == 0 and system.counters["rollbacks"] == 1


def test_an_empty_change_calls_nothing(gateway, system):
    assert gateway.change_customer(change({})).customer_number == CUSTOMER
    assert system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"] == 0


def test_a_field_pi_companydata_lacks_is_our_error_and_nothing_is_sent(gateway, system):
    with pytest.raises(SapPermanentError, match="STREET_NAME"):
        gateway.change_customer(change({"STREET_NAME": "x"}))
    assert system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"] == 0


def test_sap_down_before_the_change_is_transient(gateway, system):
    system.faults.down = True
    with pytest.raises(SapTransientError) as raised:
        gateway.change_customer(change({"STREET": "Neue Str. 1"}))
    assert not raised.value.outcome_unknown


@pytest.mark.parametrize(
    ("fault", "applied_before_resend"),
    [
        ("communication_after_change", False),  # the session and its uncommitted change are gone
        ("communication_after_commit", True),  # committed, the answer lost
    ],
)
def test_a_line_cut_after_the_change_or_the_commit_is_unknown_and_the_resend_ends_applied(
    gateway, system, fault, applied_before_resend
):
    wanted = change({"STREET": "Neue Str. 1"})
    system.faults.arm(fault)
    with pytest.raises(SapOutcomeUnknown):
        gateway.change_customer(wanted)
    assert (system.customer(CUSTOMER).address["STREET"] == "Neue Str. 1") is applied_before_resend

    gateway.change_customer(wanted)

    assert system.customer(CUSTOMER).address == {**ADDRESS, "STREET": "Neue Str. 1"}


def test_a_failed_commit_is_transient_and_nothing_changed(gateway, system):
    system.faults.arm("commit_failure")
    with pytest.raises(SapTransientError) as raised:
        gateway.change_customer(change({"STREET": "Neue Str. 1"}))
    assert not raised.value.outcome_unknown and system.customer(CUSTOMER).address == ADDRESS


def test_the_read_answers_what_sap_holds_after_a_change(gateway, system):
    gateway.change_customer(change({"STREET": "Neue Str. 1"}))
    snapshot = gateway.read_customer("100001")  # KUNNR padded as SAP holds it
    assert snapshot.customer_number == CUSTOMER
    assert {name: snapshot.company_data[name] for name in ADDRESS} == {**ADDRESS, "STREET": "Neue Str. 1"}
    assert snapshot.company_data["HOUSE_NO"] == ""
    assert system.calls["BAPI_CUSTOMER_GETDETAIL1"] == 1


def test_reading_an_unknown_customer_is_sap_rejection(gateway, system):
    with pytest.raises(SapBusinessRejection) as raised:
        gateway.read_customer("0000999999")
    assert (raised.value.message.id, raised.value.message.number) == ("F2", "502")


def test_a_release_without_pi_companydatax_is_an_interface_mismatch(system):
    structures = dict(STRUCTURES)
    release = SimulatedSap(structures=structures)
    interfaces = simulator.interfaces.INTERFACES
    changed = {**interfaces["BAPI_CUSTOMER_CHANGEFROMDATA1"]}
    del changed["PI_COMPANYDATAX"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(interfaces, "BAPI_CUSTOMER_CHANGEFROMDATA1", changed)
        with simulator.use_system(release), pytest.raises(SapInterfaceMismatch, match="PI_COMPANYDATAX"):
            simulated_gateway().check_interface()


def test_a_release_whose_getdetail1_lacks_a_field_the_change_sends_is_an_interface_mismatch(system):
    structures = {**STRUCTURES, "BAPIKNA106": {k: v for k, v in STRUCTURES["BAPIKNA106"].items() if k != "REGION"}}
    structures["BAPIKNA106X"] = dict.fromkeys(structures["BAPIKNA106"], ("C", 1))
    with simulator.use_system(SimulatedSap(structures=structures)), pytest.raises(SapInterfaceMismatch, match="REGION"):
        simulated_gateway().check_interface()


def test_the_same_change_twice_leaves_sap_as_once(gateway, system):
    wanted = change({"STREET": "Neue Str. 1"})
    gateway.change_customer(wanted)
    before = dataclasses.replace(system.customer(CUSTOMER))
    gateway.change_customer(wanted)
    assert system.customer(CUSTOMER) == before


def test_the_simulated_change_bapis_have_the_published_parameters_and_x_structure():
    # stechno.net's pages of CHANGEFROMDATA1 and GETDETAIL1; BAPIKNA106X: tactusoft-svn Bapikna106X.java.
    interfaces = simulator.interfaces.INTERFACES
    change_bapi = interfaces["BAPI_CUSTOMER_CHANGEFROMDATA1"]
    assert set(change_bapi) == {
        "CUSTOMERNO",
        "PI_COMPANYDATA",
        "PI_COMPANYDATAX",
        "PI_DISTR_CHAN",
        "PI_DIVISION",
        "PI_OPT_COMPANYDATA",
        "PI_OPT_COMPANYDATAX",
        "PI_OPT_PERSONALDATA",
        "PI_OPT_PERSONALDATAX",
        "PI_PERSONALDATA",
        "PI_PERSONALDATAX",
        "PI_SALESORG",
        "RETURN",
    }
    required = {
        name for name, parameter in change_bapi.items() if parameter.direction == "IMPORT" and not parameter.optional
    }
    assert required == {"CUSTOMERNO", "PI_PERSONALDATA", "PI_SALESORG"}
    assert change_bapi["RETURN"].structure == "BAPIRETURN1"
    assert list(STRUCTURES["BAPIKNA106X"]) == list(STRUCTURES["BAPIKNA106"])  # one flag per field, same order
    assert sum(length for _, length in STRUCTURES["BAPIKNA106X"].values()) == 33
    assert sum(length for _, length in STRUCTURES["BAPIKNA101_1X"].values()) == 30
    assert sum(length for _, length in STRUCTURES["BAPIKNA105X"].values()) == 8
    read_bapi = interfaces["BAPI_CUSTOMER_GETDETAIL1"]
    assert read_bapi["PE_COMPANYDATA"].structure == "BAPIKNA106" and not read_bapi["PI_SALESORG"].optional


def test_the_traced_gateway_times_a_change_and_a_read_under_their_own_names(gateway, system):
    from shared.instrumented import TracedSapGateway
    from shared.telemetry.port import NoMetrics

    class Recorded(NoMetrics):
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        def sap_call(self, milliseconds: float, operation: str, result: str) -> None:
            self.calls.append((operation, result))

    metrics = Recorded()
    traced = TracedSapGateway(gateway, metrics, "simulator")
    traced.change_customer(change({"STREET": "Neue Str. 1"}))
    traced.read_customer(CUSTOMER)
    with pytest.raises(SapBusinessRejection):
        traced.change_customer(change({"STREET": "x"}, customer="0000999999"))
    assert metrics.calls == [("change_customer", "changed"), ("read_customer", "read"), ("change_customer", "rejected")]
