"""The simulated SAP: pyrfc's surface and errors, the BAPIs' checks, the LUW, faults, settings."""

from __future__ import annotations

import threading

import pytest

from shared.sap import simulator
from shared.sap.simulator import (
    ABAPApplicationError,
    ABAPRuntimeError,
    CommunicationError,
    Connection,
    ExternalRuntimeError,
    FaultPlan,
    FaultSettingsError,
    LogonError,
    RFCError,
    RFCLibError,
    SimulatedSap,
)

REFERENCE_1000 = {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"}
REFERENCE_3000 = {"SALESORG": "3000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000003000"}


def company(**changes: str) -> dict[str, str]:
    data = {"NAME": "Müller Maschinenbau GmbH", "CITY": "München", "POSTL_COD1": "80331", "STREET": "Hauptstr. 5",
            "COUNTRY": "DE", "REGION": "09", "LANGU": "D", "SORT2": "001AJ00000ABCDEIAV"}
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def system() -> SimulatedSap:
    return SimulatedSap()


def create(connection: Connection, data: dict[str, str] | None = None,
           reference: dict[str, str] | None = None) -> dict:
    return connection.call("BAPI_CUSTOMER_CREATEFROMDATA1", PI_COMPANYDATA=data or company(),
                           PI_COPYREFERENCE=reference or REFERENCE_1000)


def rejection(system: SimulatedSap, data: dict[str, str], reference: dict[str, str] | None = None) -> dict:
    with Connection(system=system) as connection:
        answer = create(connection, data, reference)
    assert answer["CUSTOMERNO"] == ""
    assert answer["RETURN"]["TYPE"] == "E"
    return answer["RETURN"]


# --------------------------------------------------------------------------- pyrfc's surface


def test_exceptions_mirror_pyrfc_hierarchy_signature_and_text():
    error = ABAPApplicationError("ID:FL Type:E Number:046 X", 5, "FU_NOT_FOUND", "FL", "E", "046", "X")
    assert isinstance(error, RFCLibError) and isinstance(error, RFCError)
    assert (error.code, error.key, error.msg_class, error.msg_number, error.msg_v1) == (5, "FU_NOT_FOUND", "FL",
                                                                                          "046", "X")
    assert str(error) == ("RFC_ABAP_EXCEPTION (rc=5): key=FU_NOT_FOUND, message=ID:FL Type:E Number:046 X "
                          "[MSG: class=FL, type=E, number=046, v1-4:=X;None;None;None]")
    logon = LogonError("Name or password is incorrect (repeat logon)")
    assert (logon.code, logon.key) == (2, "RFC_LOGON_FAILURE")
    for name in ("CommunicationError", "ExternalRuntimeError", "ExternalApplicationError",
                 "ExternalAuthorizationError", "ABAPRuntimeError", "LogonError"):
        assert issubclass(getattr(simulator, name), RFCLibError)


def test_unknown_function_is_fu_not_found(system):
    with Connection(system=system) as connection, pytest.raises(ABAPApplicationError) as raised:
        connection.call("Z_DOES_NOT_EXIST")
    assert raised.value.key == "FU_NOT_FOUND"
    assert raised.value.code == 5


def test_unknown_parameter_and_field_names_are_rejected_like_pyrfc(system):
    with Connection(system=system) as connection:
        with pytest.raises(ExternalRuntimeError) as raised:
            connection.call("RFC_PING", UNDEFINED="x")
        assert (raised.value.code, raised.value.key, raised.value.message) == (
            20, "RFC_INVALID_PARAMETER", "field 'UNDEFINED' not found")
        with pytest.raises(ExternalRuntimeError) as raised:
            create(connection, company(NAME1="typo"))
        assert raised.value.message == "field 'NAME1' not found"


def test_values_too_long_or_of_the_wrong_type_never_reach_sap(system):
    with Connection(system=system) as connection:
        with pytest.raises(ExternalRuntimeError) as raised:
            create(connection, company(NAME="x" * 36))
        assert raised.value.key == "RFC_BUFFER_TOO_SMALL"
        with pytest.raises(TypeError) as type_error:
            create(connection, company(POSTL_COD1=80331))  # type: ignore[arg-type]
        assert type_error.value.args[0] == "an string is required, received"
        with pytest.raises(TypeError):
            connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB={"TABNAME": "ADRC"})
    assert system.customer_count == 2  # only IDES's reference customers


def test_connection_is_a_context_manager_and_pings(system):
    with Connection(system=system, user="RFC_USER", passwd="secret") as connection:
        assert connection.alive
        connection.ping()
    assert not connection.alive
    assert system.open_sessions == 0


# --------------------------------------------------------------------------- create and read


def test_create_commit_read_back(system):
    with Connection(system=system) as connection:
        answer = create(connection, company(TEL1_NUMBR="+49891234567", SORT1="MUELLER"))
        assert answer["RETURN"]["TYPE"] == ""
        number = answer["CUSTOMERNO"]
        assert len(number) == 10 and number.isdigit()
        assert connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")["RETURN"]["TYPE"] == ""
        detail = connection.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=number, COMPANYCODE="1000")
        areas = connection.call("BAPI_CUSTOMER_GETSALESAREAS", CUSTOMERNO=number)
    address = detail["CUSTOMERADDRESS"]
    assert (address["CUSTOMER"], address["NAME"], address["CITY"], address["REGION"]) == (
        number, "Müller Maschinenbau GmbH", "München", "09")
    # Currency from the country (T005-WAERS), ISO codes filled from the R/3 keys.
    assert (address["CURRENCY"], address["COUNTRYISO"], address["LANGU_ISO"], address["TELEPHONE1"]) == (
        "EUR", "DE", "DE", "+49891234567")
    assert detail["CUSTOMERCOMPANYDETAIL"]["COMP_CODE"] == "1000"
    assert detail["CUSTOMERCOMPANYDETAIL"]["RECONC_ACCT"] == "140000"  # copied from the reference customer
    assert detail["CUSTOMERGENERALDETAIL"]["ACCNT_GRP"] == "0001"
    assert areas["SALESAREAS"] == [{"CUSTOMER": number, "SALESORG": "1000", "DISTRCHN": "10", "DIVISION": "00"}]


def test_iso_codes_are_used_when_no_r3_key_is_given_and_the_r3_key_wins_over_iso(system):
    with Connection(system=system) as connection:
        by_iso = create(connection, company(COUNTRY=None, LANGU=None, COUNTRYISO="DE", LANGU_ISO="EN",
                                            CURRENCY_ISO="CHF", SORT2="A"))
        both = create(connection, company(COUNTRYISO="US", LANGU_ISO="EN", SORT2="B"))
        connection.call("BAPI_TRANSACTION_COMMIT")
    first = system.customer(by_iso["CUSTOMERNO"])
    second = system.customer(both["CUSTOMERNO"])
    assert first is not None and second is not None
    assert (first.address["COUNTRY"], first.address["LANGU"], first.address["CURRENCY"]) == ("DE", "E", "CHF")
    assert (second.address["COUNTRY"], second.address["LANGU"]) == ("DE", "D")


@pytest.mark.parametrize(("changes", "reference", "message_id", "number", "text"), [
    ({}, {**REFERENCE_1000, "SALESORG": "9999"}, "VR", "110", "Sales area 9999 10 00 is not defined"),
    ({}, {**REFERENCE_1000, "REF_CUSTMR": "0000003000"}, "VR", "112",
     "Customer 0000003000 has not been created for sales area 1000 10 00"),
    ({"NAME": None}, None, "F2", "162", "Enter a name"),
    ({"CITY": None}, None, "AM", "231", "Enter a city"),
    ({"COUNTRY": "XX"}, None, "AM", "229", "Country XX is not defined"),
    ({"COUNTRY": None}, None, "F2", "164", "Enter a country key"),
    ({"LANGU": None}, None, "F2", "165", "Enter a language key"),
    ({"LANGU": "Z"}, None, "F2", "166", "Language key Z is not defined"),
    ({"CURRENCY": "XYZ"}, None, "F2", "167", "Currency XYZ is not defined"),
    ({"POSTL_COD1": "8033"}, None, "AM", "215", "Postal code 8033 must have length 5 (country DE)"),
    ({"POSTL_COD1": "8033A"}, None, "AM", "217", "Postal code 8033A may contain digits only (country DE)"),
    ({"POSTL_COD1": None}, None, "AM", "214", "Enter a postal code for country DE"),
    ({"REGION": "BY"}, None, "AM", "228", "Region BY not defined for country DE"),
])
def test_sap_rejects_with_its_message(system, changes, reference, message_id, number, text):
    returned = rejection(system, company(**changes), reference)
    assert (returned["ID"], returned["NUMBER"], returned["MESSAGE"]) == (message_id, number, text)


def test_us_customer_needs_a_region_known_for_the_us(system):
    us = company(COUNTRY="US", REGION=None, POSTL_COD1="10001", CITY="New York", LANGU="E")
    assert rejection(system, us, REFERENCE_3000)["MESSAGE"] == "Enter a region for country US"
    assert rejection(system, {**us, "REGION": "XX"}, REFERENCE_3000)["NUMBER"] == "228"
    with Connection(system=system) as connection:
        answer = create(connection, {**us, "REGION": "NY"}, REFERENCE_3000)
        connection.call("BAPI_TRANSACTION_COMMIT")
    record = system.customer(answer["CUSTOMERNO"])
    assert record is not None and record.address["CURRENCY"] == "USD"
    assert "3000" in record.company_codes


def test_personal_and_company_data_together_are_rejected(system):
    with Connection(system=system) as connection:
        answer = connection.call("BAPI_CUSTOMER_CREATEFROMDATA1", PI_PERSONALDATA={"LASTNAME": "Doe"},
                                 PI_COMPANYDATA=company(), PI_COPYREFERENCE=REFERENCE_1000)
    assert answer["RETURN"]["TYPE"] == "E" and answer["CUSTOMERNO"] == ""


def test_getdetail2_of_an_unknown_customer_is_an_error(system):
    with Connection(system=system) as connection:
        answer = connection.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO="0000999999")
        # pyrfc runs no conversion exits: "1000" is not customer 0000001000.
        unpadded = connection.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO="1000")
    assert answer["RETURN"]["TYPE"] == "E" and answer["CUSTOMERADDRESS"]["NAME"] == ""
    assert unpadded["RETURN"]["TYPE"] == "E"


def test_find_searches_committed_customers_with_and_without_placeholders(system):
    with Connection(system=system) as connection:
        number = create(connection, company(SORT2="001aj00000abcdeiav"))["CUSTOMERNO"]
        selection = [{"TABNAME": "ADRC", "FIELDNAME": "SORT2", "FIELDVALUE": "001AJ00000ABCDEIAV"}]
        assert connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=selection)["RESULT_TAB"] == []  # not committed
        connection.call("BAPI_TRANSACTION_COMMIT")
        exact = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=selection)
        wildcard = connection.call("BAPI_CUSTOMER_FIND", PL_HOLD="X", MAX_CNT=5,
                                   SELOPT_TAB=[{"TABNAME": "KNA1", "FIELDNAME": "NAME1", "FIELDVALUE": "Müller*"}])
        unknown = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=[{"TABNAME": "KNA1", "FIELDNAME": "NOPE",
                                                                     "FIELDVALUE": "x"}])
    assert [row["CUSTOMER"] for row in exact["RESULT_TAB"]] == [number]  # SORT2 is stored upper case
    assert [row["CUSTOMER"] for row in wildcard["RESULT_TAB"]] == [number]
    assert unknown["RETURN"]["TYPE"] == "E"


# --------------------------------------------------------------------------- the LUW


def test_uncommitted_customer_is_invisible_to_other_connections(system):
    with Connection(system=system) as creator, Connection(system=system) as reader:
        number = create(creator)["CUSTOMERNO"]
        assert reader.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=number)["RETURN"]["TYPE"] == "E"
        creator.call("BAPI_TRANSACTION_COMMIT", WAIT="X")
        assert reader.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=number)["RETURN"]["TYPE"] == ""


def test_close_without_commit_and_rollback_discard_and_leave_number_gaps(system):
    with Connection(system=system) as connection:
        first = create(connection)["CUSTOMERNO"]
    with Connection(system=system) as connection:
        second = create(connection)["CUSTOMERNO"]
        connection.call("BAPI_TRANSACTION_ROLLBACK")
        connection.call("BAPI_TRANSACTION_COMMIT")
        third = create(connection)["CUSTOMERNO"]
        connection.call("BAPI_TRANSACTION_COMMIT")
    assert system.customer(first) is None and system.customer(second) is None
    assert system.customer(third) is not None
    assert int(third) == int(first) + 2  # drawn numbers are gaps, never reused


def test_communication_error_drops_the_session_so_a_later_commit_commits_nothing(system):
    connection = Connection(system=system)
    number = create(connection)["CUSTOMERNO"]
    system.faults.arm("communication_before")
    with pytest.raises(CommunicationError):
        connection.call("RFC_PING")
    assert connection.alive  # pyrfc reconnected inside the failing call: a new, empty session
    connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")  # commits nothing
    connection.close()
    assert system.customer(number) is None


def test_a_failed_reconnect_raises_its_own_error_and_closes_the_connection(system):
    connection = Connection(system=system)
    system.faults.arm("communication_before")
    system.faults.logon_error = True  # e.g. the password was changed meanwhile
    with pytest.raises(LogonError):
        connection.call("RFC_PING")
    system.faults.logon_error = False
    with pytest.raises(RFCError) as raised:
        connection.call("RFC_PING")
    assert "closed" in str(raised.value) and not isinstance(raised.value, CommunicationError)


def test_a_closed_connection_refuses_calls_until_reopened(system):
    connection = Connection(system=system)
    connection.close()
    with pytest.raises(RFCError):
        connection.call("RFC_PING")
    connection.open()
    assert connection.call("RFC_PING") == {}


def test_timeout_cancels_a_slow_call_on_a_new_session(system):
    system.configure_faults("latency_ms=300")
    connection = Connection(config={"timeout": 0.05}, system=system)
    with pytest.raises(CommunicationError) as raised:
        connection.call("RFC_PING")
    assert (raised.value.code, raised.value.key) == (7, "RFC_CANCELED")
    assert connection.alive


def test_unknown_config_options_are_refused_like_pyrfc(system):
    with pytest.raises(RFCError):
        Connection(config={"timeout": 1, "bogus": 1}, system=system)


def test_communication_error_after_commit_loses_only_the_answer(system):
    system.faults.arm("communication_after_commit")
    with Connection(system=system) as connection:
        number = create(connection)["CUSTOMERNO"]
        with pytest.raises(CommunicationError):
            connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")
    assert system.customer(number) is not None


def test_concurrent_creates_draw_distinct_numbers(system):
    numbers: list[str] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        with Connection(system=system) as connection:
            number = create(connection, company(SORT2=f"ACCOUNT{index}"))["CUSTOMERNO"]
            connection.call("BAPI_TRANSACTION_COMMIT")
        with lock:
            numbers.append(number)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(numbers)) == 16
    assert system.counters["committed_customers"] == 16


# --------------------------------------------------------------------------- faults and settings


def test_fault_settings_string_is_parsed_and_validated():
    plan = FaultPlan.parse("latency_ms=20, communication_before=0.1,communication_after_commit=0.05,"
                           "communication_after_bapi=0,fail_next_calls=2,down=false,logon_error=true,"
                           "abap_runtime_error=0,seed=1")
    assert plan.latency_ms == 20 and plan.fail_next_calls == 2 and plan.logon_error and not plan.down
    assert plan.probabilities["communication_before"] == 0.1
    with pytest.raises(FaultSettingsError, match="unknown fault 'explode'"):
        FaultPlan.parse("explode=1")
    with pytest.raises(FaultSettingsError):
        FaultPlan.parse("communication_before=2")


def test_down_logon_error_and_failing_calls(system):
    system.configure_faults("down=true")
    with pytest.raises(CommunicationError):
        Connection(system=system)
    system.configure_faults("logon_error=true")
    with pytest.raises(LogonError):
        Connection(system=system)
    system.configure_faults("fail_next_calls=1")
    with pytest.raises(CommunicationError):
        Connection(system=system)
    Connection(system=system).close()


def test_abap_runtime_error_in_the_create_bapi(system):
    system.faults.arm("abap_runtime_error")
    with Connection(system=system) as connection, pytest.raises(ABAPRuntimeError):
        create(connection)


def test_credentials_are_checked_when_configured():
    system = SimulatedSap(credentials=("RFC_USER", "secret"))
    with pytest.raises(LogonError) as raised:
        Connection(system=system, user="RFC_USER", passwd="wrong")
    assert raised.value.key == "RFC_LOGON_FAILURE"
    Connection(system=system, user="rfc_user", passwd="secret").close()


def test_environment_configures_faults_and_credentials():
    environment = {"SAP_SIMULATOR_FAULTS": "down=true", "SAP_SIMULATOR_USER": "U", "SAP_SIMULATOR_PASSWORD": "p"}
    system = simulator.simulator_system_from_environment(environment)
    assert system.faults.down and system.credentials == ("U", "p")
    with simulator.use_system(SimulatedSap()) as fresh:
        configured = simulator.configure_default_system_from_environment({"SAP_SIMULATOR_FAULTS": "latency_ms=1"})
        assert configured is fresh and fresh.faults.latency_ms == 1
        assert simulator.default_system() is fresh


def test_calls_per_function_are_counted(system):
    with Connection(system=system) as connection:
        connection.ping()
        connection.ping()
    assert system.calls["RFC_PING"] == 2
