"""RfcSapGateway (production code) against the simulated SAP: creates, rejections, faults, errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shared.models import CustomerCreation
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapPermanentError,
    SapTransientError,
    simulator,
)
from shared.sap import simulator as simulator_module
from shared.sap.rfc import RfcSapGateway
from shared.sap.simulator import SimulatedSap

GERMAN_ACCOUNT = "001Aj00000AbCdEIAV"
US_ACCOUNT = "001Aj00000XyZwVIAW"
LOGON = {"ashost": "sap.example.com", "sysnr": "00", "client": "800", "user": "RFC_USER", "passwd": "S3cr3t!"}


def german_creation(account_id: str = GERMAN_ACCOUNT, **changes: str | None) -> CustomerCreation:
    company = {
        "NAME": "Müller Maschinenbau GmbH", "CITY": "München", "POSTL_COD1": "80331", "STREET": "Hauptstr. 5",
        "COUNTRY": "DE", "COUNTRYISO": "DE", "REGION": "09", "LANGU": "D", "LANGU_ISO": "DE", "CURRENCY": "EUR",
        "CURRENCY_ISO": "EUR", "TEL1_NUMBR": "+49891234567", "SORT1": "MUELLER MASCHINENBAU", "SORT2": account_id,
    }
    company.update(changes)
    return CustomerCreation(
        account_id=account_id,
        parameters={
            "PI_COMPANYDATA": {name: value for name, value in company.items() if value is not None},
            "PI_OPT_COMPANYDATA": {},
            "PI_COPYREFERENCE": {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00",
                                 "REF_CUSTMR": "0000001000"},
        },
    )


def us_creation(account_id: str = US_ACCOUNT) -> CustomerCreation:
    return CustomerCreation(
        account_id=account_id,
        parameters={
            "PI_COMPANYDATA": {"NAME": "Acme Corporation", "CITY": "New York", "POSTL_COD1": "10001",
                               "STREET": "350 Fifth Avenue", "COUNTRY": "US", "COUNTRYISO": "US", "REGION": "NY",
                               "LANGU": "E", "LANGU_ISO": "EN", "SORT2": account_id},
            "PI_OPT_COMPANYDATA": {},
            "PI_COPYREFERENCE": {"SALESORG": "3000", "DISTR_CHAN": "10", "DIVISION": "00",
                                 "REF_CUSTMR": "0000003000"},
        },
    )


def with_reference(creation: CustomerCreation, **reference: str) -> CustomerCreation:
    parameters = dict(creation.parameters)
    parameters["PI_COPYREFERENCE"] = {**parameters["PI_COPYREFERENCE"], **reference}
    return CustomerCreation(creation.account_id, parameters)


@pytest.fixture
def system() -> Iterator[SimulatedSap]:
    with simulator.use_system(SimulatedSap()) as fresh:
        yield fresh


@pytest.fixture
def gateway(system: SimulatedSap) -> RfcSapGateway:
    return RfcSapGateway(LOGON, rfc_module=simulator)


def customers_of(system: SimulatedSap, account_id: str) -> list[str]:
    return [record.number for record in system.customers_where("SORT2", account_id.upper())]


# --------------------------------------------------------------------------- creating


def test_german_customer_in_sales_area_1000(gateway, system):
    created = gateway.create_customer(german_creation())
    assert len(created.customer_number) == 10 and created.customer_number.isdigit()
    assert not created.already_existed
    customer = gateway.read_customer(created.customer_number.lstrip("0"))
    address = customer["CUSTOMERADDRESS"]
    assert (address["NAME"], address["CITY"], address["POSTL_COD1"], address["REGION"], address["COUNTRY"]) == (
        "Müller Maschinenbau GmbH", "München", "80331", "09", "DE")
    assert address["SORT2"] == GERMAN_ACCOUNT.upper()
    assert customer["SALESAREAS"] == [{"CUSTOMER": created.customer_number, "SALESORG": "1000",
                                       "DISTRCHN": "10", "DIVISION": "00"}]
    assert gateway.find_customer_by_account_id(GERMAN_ACCOUNT) == created.customer_number


def test_us_customer_in_sales_area_3000(gateway, system):
    created = gateway.create_customer(us_creation())
    customer = gateway.read_customer(created.customer_number, company_code="3000")
    assert customer["CUSTOMERADDRESS"]["REGION"] == "NY"
    assert customer["CUSTOMERADDRESS"]["CURRENCY"] == "USD"  # from the country: none was passed
    assert customer["CUSTOMERCOMPANYDETAIL"]["COMP_CODE"] == "3000"
    assert [area["SALESORG"] for area in customer["SALESAREAS"]] == ["3000"]


@pytest.mark.parametrize(("creation", "message_id", "number", "text"), [
    (with_reference(german_creation(), SALESORG="9999"), "VR", "110", "Sales area 9999 10 00 is not defined"),
    (with_reference(german_creation(), REF_CUSTMR="0000003000"), "VR", "112",
     "Customer 0000003000 has not been created for sales area 1000 10 00"),
    (german_creation(REGION="CA"), "AM", "228", "Region CA not defined for country DE"),
    (german_creation(CITY=None), "AM", "231", "Enter a city"),
    (german_creation(POSTL_COD1="803310"), "AM", "215", "Postal code 803310 must have length 5 (country DE)"),
])
def test_sap_rejections_carry_sap_message(gateway, system, creation, message_id, number, text):
    with pytest.raises(SapBusinessRejection) as raised:
        gateway.create_customer(creation)
    assert (raised.value.message.type, raised.value.message.id, raised.value.message.number,
            raised.value.message.text) == ("E", message_id, number, text)
    assert system.calls["BAPI_TRANSACTION_ROLLBACK"] == 1
    assert system.calls["BAPI_TRANSACTION_COMMIT"] == 0
    assert system.open_sessions == 0


# --------------------------------------------------------------------------- lost answers


def test_communication_error_before_commit_leaves_no_customer(gateway, system):
    system.faults.arm("communication_after_bapi")
    with pytest.raises(SapTransientError):
        gateway.create_customer(german_creation())
    assert customers_of(system, GERMAN_ACCOUNT) == []
    assert gateway.find_customer_by_account_id(GERMAN_ACCOUNT) is None


def test_communication_error_after_commit_is_healed_by_the_duplicate_guard(gateway, system):
    system.faults.arm("communication_after_commit")
    with pytest.raises(SapTransientError):
        gateway.create_customer(german_creation())
    [number] = customers_of(system, GERMAN_ACCOUNT)  # SAP committed; only the answer was lost

    again = gateway.create_customer(german_creation())
    assert again.already_existed and again.customer_number == number
    assert customers_of(system, GERMAN_ACCOUNT) == [number]
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1


def test_commit_failure_is_rolled_back_and_may_be_retried(gateway, system):
    system.faults.arm("commit_failure")
    with pytest.raises(SapTransientError, match="BAPI_TRANSACTION_COMMIT failed"):
        gateway.create_customer(german_creation())
    assert customers_of(system, GERMAN_ACCOUNT) == []
    assert gateway.create_customer(german_creation()).already_existed is False  # the retry creates it once
    assert len(customers_of(system, GERMAN_ACCOUNT)) == 1


def test_a_call_slower_than_the_timeout_is_canceled_and_transient(system):
    system.configure_faults("latency_ms=1500")
    gateway = RfcSapGateway({}, rfc_module=simulator_module, timeout_seconds=1)
    with pytest.raises(SapTransientError, match="RFC_CANCELED"):
        gateway.create_customer(german_creation())
    assert customers_of(system, GERMAN_ACCOUNT) == []


def test_sap_down_is_transient(gateway, system):
    system.configure_faults("down=true")
    with pytest.raises(SapTransientError):
        gateway.create_customer(german_creation())
    with pytest.raises(SapTransientError):
        gateway.ping()


# --------------------------------------------------------------------------- error classes


def test_logon_error_is_a_configuration_error_without_the_password(system):
    system.credentials = ("RFC_USER", "another password")
    gateway = RfcSapGateway(LOGON, rfc_module=simulator)
    with pytest.raises(SapConfigurationError) as raised:
        gateway.create_customer(german_creation())
    assert "S3cr3t!" not in raised.value.detail
    assert system.counters["logons"] == 0 and system.calls["BAPI_CUSTOMER_FIND"] == 0


def test_abap_runtime_error_is_permanent(gateway, system):
    system.faults.arm("abap_runtime_error")
    with pytest.raises(SapPermanentError) as raised:
        gateway.create_customer(german_creation())
    assert "ABAPRuntimeError" in raised.value.detail
    assert customers_of(system, GERMAN_ACCOUNT) == []


def test_external_runtime_error_is_retried_once_on_a_fresh_connection(gateway, system):
    system.faults.arm("external_runtime_error")
    created = gateway.create_customer(german_creation())
    assert not created.already_existed
    assert system.counters["logons"] == 2

    system.faults.arm("external_runtime_error", times=2)
    with pytest.raises(SapTransientError):
        gateway.ping()


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


def test_unknown_bapi_field_is_permanent(gateway, system):
    with pytest.raises(SapPermanentError, match="field 'NAME_5' not found"):
        gateway.create_customer(german_creation(NAME_5="x"))


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
    from shared.sap import rfc

    def failing_import(name: str):
        if name == "pyrfc":
            raise ImportError("libsapnwrfc.so: cannot open shared object file: No such file or directory")
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    monkeypatch.setattr(rfc.importlib, "import_module", failing_import)
    with pytest.raises(SapDriverMissing, match="SAP NW RFC SDK library"):
        RfcSapGateway(LOGON).ping()


# --------------------------------------------------------------------------- concurrency


def test_eight_threads_creating_different_accounts_get_distinct_numbers(gateway, system):
    numbers: list[str] = []
    lock = threading.Lock()

    def create(index: int) -> None:
        created = gateway.create_customer(german_creation(f"001Aj00000Thread{index}A"))
        with lock:
            numbers.append(created.customer_number)

    threads = [threading.Thread(target=create, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 8 and len(set(numbers)) == 8
    assert system.counters["committed_customers"] == 8
    assert system.open_sessions == 0


def test_value_too_long_for_its_field_is_permanent(gateway, system):
    with pytest.raises(SapPermanentError, match="RFC_BUFFER_TOO_SMALL"):
        gateway.create_customer(german_creation(NAME="x" * 36))
    assert system.counters["logons"] == 1  # not retried: the same data fails the same way
