"""RfcSapGateway (production code) against the simulated SAP: the metadata check, creates, rejections,
the duplicate guard, lost answers, error classes, the driver."""

from __future__ import annotations

import contextlib
import dataclasses
import types
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

import sap_simulator as simulator
import sap_simulator as simulator_module
from sap_simulator import CustomerRecord, SimulatedSap
from sap_simulator.interfaces import STRUCTURES
from shared.core.mapping import map_customer_request
from shared.core.models import CustomerCreation, CustomerRequest
from shared.core.sap_lengths import utf16_units
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapInterfaceMismatch,
    SapNeedsReview,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.rfc import RfcSapGateway
from shared.sap.rfc_guard import MAX_GUARD_CANDIDATES
from shared.sap.rfc_metadata import REQUIRED_INTERFACE
from shared.settings import load_settings
from tests.support.concurrency import run_together
from tests.support.sap import GERMAN_ADDRESS, GERMAN_PHONE

GERMAN_ACCOUNT = "001Aj00000AbCdEIAV"
US_ACCOUNT = "001Aj00000XyZwVIAW"
GERMAN_NAME = GERMAN_ADDRESS["NAME"]
LOGON = {"ashost": "sap.example.com", "sysnr": "00", "client": "800", "user": "rfc_user", "passwd": "S3cr3t!"}
RFC_USER = "RFC_USER"  # the logon user as SAP records it (KNA1-ERNAM)
TODAY = date(2024, 5, 17)
# The first attempt whose outcome is unknown started this morning.
SEARCH_SINCE = datetime(2024, 5, 17, 8, 30, tzinfo=UTC)


def german_creation(account_id: str = GERMAN_ACCOUNT, **changes: str | None) -> CustomerCreation:
    company: dict[str, str | None] = {**GERMAN_ADDRESS, "TEL1_NUMBR": GERMAN_PHONE, **changes}
    return CustomerCreation(
        account_id=account_id,
        parameters={
            "PI_COMPANYDATA": {name: value for name, value in company.items() if value is not None},
            "PI_OPT_COMPANYDATA": {},
            "PI_COPYREFERENCE": {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"},
        },
    )


def us_creation(account_id: str = US_ACCOUNT) -> CustomerCreation:
    return CustomerCreation(
        account_id=account_id,
        parameters={
            "PI_COMPANYDATA": {
                "NAME": "Acme Corporation",
                "CITY": "New York",
                "POSTL_COD1": "10001",
                "STREET": "350 Fifth Avenue",
                "COUNTRY": "US",
                "COUNTRYISO": "US",
                "REGION": "NY",
                "LANGU": "E",
                "LANGU_ISO": "EN",
            },
            "PI_OPT_COMPANYDATA": {},
            "PI_COPYREFERENCE": {"SALESORG": "3000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000003000"},
        },
    )


def with_reference(creation: CustomerCreation, **reference: str) -> CustomerCreation:
    parameters = dict(creation.parameters)
    parameters["PI_COPYREFERENCE"] = {**parameters["PI_COPYREFERENCE"], **reference}
    return CustomerCreation(creation.account_id, parameters)


def searching(creation: CustomerCreation, since: datetime = SEARCH_SINCE) -> CustomerCreation:
    """The creation as the service sends it when an earlier attempt's outcome is unknown."""
    return dataclasses.replace(creation, search_since=since)


def rfc_gateway(**options: object) -> RfcSapGateway:
    return RfcSapGateway(LOGON, rfc_module=simulator, no_match_messages=simulator.NO_MATCH_MESSAGES, **options)  # type: ignore[arg-type]


@pytest.fixture
def system(request: pytest.FixtureRequest) -> Iterator[SimulatedSap]:
    """A fresh simulated SAP; a test parametrized through `both_find_semantics` gets each FIND semantics."""
    find_rows = getattr(request, "param", "and")
    with simulator.use_system(SimulatedSap(today=lambda: TODAY, find_rows=find_rows)) as fresh:
        yield fresh


# Whether BAPI_CUSTOMER_FIND ANDs its selection rows or answers one result per criterion is unverified
# (sap_simulator/functions.py find): the guard's tests run under both.
both_find_semantics = pytest.mark.parametrize("system", ["and", "per_criterion"], indirect=True)


@pytest.fixture
def gateway(system: SimulatedSap) -> RfcSapGateway:
    return rfc_gateway()


@contextlib.contextmanager
def release(structures: dict) -> Iterator[SimulatedSap]:
    """Another SAP release: the same system with other DDIC structures."""
    with simulator.use_system(SimulatedSap(structures=structures, today=lambda: TODAY)) as other:
        yield other


def without(structure: str, field_name: str) -> dict:
    return {**STRUCTURES, structure: {k: v for k, v in STRUCTURES[structure].items() if k != field_name}}


def customers_named(system: SimulatedSap, name: str = GERMAN_NAME) -> list[str]:
    return [record.number for record in system.customers_where("NAME", name)]


def created_numbers(system: SimulatedSap) -> list[str]:
    return [record.number for record in system.created_customers()]


def existing_customer(
    number: str, entered_by: str = RFC_USER, created_on: date = TODAY, **address: str
) -> CustomerRecord:
    """A committed customer with the German creation's address (test setup, outside the number range)."""
    values = {**GERMAN_ADDRESS, **address}
    return CustomerRecord(
        number=number,
        account_group="0001",
        address=values,
        general={"CREAT_DATE": created_on.strftime("%Y%m%d"), "ENTERED_BY": entered_by},
        company_codes={"1000": {"RECONC_ACCT": "140000"}},
        sales_areas={("1000", "10", "00"): {"CURRENCY": "EUR"}},
    )


# --------------------------------------------------------------------------- the metadata check


def test_check_interface_reads_every_required_function_and_reports_lengths_in_utf16_units(gateway, system):
    interface = gateway.check_interface()
    lengths = interface.company_data_lengths
    # BAPIKNA106's CHAR fields as the live metadata reports them (uc_length / 2).
    assert set(lengths) == set(STRUCTURES["BAPIKNA106"])
    assert (lengths["NAME"], lengths["STREET"], lengths["POSTL_COD1"], lengths["TEL1_EXT"]) == (40, 60, 10, 10)
    assert gateway.check_interface() is interface  # read once
    assert set(REQUIRED_INTERFACE) == {
        "BAPI_CUSTOMER_CREATEFROMDATA1",
        "BAPI_TRANSACTION_COMMIT",
        "BAPI_TRANSACTION_ROLLBACK",
        "BAPI_CUSTOMER_FIND",
        "BAPI_CUSTOMER_GETDETAIL2",
        # the change path (issue 26)
        "BAPI_CUSTOMER_CHANGEFROMDATA1",
        "BAPI_CUSTOMER_GETDETAIL1",
        "BAPI_CUSTOMER_GETSALESAREAS",
    }
    assert sum(system.calls.values()) == 0  # metadata only: no function module ran


def test_every_field_the_adapter_sends_or_reads_exists_in_the_simulated_release():
    description = {name: simulator.SimulatedSap().describe(name) for name in REQUIRED_INTERFACE}
    for function_name, parameters in REQUIRED_INTERFACE.items():
        declared = {p["name"]: p for p in description[function_name].parameters}
        for parameter_name, field_names in parameters.items():
            assert parameter_name in declared, (function_name, parameter_name)
            row = declared[parameter_name]["type_description"]
            present = {f["name"] for f in row.fields} if row is not None else set()
            assert set(field_names) <= present, (function_name, parameter_name, set(field_names) - present)


@pytest.mark.parametrize(
    ("structure", "field_name", "function_name", "parameter_name"),
    [
        ("BAPIKNA106", "TEL1_EXT", "BAPI_CUSTOMER_CREATEFROMDATA1", "PI_COMPANYDATA"),
        ("BAPIKNA111", "CUSTOMER", "BAPI_CUSTOMER_FIND", "RESULT_TAB"),
        ("BAPICUSTOMER_KNA1", "ENTERED_BY", "BAPI_CUSTOMER_GETDETAIL2", "CUSTOMERGENERALDETAIL"),
    ],
)
def test_a_field_missing_from_the_live_metadata_stops_with_one_interface_mismatch_naming_it(
    structure, field_name, function_name, parameter_name
):
    with release(without(structure, field_name)) as other:
        gateway = rfc_gateway()
        with pytest.raises(SapInterfaceMismatch) as raised:
            gateway.create_customer(german_creation())
        with pytest.raises(SapInterfaceMismatch):
            gateway.create_customer(german_creation())  # every create, until the release and mapping agree
    assert isinstance(raised.value, SapConfigurationError)
    assert function_name in raised.value.detail
    assert f"parameter {parameter_name}" in raised.value.detail
    assert f"field {field_name}" in raised.value.detail
    assert other.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0  # nothing was sent
    assert sum(other.calls.values()) == 0
    assert other.created_customers() == [] and other.open_sessions == 0


class _EditedMetadataConnection(simulator.Connection):
    """A Connection whose metadata lacks one function module or one parameter."""

    missing_function: str | None = None
    missing_parameter: tuple[str, str] | None = None

    def get_function_description(self, func_name: str) -> simulator.FunctionDescription:
        if func_name == self.missing_function:
            raise simulator.ABAPApplicationError(
                f"ID:FL Type:E Number:046 {func_name}", 5, "FU_NOT_FOUND", "FL", "E", "046", func_name
            )
        description = super().get_function_description(func_name)
        if self.missing_parameter and func_name == self.missing_parameter[0]:
            description.parameters = [p for p in description.parameters if p["name"] != self.missing_parameter[1]]
        return description


def module_with(connection_class: object) -> types.SimpleNamespace:
    """The simulator module with another Connection (pyrfc's exception classes unchanged)."""
    return types.SimpleNamespace(
        **{**{name: getattr(simulator, name) for name in simulator.__all__}, "Connection": connection_class}
    )


def test_a_function_module_missing_from_the_live_system_is_an_interface_mismatch(system):
    connection_class = type("NoFind", (_EditedMetadataConnection,), {"missing_function": "BAPI_CUSTOMER_FIND"})
    gateway = RfcSapGateway(LOGON, rfc_module=module_with(connection_class))
    with pytest.raises(SapInterfaceMismatch, match="function module BAPI_CUSTOMER_FIND is not available"):
        gateway.create_customer(german_creation())
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


def test_a_parameter_missing_from_the_live_metadata_is_an_interface_mismatch_naming_it(system):
    connection_class = type(
        "NoWait", (_EditedMetadataConnection,), {"missing_parameter": ("BAPI_TRANSACTION_COMMIT", "WAIT")}
    )
    gateway = RfcSapGateway(LOGON, rfc_module=module_with(connection_class))
    with pytest.raises(SapInterfaceMismatch) as raised:
        gateway.create_customer(german_creation())
    assert "BAPI_TRANSACTION_COMMIT has no parameter WAIT" in raised.value.detail
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


# --------------------------------------------------------------------------- creating


def test_german_customer_in_sales_area_1000(gateway, system):
    created = gateway.create_customer(german_creation())
    assert len(created.customer_number) == 10 and created.customer_number.isdigit()
    assert not created.adopted
    customer = gateway.read_customer_detail(created.customer_number.lstrip("0"))
    address = customer["CUSTOMERADDRESS"]
    assert (address["NAME"], address["CITY"], address["POSTL_CODE"], address["REGION"], address["COUNTRY"]) == (
        GERMAN_NAME,
        "München",
        "80331",
        "09",
        "DE",
    )
    assert address["TELEPHONE"] == "+49891234567"
    general = customer["CUSTOMERGENERALDETAIL"]
    assert (general["CREAT_DATE"], general["ENTERED_BY"]) == ("20240517", RFC_USER)
    assert customer["SALESAREAS"] == [
        {"CUSTOMER": created.customer_number, "SALESORG": "1000", "DISTRCHN": "10", "DIVISION": "00"}
    ]
    assert customer["SALESAREAS_RETURN"]["TYPE"] == "S"  # SAP's documented success message of GETSALESAREAS
    assert created_numbers(system) == [created.customer_number]
    assert system.calls["BAPI_CUSTOMER_FIND"] == 0  # no earlier attempt: nothing to search for
    assert system.truncations.fields == []


def test_us_customer_in_sales_area_3000(gateway, system):
    created = gateway.create_customer(us_creation())
    customer = gateway.read_customer_detail(created.customer_number, company_code="3000")
    assert customer["CUSTOMERADDRESS"]["REGION"] == "NY"
    assert customer["CUSTOMERCOMPANYDETAIL"]["COMP_CODE"] == "3000"
    assert [area["SALESORG"] for area in customer["SALESAREAS"]] == ["3000"]
    record = system.customer(created.customer_number)
    assert record is not None and record.address["CURRENCY"] == "USD"  # from the country: none was passed


def test_read_customer_of_an_unknown_number_carries_sap_answers(gateway, system):
    customer = gateway.read_customer_detail("999999")
    assert (customer["RETURN"]["TYPE"], customer["RETURN"]["ID"], customer["RETURN"]["NUMBER"]) == ("E", "F2", "163")
    # GETSALESAREAS does not check existence (SAP's documentation): "No sales data was found", QC160.
    assert (customer["SALESAREAS_RETURN"]["TYPE"], customer["SALESAREAS_RETURN"]["CODE"]) == ("E", "QC160")
    assert customer["SALESAREAS"] == []


ORGANIZATION = load_settings({"SAP_TRANSPORT": "simulator", "SAP_DEFAULT_SALES_AREA": "1000/10/00"}).sap_organization
LONG_GERMAN = CustomerRequest(
    account_id=GERMAN_ACCOUNT,
    name="Nordwind Handelsgesellschaft für Maschinenbau und Anlagentechnik mbH & Co. KG",
    country_code="DE",
    street="Großbeerenstraße 112a, Hinterhaus links, drittes Obergeschoss",
    city="Frankfurt am Main-Höchst an der Nidda im Main-Taunus-Kreis",
    postal_code="65929",
    region_code="HE",
    phone="+4969123456;ext=45",
)
LONG_US = CustomerRequest(
    account_id=US_ACCOUNT,
    name="The Very Long Name Corporation of North American Industrial Holdings Incorporated",
    country_code="US",
    street="1234 North Martin Luther King Junior Boulevard\nBuilding 5, Floor 3, Suite 500",
    city="Rancho Santa Margarita Heights North Village",
    postal_code="92688",
    region_code="CA",
    phone="+19495550123",
    company_code="3000",
)


def test_the_create_sends_pi_personaldata_initial_because_it_may_not_be_omitted(system):
    sent: list[dict] = []

    class Recording(simulator.Connection):
        def call(self, func_name, options=None, **params):
            if func_name == "BAPI_CUSTOMER_CREATEFROMDATA1":
                sent.append(params)  # what the adapter hands pyrfc, before any filling
            return super().call(func_name, options=options, **params)

    gateway = RfcSapGateway(LOGON, rfc_module=module_with(Recording))
    assert gateway.create_customer(german_creation()).customer_number
    [params] = sent
    assert params["PI_PERSONALDATA"] == {}  # sent, initial: SAP reads company data only
    assert "PI_PERSONALDATA" in REQUIRED_INTERFACE["BAPI_CUSTOMER_CREATEFROMDATA1"]


@pytest.mark.parametrize("customer_request", [LONG_GERMAN, LONG_US], ids=["german", "us"])
def test_creates_through_the_mapping_send_only_existing_fields_and_nothing_is_truncated(
    gateway, system, customer_request
):
    creation = map_customer_request(customer_request, ORGANIZATION, gateway.check_interface().company_data_lengths)
    assert creation.warnings  # the long street and city were shortened explicitly, with warnings

    created = gateway.create_customer(creation)

    sent = creation.parameters["PI_COMPANYDATA"]
    company_fields = {
        f["name"]
        for p in system.describe("BAPI_CUSTOMER_CREATEFROMDATA1").parameters
        if p["name"] == "PI_COMPANYDATA"
        for f in p["type_description"].fields
    }
    assert set(sent) <= company_fields  # (pyrfc would have refused any other before sending)
    assert system.truncations.fields == []
    record = system.customer(created.customer_number)
    assert record is not None
    assert {name: record.address[name] for name in sent} == sent  # SAP holds exactly what was mapped
    assert len(sent["NAME"]) <= 35 and "NAME_2" in sent  # the long name spread over KNA1's name lines


# --------------------------------------------------------------------------- shorter live lengths


def shorter(**lengths: int) -> dict:
    return {
        **STRUCTURES,
        "BAPIKNA106": {**STRUCTURES["BAPIKNA106"], **{name: ("C", length) for name, length in lengths.items()}},
    }


def test_shorter_live_lengths_make_the_mapping_split_the_name_there_and_nothing_is_truncated():
    with release(shorter(NAME=30)) as other:
        gateway = rfc_gateway()
        lengths = gateway.check_interface().company_data_lengths
        assert lengths["NAME"] == 30
        name = "Nordwind Handelsgesellschaft mbH KG"  # 35 characters: one KNA1 line, too long for NAME of 30
        creation = map_customer_request(dataclasses.replace(LONG_GERMAN, name=name), ORGANIZATION, lengths)
        created = gateway.create_customer(creation)
    company = creation.parameters["PI_COMPANYDATA"]
    assert (company["NAME"], company["NAME_2"]) == ("Nordwind Handelsgesellschaft", "mbH KG")
    assert other.truncations.fields == []
    record = other.customer(created.customer_number)
    assert record is not None and (record.address["NAME"], record.address["NAME_2"]) == (
        "Nordwind Handelsgesellschaft",
        "mbH KG",
    )


def test_an_emoji_heavy_name_is_measured_in_utf16_units_against_the_live_lengths():
    name = "🙂" * 20  # 20 characters, 40 UTF-16 code units
    with release(shorter(NAME=30)) as other:
        gateway = rfc_gateway()
        creation = map_customer_request(
            dataclasses.replace(LONG_GERMAN, name=name), ORGANIZATION, gateway.check_interface().company_data_lengths
        )
        created = gateway.create_customer(creation)
    company = creation.parameters["PI_COMPANYDATA"]
    assert (company["NAME"], company["NAME_2"]) == ("🙂" * 15, "🙂" * 5)
    assert utf16_units(company["NAME"]) == 30
    assert other.truncations.fields == []
    record = other.customer(created.customer_number)
    assert record is not None and record.address["NAME"] + record.address["NAME_2"] == name


@pytest.mark.parametrize("name", ["x" * 41, "🙂" * 21], ids=["41 characters", "21 emoji, 42 units"])
def test_the_gateway_never_sends_a_value_the_live_metadata_cannot_hold(gateway, system, name):
    # BAPIKNA106-NAME holds 40 units here; pyrfc would cut the value silently, so the adapter refuses it.
    with pytest.raises(SapTransientError) as raised:
        gateway.create_customer(german_creation(NAME=name))
    assert not isinstance(raised.value, SapOutcomeUnknown)
    assert "PI_COMPANYDATA NAME" in raised.value.detail
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0
    assert system.truncations.fields == [] and system.created_customers() == []


def test_a_creation_mapped_before_the_live_lengths_were_known_is_refused_and_maps_again_on_retry():
    customer_request = dataclasses.replace(LONG_GERMAN, name="Nordwind Handelsgesellschaft mbH KG")
    with release(shorter(NAME=30)) as other:
        gateway = rfc_gateway()
        mapped_blind = map_customer_request(customer_request, ORGANIZATION)  # KNA1's 35, not the live 30
        with pytest.raises(SapTransientError, match="mapped again on retry"):
            gateway.create_customer(mapped_blind)
        remapped = map_customer_request(customer_request, ORGANIZATION, gateway.check_interface().company_data_lengths)
        gateway.create_customer(remapped)
    assert other.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1
    assert other.truncations.fields == []


# --------------------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("creation", "message_id", "number", "text"),
    [
        (with_reference(german_creation(), SALESORG="9999"), "VR", "110", "Sales area 9999 10 00 is not defined"),
        (
            with_reference(german_creation(), REF_CUSTMR="0000003000"),
            "VR",
            "112",
            "Customer 0000003000 has not been created for sales area 1000 10 00",
        ),
        (german_creation(REGION="CA"), "AM", "228", "Region CA not defined for country DE"),
        (german_creation(CITY=None), "AM", "231", "Enter a city"),
        (german_creation(POSTL_COD1="803310"), "AM", "215", "Postal code 803310 must have length 5 (country DE)"),
    ],
)
def test_sap_rejections_carry_sap_message(gateway, system, creation, message_id, number, text):
    with pytest.raises(SapBusinessRejection) as raised:
        gateway.create_customer(creation)
    assert (
        raised.value.message.type,
        raised.value.message.id,
        raised.value.message.number,
        raised.value.message.text,
    ) == ("E", message_id, number, text)
    assert system.calls["BAPI_TRANSACTION_ROLLBACK"] == 1
    assert system.calls["BAPI_TRANSACTION_COMMIT"] == 0
    assert system.open_sessions == 0


# --------------------------------------------------------------------------- lost answers


@both_find_semantics
def test_communication_error_after_the_create_bapi_is_an_unknown_outcome_and_not_retried(gateway, system):
    system.faults.arm("communication_after_bapi")
    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(german_creation())
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1  # not re-sent on a fresh connection
    assert created_numbers(system) == []  # the session and its uncommitted customer were lost

    # The next attempt searches first: nothing was committed, so it creates.
    again = gateway.create_customer(searching(german_creation()))
    assert not again.adopted
    assert created_numbers(system) == [again.customer_number]
    assert system.calls["BAPI_CUSTOMER_FIND"] == 1


@both_find_semantics
def test_communication_error_after_commit_is_healed_by_the_duplicate_guard(gateway, system):
    system.faults.arm("communication_after_commit")
    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(german_creation())
    [number] = created_numbers(system)  # SAP committed; only the answer was lost

    again = gateway.create_customer(searching(german_creation()))
    assert again.adopted and again.customer_number == number
    assert created_numbers(system) == [number]
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1
    assert system.calls["BAPI_CUSTOMER_GETDETAIL2"] == 1


def test_a_failed_reopen_after_the_commit_was_sent_still_leaves_the_outcome_unknown(gateway, system, monkeypatch):
    gateway.check_interface()
    system.faults.arm("communication_after_commit")
    invoke = system.invoke

    def password_changed_meanwhile(session_id: int, function_name: str, inputs: dict) -> dict:
        try:
            return invoke(session_id, function_name, inputs)
        except simulator.CommunicationError:
            system.faults.logon_error = True  # pyrfc's reopen inside call() now fails with LogonError
            raise

    monkeypatch.setattr(system, "invoke", password_changed_meanwhile)
    with pytest.raises(SapError) as raised:
        gateway.create_customer(german_creation())
    assert len(created_numbers(system)) == 1  # SAP committed the customer
    assert isinstance(raised.value, SapOutcomeUnknown) and raised.value.outcome_unknown


def test_an_abap_dump_after_the_create_was_sent_is_permanent_but_leaves_the_outcome_unknown(gateway, system):
    gateway.check_interface()
    system.faults.arm("abap_runtime_error")
    with pytest.raises(SapError) as raised:
        gateway.create_customer(german_creation())
    assert raised.value.kind == "permanent" and raised.value.outcome_unknown


def test_commit_failure_is_rolled_back_and_may_be_retried(gateway, system):
    system.faults.arm("commit_failure")
    with pytest.raises(SapTransientError, match="BAPI_TRANSACTION_COMMIT failed") as raised:
        gateway.create_customer(german_creation())
    assert not isinstance(raised.value, SapOutcomeUnknown)  # SAP said so: nothing was saved
    assert created_numbers(system) == []
    assert gateway.create_customer(german_creation()).adopted is False  # the retry creates it once
    assert len(created_numbers(system)) == 1


@pytest.fixture
def slow_system() -> Iterator[tuple[SimulatedSap, list[float]]]:
    """A system 1.5 s away, and what it waited: recorded instead of slept, so the test takes no time."""
    waits: list[float] = []
    system = SimulatedSap(today=lambda: TODAY, sleep=waits.append)
    system.configure_faults("latency_ms=1500")
    with simulator.use_system(system):
        yield system, waits


def test_a_create_slower_than_the_timeout_is_canceled_and_its_outcome_unknown(slow_system):
    system, waits = slow_system
    gateway = RfcSapGateway({}, rfc_module=simulator_module, timeout_seconds=1)
    with pytest.raises(SapOutcomeUnknown, match="RFC_CANCELED"):
        gateway.create_customer(german_creation())
    assert created_numbers(system) == []
    # Every logon waits the 1.5 s latency; one call, the create, is cut off at the 1 s timeout.
    assert [wait for wait in waits if wait != 1.5] == [1]


def test_a_canceled_call_before_anything_was_created_is_plain_transient(slow_system):
    _, waits = slow_system
    gateway = RfcSapGateway({}, rfc_module=simulator_module, timeout_seconds=1)
    with pytest.raises(SapTransientError, match="RFC_CANCELED") as raised:
        gateway.ping()
    assert not isinstance(raised.value, SapOutcomeUnknown)
    assert [wait for wait in waits if wait != 1.5] == [1]


def test_sap_down_is_transient(gateway, system):
    system.configure_faults("down=true")
    with pytest.raises(SapTransientError) as raised:
        gateway.create_customer(german_creation())
    assert not isinstance(raised.value, SapOutcomeUnknown)
    with pytest.raises(SapTransientError):
        gateway.ping()


# --------------------------------------------------------------------------- the duplicate guard


@both_find_semantics
def test_without_search_since_the_guard_never_searches(gateway, system):
    first = gateway.create_customer(german_creation())
    second = gateway.create_customer(german_creation())  # e.g. a second account of the same company
    assert first.customer_number != second.customer_number
    assert system.calls["BAPI_CUSTOMER_FIND"] == 0 and system.calls["BAPI_CUSTOMER_GETDETAIL2"] == 0
    assert len(customers_named(system)) == 2


@both_find_semantics
def test_nothing_found_creates_the_customer(gateway, system):
    created = gateway.create_customer(searching(german_creation()))
    assert not created.adopted and created_numbers(system) == [created.customer_number]
    assert system.calls["BAPI_CUSTOMER_FIND"] == 1


@both_find_semantics
def test_two_matches_created_by_the_rfc_user_need_review_and_create_nothing(gateway, system):
    system.add_customer(existing_customer("0000900001"))
    system.add_customer(existing_customer("0000900002"))
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert raised.value.candidates == ("0000900001", "0000900002")
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0
    assert created_numbers(system) == ["0000900001", "0000900002"]


@both_find_semantics
def test_two_customers_created_by_earlier_attempts_need_review(gateway, system):
    first = gateway.create_customer(german_creation()).customer_number
    second = gateway.create_customer(german_creation()).customer_number
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert raised.value.candidates == (first, second)
    assert created_numbers(system) == [first, second]


@both_find_semantics
def test_a_matching_customer_created_since_the_first_attempt_by_another_user_needs_review(gateway, system):
    # Another agent logged on as another RFC user may have created it after a failover, or a person did:
    # neither adopted nor created again (fail closed).
    system.add_customer(existing_customer("0000900001", entered_by="OTHER"))
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert raised.value.candidates == ("0000900001",)
    assert customers_named(system) == ["0000900001"]
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


@both_find_semantics
def test_a_matching_customer_of_another_user_from_before_the_first_attempt_does_not_stop_the_create(gateway, system):
    system.add_customer(existing_customer("0000900001", entered_by="OTHER", created_on=date(2024, 5, 15)))
    created = gateway.create_customer(searching(german_creation()))
    assert not created.adopted and created.customer_number != "0000900001"
    assert sorted(customers_named(system)) == sorted(["0000900001", created.customer_number])


@both_find_semantics
def test_the_ides_reference_customer_of_the_same_name_and_address_is_not_adopted(gateway, system):
    becker = german_creation(
        NAME="Becker Berlin", CITY="Berlin", POSTL_COD1="13467", STREET="Calvinstr. 36", REGION="11", TEL1_NUMBR=None
    )
    created = gateway.create_customer(searching(becker))
    assert not created.adopted and created.customer_number != "0000001000"
    assert customers_named(system, "Becker Berlin") == ["0000001000", created.customer_number]
    assert system.calls["BAPI_CUSTOMER_GETDETAIL2"] == 1  # the IDES customer was read and compared


@both_find_semantics
def test_a_customer_created_before_the_first_attempt_is_not_adopted(gateway, system):
    system.add_customer(existing_customer("0000900001", created_on=date(2024, 5, 15)))
    created = gateway.create_customer(searching(german_creation()))
    assert not created.adopted and created.customer_number != "0000900001"


@both_find_semantics
def test_a_customer_created_one_day_before_search_since_is_adopted(gateway, system):
    # KNA1-ERDAT is SAP's local date: one day of slack so a create just after midnight UTC is not missed.
    system.add_customer(existing_customer("0000900001", created_on=date(2024, 5, 16)))
    created = gateway.create_customer(searching(german_creation()))
    assert created.adopted and created.customer_number == "0000900001"
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


@both_find_semantics
def test_a_candidate_whose_address_differs_from_what_was_sent_is_not_adopted(gateway, system):
    system.add_customer(existing_customer("0000900001", STREET="Bahnhofstr. 1"))
    created = gateway.create_customer(searching(german_creation()))
    assert not created.adopted and created.customer_number != "0000900001"


@both_find_semantics
def test_the_rfc_user_is_compared_upper_cased(system):
    system.add_customer(existing_customer("0000900001", entered_by="RFC_USER"))
    gateway = RfcSapGateway(
        {**LOGON, "user": "Rfc_User"}, rfc_module=simulator, no_match_messages=simulator.NO_MATCH_MESSAGES
    )
    assert gateway.rfc_user == RFC_USER
    assert gateway.create_customer(searching(german_creation())).adopted


@both_find_semantics
def test_more_candidates_than_the_guard_compares_need_review(gateway, system):
    numbers = [f"00009000{index:02d}" for index in range(MAX_GUARD_CANDIDATES + 1)]
    for number in numbers:
        system.add_customer(existing_customer(number, entered_by="OTHER"))
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert raised.value.candidates == tuple(numbers)
    assert system.calls["BAPI_CUSTOMER_GETDETAIL2"] == 0
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


@both_find_semantics
def test_an_unreadable_candidate_needs_review(system):
    class UnreadableDetail(simulator.Connection):
        def call(self, func_name, options=None, **params):
            answer = super().call(func_name, options=options, **params)
            if func_name == "BAPI_CUSTOMER_GETDETAIL2":
                answer["RETURN"] = {
                    **answer["RETURN"],
                    "TYPE": "E",
                    "ID": "F2",
                    "NUMBER": "001",
                    "MESSAGE": "No authorization",
                }
            return answer

    system.add_customer(existing_customer("0000900001"))
    gateway = RfcSapGateway(
        LOGON, rfc_module=module_with(UnreadableDetail), no_match_messages=simulator.NO_MATCH_MESSAGES
    )
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert raised.value.candidates == ("0000900001",)
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


@both_find_semantics
@pytest.mark.parametrize("no_match_messages", [(), (("F2", "999"),)], ids=["not configured", "another message"])
@pytest.mark.parametrize("said_in", ["result_tab", "return"])
def test_a_nothing_found_the_gateway_does_not_recognise_fails_closed(system, no_match_messages, said_in):
    system.find_no_match = said_in
    gateway = RfcSapGateway(LOGON, rfc_module=simulator, no_match_messages=no_match_messages)
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert "F2 173" in raised.value.detail and raised.value.candidates == ()
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0 and created_numbers(system) == []
    # Without a search the unrecognised message never matters.
    assert not gateway.create_customer(german_creation()).adopted


@both_find_semantics
def test_a_no_match_message_is_recognised_however_it_is_configured(system):
    gateway = RfcSapGateway(LOGON, rfc_module=simulator, no_match_messages=[(" f2 ", "173")])
    assert not gateway.create_customer(searching(german_creation())).adopted


@both_find_semantics
def test_a_failing_search_is_transient_and_creates_nothing(gateway, system):
    system.faults.arm("communication_before")  # the first call of the unit is the guard's search
    with pytest.raises(SapTransientError) as raised:
        gateway.create_customer(searching(german_creation()))
    assert not isinstance(raised.value, SapOutcomeUnknown)  # the create was never sent
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0 and created_numbers(system) == []


@both_find_semantics
def test_the_guard_searches_one_kna1_row_the_name_exactly_and_asks_for_one_row_more_than_it_compares(
    system, monkeypatch
):
    searches: list[dict] = []
    invoke = system.invoke

    def recording(session_id: int, function_name: str, inputs: dict) -> dict:
        if function_name == "BAPI_CUSTOMER_FIND":
            searches.append(inputs)
        return invoke(session_id, function_name, inputs)

    monkeypatch.setattr(system, "invoke", recording)
    rfc_gateway().create_customer(searching(german_creation()))
    [search] = searches
    assert [(row["TABNAME"], row["FIELDNAME"], row["FIELDVALUE"]) for row in search["SELOPT_TAB"]] == [
        ("KNA1", "NAME1", GERMAN_NAME)
    ]
    assert search["PL_HOLD"] == "" and search["MAX_CNT"] == MAX_GUARD_CANDIDATES + 1


@both_find_semantics
@pytest.mark.parametrize(
    "said_in", ["result_tab", "return", "empty"], ids=["an error row in RESULT_TAB", "RETURN", "an empty RESULT_TAB"]
)
def test_nothing_found_creates_the_customer_wherever_sap_says_it(system, said_in):
    system.find_no_match = said_in
    created = rfc_gateway().create_customer(searching(german_creation()))
    assert not created.adopted and created_numbers(system) == [created.customer_number]
    assert system.calls["BAPI_CUSTOMER_FIND"] == 1 and system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1


@both_find_semantics
def test_nothing_found_in_return_with_the_configured_message_creates_and_any_other_message_fails_closed(system):
    system.find_no_match = "return"
    system.find_no_match_message = ("ZF", "042")  # this release's own message
    with pytest.raises(SapNeedsReview) as raised:
        rfc_gateway().create_customer(searching(german_creation()))  # configured for F2 173 only
    assert "ZF 042" in raised.value.detail
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0
    configured = RfcSapGateway(LOGON, rfc_module=simulator, no_match_messages=[("ZF", "42")])
    created = configured.create_customer(searching(german_creation()))
    assert not created.adopted and created_numbers(system) == [created.customer_number]


def _find_answering(edit: Callable[[dict], None]) -> types.SimpleNamespace:
    """The simulator module whose BAPI_CUSTOMER_FIND answer is changed by `edit` before the gateway reads it."""

    class EditedFind(simulator.Connection):
        def call(self, func_name, options=None, **params):
            answer = super().call(func_name, options=options, **params)
            if func_name == "BAPI_CUSTOMER_FIND":
                edit(answer)
            return answer

    return module_with(EditedFind)


def _error_in_return(answer: dict) -> None:
    answer["RETURN"] = {
        **answer["RETURN"],
        "TYPE": "E",
        "ID": "F2",
        "NUMBER": "543",
        "MESSAGE": "No authorization to display general data for customer accounts",
    }


@both_find_semantics
@pytest.mark.parametrize("existing", [False, True], ids=["no customer named", "customers named"])
def test_an_error_in_return_other_than_nothing_found_holds_the_account_for_review(system, existing):
    system.find_no_match = "return"
    if existing:
        system.add_customer(existing_customer("0000900001"))
    gateway = RfcSapGateway(
        LOGON, rfc_module=_find_answering(_error_in_return), no_match_messages=simulator.NO_MATCH_MESSAGES
    )
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert "F2 543" in raised.value.detail
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0 and system.calls["BAPI_CUSTOMER_GETDETAIL2"] == 0


@both_find_semantics
def test_a_nothing_found_next_to_named_customers_holds_the_account_for_review(system):
    system.add_customer(existing_customer("0000900001"))

    def also_nothing_found(answer: dict) -> None:
        answer["RETURN"] = {
            **answer["RETURN"],
            "TYPE": "E",
            "ID": "F2",
            "NUMBER": "173",
            "MESSAGE": "No customer found for the selection criteria",
        }

    gateway = RfcSapGateway(
        LOGON, rfc_module=_find_answering(also_nothing_found), no_match_messages=simulator.NO_MATCH_MESSAGES
    )
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert raised.value.candidates == ("0000900001",)
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


@both_find_semantics
def test_six_rows_naming_five_customers_fill_the_page_and_need_review(system):
    # Five customers of the account's name by another user long ago (none of them a match) and a sixth row
    # repeating one of them (rows per criterion or per company code): the page is full, so the earlier
    # create may lie beyond it. Before issue 20 the guard counted 5 distinct customers and created again.
    numbers = [f"00009000{index:02d}" for index in range(MAX_GUARD_CANDIDATES)]
    for number in numbers:
        system.add_customer(existing_customer(number, entered_by="OTHER", created_on=date(2020, 1, 1)))

    def one_row_repeated(answer: dict) -> None:
        answer["RESULT_TAB"] = [*answer["RESULT_TAB"], dict(answer["RESULT_TAB"][0])]

    gateway = RfcSapGateway(
        LOGON, rfc_module=_find_answering(one_row_repeated), no_match_messages=simulator.NO_MATCH_MESSAGES
    )
    with pytest.raises(SapNeedsReview) as raised:
        gateway.create_customer(searching(german_creation()))
    assert raised.value.candidates == tuple(numbers)
    assert "6 rows naming 5 SAP customers" in raised.value.detail
    assert system.calls["BAPI_CUSTOMER_GETDETAIL2"] == 0 and system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


@both_find_semantics
def test_five_rows_naming_five_customers_are_compared_one_by_one(gateway, system):
    numbers = [f"00009000{index:02d}" for index in range(MAX_GUARD_CANDIDATES)]
    for number in numbers:
        system.add_customer(existing_customer(number, entered_by="OTHER", created_on=date(2020, 1, 1)))
    created = gateway.create_customer(searching(german_creation()))
    assert not created.adopted and created.customer_number not in numbers
    assert system.calls["BAPI_CUSTOMER_GETDETAIL2"] == MAX_GUARD_CANDIDATES


@both_find_semantics
def test_customers_of_the_same_name_elsewhere_are_read_and_not_adopted(gateway, system):
    # One row (the name) finds them; GETDETAIL2 tells them apart by the rest of the address.
    system.add_customer(existing_customer("0000900001", CITY="Hamburg", POSTL_COD1="20095"))
    system.add_customer(existing_customer("0000900002", COUNTRY="AT", COUNTRYISO="AT"))
    created = gateway.create_customer(searching(german_creation()))
    assert not created.adopted and created.customer_number not in ("0000900001", "0000900002")
    assert system.calls["BAPI_CUSTOMER_GETDETAIL2"] == 2


@both_find_semantics
def test_a_name_longer_than_kna1_holds_is_searched_by_the_part_kna1_keeps(gateway, system):
    long_name = "Nordwind Handelsgesellschaft mbH KG Nord"  # 40 characters; KNA1-NAME1 holds 35
    system.faults.arm("communication_after_commit")
    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(german_creation(NAME=long_name))
    [number] = created_numbers(system)
    again = gateway.create_customer(searching(german_creation(NAME=long_name)))
    assert again.adopted and again.customer_number == number


# --------------------------------------------------------------------------- error classes


def test_logon_error_is_a_configuration_error_without_the_password(system):
    system.credentials = ("RFC_USER", "another password")
    gateway = rfc_gateway()
    with pytest.raises(SapConfigurationError) as raised:
        gateway.create_customer(german_creation())
    assert "S3cr3t!" not in raised.value.detail
    assert system.counters["logons"] == 0 and system.calls["BAPI_CUSTOMER_FIND"] == 0


def test_abap_runtime_error_is_permanent(gateway, system):
    system.faults.arm("abap_runtime_error")
    with pytest.raises(SapPermanentError) as raised:
        gateway.create_customer(german_creation())
    assert "ABAPRuntimeError" in raised.value.detail
    assert created_numbers(system) == []


def test_external_runtime_error_after_the_create_was_sent_is_an_unknown_outcome_and_not_retried(gateway, system):
    system.faults.arm("external_runtime_error")  # fires on the first call: the create BAPI
    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(german_creation())
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1
    assert created_numbers(system) == []


def test_external_runtime_error_before_anything_was_created_is_retried_once_on_a_fresh_connection(gateway, system):
    system.faults.arm("external_runtime_error")  # fires on the guard's search
    created = gateway.create_customer(searching(german_creation()))
    assert not created.adopted
    assert system.calls["BAPI_CUSTOMER_FIND"] == 2  # the whole unit ran again on a new connection
    assert created_numbers(system) == [created.customer_number]

    system.faults.arm("external_runtime_error")
    gateway.ping()
    assert system.calls["RFC_PING"] == 2
    system.faults.arm("external_runtime_error", times=2)
    with pytest.raises(SapTransientError) as raised:
        gateway.ping()
    assert not isinstance(raised.value, SapOutcomeUnknown)


def test_error_details_never_contain_the_password(system):
    class LeakyConnection(simulator.Connection):
        def call(self, func_name, options=None, **params):
            raise simulator.ABAPApplicationError(f"logon with passwd={LOGON['passwd']} user RFC_USER", 5, "X")

    class LeakyModule:
        RFCError = simulator.RFCError
        CommunicationError = simulator.CommunicationError
        ExternalRuntimeError = simulator.ExternalRuntimeError
        LogonError = simulator.LogonError
        ExternalAuthorizationError = simulator.ExternalAuthorizationError
        Connection = LeakyConnection

    with pytest.raises(SapPermanentError) as raised:
        RfcSapGateway(LOGON, rfc_module=LeakyModule).ping()
    assert "S3cr3t!" not in raised.value.detail


def test_a_field_pyrfc_does_not_know_is_refused_before_it_reaches_sap(gateway, system):
    with pytest.raises(SapPermanentError, match="field 'NAME_5' not found"):
        gateway.create_customer(german_creation(NAME_5="x"))
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0  # pyrfc refused it while filling parameters
    assert created_numbers(system) == []


# --------------------------------------------------------------------------- driver


def test_missing_pyrfc_names_the_install_steps():
    def loader():
        raise ModuleNotFoundError("No module named 'pyrfc'", name="pyrfc")

    gateway = RfcSapGateway(LOGON, rfc_module=None, module_loader=loader)  # nothing is imported yet
    with pytest.raises(SapDriverMissing) as raised:
        gateway.ping()
    assert "pip install pyrfcx" in raised.value.detail and "SAPNWRFC_HOME" in raised.value.detail
    assert isinstance(raised.value, SapConfigurationError)


def test_missing_rfc_sdk_is_named(monkeypatch):
    from shared.sap import rfc_driver as rfc

    def failing_import(name: str):
        if name == "pyrfc":
            raise ImportError("libsapnwrfc.so: cannot open shared object file: No such file or directory")
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    monkeypatch.setattr(rfc.importlib, "import_module", failing_import)
    with pytest.raises(SapDriverMissing, match="SAP NW RFC SDK library"):
        RfcSapGateway(LOGON).ping()


def test_pyrfc_whose_native_module_did_not_load_is_a_missing_driver():
    # SAP's pyrfc prints a failed import of its native module and goes on: no Connection.
    swallowed = types.ModuleType("pyrfc")
    gateway = RfcSapGateway(LOGON, rfc_module=None, module_loader=lambda: swallowed)
    with pytest.raises(SapDriverMissing, match="SAP NW RFC SDK library"):
        gateway.create_customer(german_creation())


def test_import_rfc_module_skips_a_pyrfc_without_connection(monkeypatch):
    from shared.sap import rfc_driver as rfc

    def importing(name: str):
        if name == "pyrfc":
            return types.ModuleType("pyrfc")
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    monkeypatch.setattr(rfc.importlib, "import_module", importing)
    with pytest.raises(ImportError, match="native module did not load"):
        rfc.import_rfc_module()


def test_sdk_not_found_from_connection_is_a_missing_driver(system):
    class SdkNotFoundError(Exception):
        """pyrfcx's: neither RFCError nor ImportError."""

    def connection(*args: object, **kwargs: object) -> None:
        raise SdkNotFoundError("SAP NW RFC SDK not found: set SAPNWRFC_HOME")

    gateway = RfcSapGateway(LOGON, rfc_module=module_with(connection))
    with pytest.raises(SapDriverMissing):
        gateway.create_customer(german_creation())
    with pytest.raises(SapDriverMissing):
        gateway.ping()


def test_pyrfcx_without_the_sdk_is_a_missing_driver():
    pytest.importorskip("pyrfcx")
    gateway = RfcSapGateway(LOGON, rfc_module=None)
    with pytest.raises(SapDriverMissing):
        gateway.create_customer(german_creation())


# --------------------------------------------------------------------------- concurrency


def test_eight_threads_creating_different_accounts_get_distinct_numbers(gateway, system):
    def create(index: int) -> Callable[[], str]:
        creation = german_creation(f"001Aj00000Thread{index}A", NAME=f"Thread {index} AG")
        return lambda: gateway.create_customer(creation).customer_number

    numbers = run_together(*[create(index) for index in range(8)])  # a thread's exception fails the test here
    assert len(numbers) == 8 and len(set(numbers)) == 8
    assert system.counters["committed_customers"] == 8
    assert sorted(customers_named(system, f"Thread {index} AG")[0] for index in range(8)) == sorted(numbers)
    assert system.open_sessions == 0
