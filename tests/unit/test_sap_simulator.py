"""The simulated SAP: pyrfc's surface and errors, SAP's published interfaces, the BAPIs' checks, the LUW,
pyrfc 3.4's truncation and reconnect, faults, settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

import sap_simulator as simulator
from sap_simulator import (
    ABAPApplicationError,
    ABAPRuntimeError,
    CommunicationError,
    Connection,
    CustomerRecord,
    ExternalRuntimeError,
    FaultPlan,
    FaultSettingsError,
    FunctionDescription,
    LogonError,
    RFCError,
    RFCLibError,
    SimulatedSap,
    TypeDescription,
)
from sap_simulator.interfaces import INTERFACES, STRUCTURES
from shared.settings import SettingsError
from tests.support.concurrency import run_together

REFERENCE_1000 = {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"}
REFERENCE_3000 = {"SALESORG": "3000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000003000"}
MESSAGE_FIELDS = [
    "TYPE",
    "ID",
    "NUMBER",
    "MESSAGE",
    "LOG_NO",
    "LOG_MSG_NO",
    "MESSAGE_V1",
    "MESSAGE_V2",
    "MESSAGE_V3",
    "MESSAGE_V4",
]

# --------------------------------------------------------------------------- SAP's published interfaces
# The evidence, written out literally so that a change to the simulator cannot carry it along.
# BAPIKNA106 (names and order): classes generated from a live ERP's WSDL in the public repository
# luisurbinanet/tactusoft-svn, affinityWebServices/src/com/tactusoft/webservice/client/objects/Bapikna106.java.
# BAPIKNA105, BAPIKNA110 (names), BAPIRETURN, BAPIRET1: the same folder's Bapikna105.java, Bapikna110.java,
# Bapireturn.java, Bapiret1.java. BAPIKNA101_1, BAPICUSTOMER_04, BAPICUSTOMER_05, BAPICUSTOMER_02: the same
# folder's Bapikna1011.java, Bapicustomer04.java, Bapicustomer05.java, Bapicustomer02.java (SOAP "mc-style"
# names: a capital after the first letter stands for an underscore). BAPIKNA110/BAPIKNA111/BAPIRETURN1 with
# their lengths and BAPI_CUSTOMER_FIND's parameters: praveen4students/hmh_backup, enterprise-web-services-camel/
# src/main/java/hmh/sap/rfc/ (Bapikna110Type.java, Bapikna111Type.java, Bapireturn1Type.java,
# Bapi_Customer_Find_Input.java, Bapi_Customer_Find_Output.java). Totals 803 (BAPIKNA101_1) and 470
# (BAPIRETURN1): stechno.net's pages of BAPI_CUSTOMER_GETDETAIL1 and BAPI_CUSTOMER_CHANGEFROMDATA1.
BAPIKNA106_PUBLISHED = [
    "TITLE",
    "TITLE_KEY",
    "NAME",
    "NAME_2",
    "NAME_3",
    "NAME_4",
    "C_O_NAME",
    "CITY",
    "DISTRICT",
    "CITY_NO",
    "POSTL_COD1",
    "POSTL_COD2",
    "POSTL_COD3",
    "PO_BOX",
    "PO_BOX_CIT",
    "DELIV_DIS",
    "STREET",
    "HOUSE_NO",
    "BUILDING",
    "FLOOR",
    "ROOM_NO",
    "COUNTRY",
    "LANGU",
    "REGION",
    "TEL1_NUMBR",
    "TEL1_EXT",
    "FAX_NUMBER",
    "FAX_EXTENS",
    "E_MAIL",
    "COUNTRYISO",
    "LANGU_ISO",
    "CURRENCY",
    "CURRENCY_ISO",
]
BAPIKNA105_PUBLISHED = [
    "TRANSPZONE",
    "CONTROL_ACCOUNT",
    "PMNTTRMS",
    "SHIP_COND",
    "DELYG_PLNT",
    "PART_DLV",
    "C_CTR_AREA",
    "TAXJURCODE",
]
BAPIKNA110_PUBLISHED = {"COMP_CODE": 4, "TABNAME": 30, "FIELDNAME": 30, "FIELDVALUE": 132}
BAPIKNA101_1_PUBLISHED = [
    "TITLE_P",
    "FIRSTNAME",
    "LASTNAME",
    "MIDDLENAME",
    "SECONDNAME",
    "DATE_BIRTH",
    "CITY",
    "DISTRICT",
    "POSTL_COD1",
    "POSTL_COD2",
    "PO_BOX",
    "PO_BOX_CIT",
    "STREET",
    "HOUSE_NO",
    "BUILDING",
    "FLOOR",
    "ROOM_NO",
    "COUNTRY",
    "COUNTRYISO",
    "REGION",
    "TEL1_NUMBR",
    "TEL1_EXT",
    "FAX_NUMBER",
    "FAX_EXTENS",
    "E_MAIL",
    "LANGU_P",
    "LANGUP_ISO",
    "CURRENCY",
    "CURRENCY_ISO",
    "TITLE_KEY",
    "ONLY_CHANGE_COMADDRESS",
]
BAPIKNA101_1_TOTAL_LENGTH = 803
BAPICUSTOMER_04_PUBLISHED = [
    "CUSTOMER",
    "NAME",
    "NAME_2",
    "NAME_3",
    "NAME_4",
    "CITY",
    "DISTRICT",
    "PO_BOX",
    "POBX_PCD",
    "POSTL_CODE",
    "REGION",
    "COUNTYCODE",
    "CITY_CODE",
    "STREET",
    "TELEPHONE",
    "COUNTRY",
    "COUNTRYISO",
    "POBX_CTY",
    "LANGU",
    "LANGU_ISO",
    "SORT_FLD",
    "MATCHCODE1",
    "MATCHCODE2",
    "MATCHCODE3",
    "FORMOFADDR",
    "TELEBOX",
    "TELEPHONE2",
    "TELETEX",
    "TELEX",
    "TRANSPZONE",
    "NIELSEN_ID",
]
BAPICUSTOMER_05_PUBLISHED = [
    "CUSTOMER",
    "COMP_CODE",
    "CLERK",
    "HD_OFFICE",
    "ALT_PAYER",
    "CUVD_CLEAR",
    "PMNTTRMS",
    "ACT_AT_CUS",
    "CUST_USER",
    "NEXT_PAYEE",
    "BUYING_GRP",
    "INTERNET",
    "FAX",
    "PAYMENT_METHODS",
    "TEL",
]
BAPICUSTOMER_02_PUBLISHED = [
    "CUSTOMER",
    "BANK_CTRY",
    "BANK_KEY",
    "BANK_ACCT",
    "CTRL_KEY",
    "PARTNER_BK",
    "COLL_AUTH",
    "BANK_REF",
]
BAPIKNA111_LENGTHS_PUBLISHED = {
    "COMP_CODE": 4,
    "TABNAME": 30,
    "FIELDNAME": 30,
    "FIELDVALUE": 132,
    "CUSTOMER": 10,
    "PSTG_BLK_G": 1,
    "PSTG_BLK_C": 1,
    "DEL_FLAG_G": 1,
    "DEL_FLAG_C": 1,
    "TYPE": 1,
    "ID": 20,
    "NUMBER": 3,
    "MESSAGE": 220,
    "LOG_NO": 20,
    "LOG_MSG_NO": 6,
    "MESSAGE_V1": 50,
    "MESSAGE_V2": 50,
    "MESSAGE_V3": 50,
    "MESSAGE_V4": 50,
}
BAPIRETURN1_TOTAL_LENGTH = 470
BAPIKNA111_PUBLISHED = [
    "COMP_CODE",
    "TABNAME",
    "FIELDNAME",
    "FIELDVALUE",
    "CUSTOMER",
    "PSTG_BLK_G",
    "PSTG_BLK_C",
    "DEL_FLAG_G",
    "DEL_FLAG_C",
    "TYPE",
    "ID",
    "NUMBER",
    "MESSAGE",
    "LOG_NO",
    "LOG_MSG_NO",
    "MESSAGE_V1",
    "MESSAGE_V2",
    "MESSAGE_V3",
    "MESSAGE_V4",
]


def company(**changes: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "NAME": "Müller Maschinenbau GmbH",
        "CITY": "München",
        "POSTL_COD1": "80331",
        "STREET": "Hauptstr. 5",
        "COUNTRY": "DE",
        "REGION": "09",
        "LANGU": "D",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def system() -> SimulatedSap:
    return SimulatedSap()


def create(connection: Connection, data: dict[str, str] | None = None, reference: dict[str, str] | None = None) -> dict:
    return connection.call(
        "BAPI_CUSTOMER_CREATEFROMDATA1", PI_COMPANYDATA=data or company(), PI_COPYREFERENCE=reference or REFERENCE_1000
    )


def rejection(system: SimulatedSap, data: dict[str, str], reference: dict[str, str] | None = None) -> dict:
    with Connection(system=system) as connection:
        answer = create(connection, data, reference)
    assert answer["CUSTOMERNO"] == ""
    assert answer["RETURN"]["TYPE"] == "E"
    return answer["RETURN"]


def parameter(description: FunctionDescription, name: str) -> dict:
    [found] = [p for p in description.parameters if p["name"] == name]
    return found


def field_names(description: FunctionDescription, parameter_name: str) -> list[str]:
    return [f["name"] for f in parameter(description, parameter_name)["type_description"].fields]


def kna1_selection(**values: str) -> list[dict[str, str]]:
    return [{"TABNAME": "KNA1", "FIELDNAME": name, "FIELDVALUE": value} for name, value in values.items()]


def without(structure: str, field_name: str) -> dict:
    return {**STRUCTURES, structure: {k: v for k, v in STRUCTURES[structure].items() if k != field_name}}


# --------------------------------------------------------------------------- the published interfaces


def test_the_simulated_structures_are_the_published_field_lists():
    assert list(STRUCTURES["BAPIKNA106"]) == BAPIKNA106_PUBLISHED
    assert len(BAPIKNA106_PUBLISHED) == 33
    assert not {"SORT1", "SORT2", "FORM_OF_AD", "POBX_PCD"} & set(STRUCTURES["BAPIKNA106"])
    assert list(STRUCTURES["BAPIKNA105"]) == BAPIKNA105_PUBLISHED
    assert {name: length for name, (_, length) in STRUCTURES["BAPIKNA110"].items()} == BAPIKNA110_PUBLISHED
    assert all(abap_type == "C" for abap_type, _ in STRUCTURES["BAPIKNA110"].values())
    assert list(STRUCTURES["BAPIKNA111"]) == BAPIKNA111_PUBLISHED
    # BAPIRETURN carries class and number together in CODE; BAPIRET1 and BAPIRETURN1 keep them apart.
    assert "CODE" in STRUCTURES["BAPIRETURN"]
    assert not {"ID", "NUMBER"} & set(STRUCTURES["BAPIRETURN"])
    assert list(STRUCTURES["BAPIRET1"]) == MESSAGE_FIELDS
    assert list(STRUCTURES["BAPIRETURN1"]) == MESSAGE_FIELDS
    assert list(STRUCTURES["BAPICUSTOMER_04"]) == BAPICUSTOMER_04_PUBLISHED
    assert not {"TITLE", "FAX_NUMBER", "CURRENCY", "E_MAIL", "POSTL_COD1", "SORT1", "SORT2"} & set(
        STRUCTURES["BAPICUSTOMER_04"]
    )
    assert list(STRUCTURES["BAPICUSTOMER_05"]) == BAPICUSTOMER_05_PUBLISHED
    assert "RECONC_ACCT" not in STRUCTURES["BAPICUSTOMER_05"]
    assert list(STRUCTURES["BAPICUSTOMER_02"]) == BAPICUSTOMER_02_PUBLISHED
    assert {"CREAT_DATE", "ENTERED_BY"} <= set(STRUCTURES["BAPICUSTOMER_KNA1"])
    assert not {"CREATED_ON", "CREATED_BY"} & set(STRUCTURES["BAPICUSTOMER_KNA1"])


def test_the_simulated_structures_have_the_published_lengths():
    personal = STRUCTURES["BAPIKNA101_1"]
    assert list(personal) == BAPIKNA101_1_PUBLISHED and len(personal) == 31
    assert sum(length for _, length in personal.values()) == BAPIKNA101_1_TOTAL_LENGTH
    assert {
        name: personal[name][1] for name in ("FIRSTNAME", "LASTNAME", "CITY", "STREET", "E_MAIL", "TEL1_NUMBR")
    } == {"FIRSTNAME": 40, "LASTNAME": 40, "CITY": 40, "STREET": 60, "E_MAIL": 241, "TEL1_NUMBR": 30}
    assert {name: length for name, (_, length) in STRUCTURES["BAPIKNA111"].items()} == BAPIKNA111_LENGTHS_PUBLISHED
    assert sum(length for _, length in STRUCTURES["BAPIRETURN1"].values()) == BAPIRETURN1_TOTAL_LENGTH
    assert STRUCTURES["BAPIRETURN1"]["NUMBER"] == ("N", 3) and STRUCTURES["BAPIKNA111"]["NUMBER"] == ("N", 3)


def test_the_function_modules_use_the_published_structures():
    def row(function: str, parameter_name: str) -> str | None:
        return INTERFACES[function][parameter_name].structure

    assert row("BAPI_CUSTOMER_CREATEFROMDATA1", "PI_COMPANYDATA") == "BAPIKNA106"
    assert row("BAPI_CUSTOMER_CREATEFROMDATA1", "PI_OPT_COMPANYDATA") == "BAPIKNA105"
    assert row("BAPI_CUSTOMER_CREATEFROMDATA1", "RETURN") == "BAPIRETURN1"
    assert row("BAPI_CUSTOMER_GETDETAIL2", "RETURN") == "BAPIRET1"
    assert row("BAPI_CUSTOMER_GETDETAIL2", "CUSTOMERADDRESS") == "BAPICUSTOMER_04"
    assert row("BAPI_CUSTOMER_GETDETAIL2", "CUSTOMERGENERALDETAIL") == "BAPICUSTOMER_KNA1"
    assert row("BAPI_CUSTOMER_GETDETAIL2", "CUSTOMERCOMPANYDETAIL") == "BAPICUSTOMER_05"
    assert row("BAPI_CUSTOMER_GETDETAIL2", "CUSTOMERBANKDETAIL") == "BAPICUSTOMER_02"
    assert row("BAPI_CUSTOMER_GETSALESAREAS", "RETURN") == "BAPIRETURN"
    assert row("BAPI_CUSTOMER_FIND", "SELOPT_TAB") == "BAPIKNA110"
    assert row("BAPI_CUSTOMER_FIND", "RESULT_TAB") == "BAPIKNA111"
    assert row("BAPI_CUSTOMER_FIND", "RETURN") == "BAPIRETURN1"
    assert INTERFACES["BAPI_CUSTOMER_FIND"]["RETURN"].direction == "EXPORT"
    # Not optional in the published interfaces: PI_PERSONALDATA, PI_COPYREFERENCE, SELOPT_TAB, RESULT_TAB.
    assert not INTERFACES["BAPI_CUSTOMER_CREATEFROMDATA1"]["PI_PERSONALDATA"].optional
    assert not INTERFACES["BAPI_CUSTOMER_CREATEFROMDATA1"]["PI_COPYREFERENCE"].optional
    assert INTERFACES["BAPI_CUSTOMER_CREATEFROMDATA1"]["PI_COMPANYDATA"].optional
    assert not INTERFACES["BAPI_CUSTOMER_FIND"]["SELOPT_TAB"].optional
    assert not INTERFACES["BAPI_CUSTOMER_FIND"]["RESULT_TAB"].optional
    assert INTERFACES["BAPI_CUSTOMER_FIND"]["MAX_CNT"].field_type == ("I", 4)
    assert INTERFACES["BAPI_CUSTOMER_FIND"]["PL_HOLD"].field_type == ("C", 1)


def test_function_description_of_createfromdata1_has_pyrfcs_shape_and_the_published_names(system):
    with Connection(system=system) as connection:
        description = connection.get_function_description("BAPI_CUSTOMER_CREATEFROMDATA1")
    assert isinstance(description, FunctionDescription)
    assert description.name == "BAPI_CUSTOMER_CREATEFROMDATA1"
    assert all(
        set(p) >= {"name", "parameter_type", "direction", "nuc_length", "uc_length", "optional", "type_description"}
        for p in description.parameters
    )
    company_data = parameter(description, "PI_COMPANYDATA")
    assert (company_data["parameter_type"], company_data["direction"], company_data["optional"]) == (
        "RFCTYPE_STRUCTURE",
        "RFC_IMPORT",
        True,
    )
    row = company_data["type_description"]
    assert isinstance(row, TypeDescription) and row.name == "BAPIKNA106"
    assert field_names(description, "PI_COMPANYDATA") == BAPIKNA106_PUBLISHED
    assert field_names(description, "PI_OPT_COMPANYDATA") == BAPIKNA105_PUBLISHED
    name = next(f for f in row.fields if f["name"] == "NAME")
    assert set(name) >= {"name", "field_type", "nuc_length", "uc_length", "nuc_offset", "uc_offset", "decimals"}
    # pyrfc reports lengths in bytes: one per character non-Unicode, two (UTF-16) in a Unicode system.
    assert name["field_type"] == "RFCTYPE_CHAR" and name["uc_length"] == 2 * name["nuc_length"]
    assert row.uc_length == sum(f["uc_length"] for f in row.fields)
    assert parameter(description, "PI_COPYREFERENCE")["optional"] is False
    assert parameter(description, "CUSTOMERNO")["direction"] == "RFC_EXPORT"
    assert parameter(description, "RETURN")["type_description"].name == "BAPIRETURN1"


def test_function_descriptions_of_the_other_bapis_show_the_published_structures(system):
    with Connection(system=system) as connection:
        find = connection.get_function_description("BAPI_CUSTOMER_FIND")
        detail = connection.get_function_description("BAPI_CUSTOMER_GETDETAIL2")
        areas = connection.get_function_description("BAPI_CUSTOMER_GETSALESAREAS")
    selection = parameter(find, "SELOPT_TAB")
    assert (selection["parameter_type"], selection["direction"]) == ("RFCTYPE_TABLE", "RFC_TABLES")
    assert {f["name"]: f["nuc_length"] for f in selection["type_description"].fields} == BAPIKNA110_PUBLISHED
    assert {f["name"]: f["uc_length"] for f in selection["type_description"].fields} == {
        name: 2 * length for name, length in BAPIKNA110_PUBLISHED.items()
    }
    assert field_names(find, "RESULT_TAB") == BAPIKNA111_PUBLISHED
    assert parameter(find, "RESULT_TAB")["optional"] is False
    assert (parameter(find, "RETURN")["direction"], parameter(find, "RETURN")["type_description"].name) == (
        "RFC_EXPORT",
        "BAPIRETURN1",
    )
    assert field_names(find, "RETURN") == MESSAGE_FIELDS
    assert parameter(detail, "RETURN")["type_description"].name == "BAPIRET1"
    assert field_names(detail, "RETURN") == MESSAGE_FIELDS
    assert "POSTL_CODE" in field_names(detail, "CUSTOMERADDRESS")
    assert {"CREAT_DATE", "ENTERED_BY"} <= set(field_names(detail, "CUSTOMERGENERALDETAIL"))
    assert parameter(areas, "RETURN")["type_description"].name == "BAPIRETURN"
    assert "CODE" in field_names(areas, "RETURN") and "ID" not in field_names(areas, "RETURN")


def test_function_description_of_an_unknown_function_is_fu_not_found(system):
    with Connection(system=system) as connection, pytest.raises(ABAPApplicationError) as raised:
        connection.get_function_description("Z_DOES_NOT_EXIST")
    assert (raised.value.key, raised.value.code) == ("FU_NOT_FOUND", 5)


def test_another_release_is_simulated_with_other_structures():
    shorter_name = {**STRUCTURES, "BAPIKNA106": {**STRUCTURES["BAPIKNA106"], "NAME": ("C", 30)}}
    system = SimulatedSap(structures=shorter_name)
    other = SimulatedSap(structures=without("BAPIKNA106", "TEL1_EXT"))
    with Connection(system=system) as connection:
        description = connection.get_function_description("BAPI_CUSTOMER_CREATEFROMDATA1")
        answer = create(connection, company(NAME="x" * 31))
    fields = parameter(description, "PI_COMPANYDATA")["type_description"].fields
    name = next(f for f in fields if f["name"] == "NAME")
    assert (name["nuc_length"], name["uc_length"]) == (30, 60)
    assert answer["CUSTOMERNO"] and system.truncations.fields == ["PI_COMPANYDATA-NAME"]
    with Connection(system=other) as connection:
        description = connection.get_function_description("BAPI_CUSTOMER_CREATEFROMDATA1")
        assert "TEL1_EXT" not in field_names(description, "PI_COMPANYDATA")
        with pytest.raises(ExternalRuntimeError) as raised:
            create(connection, company(TEL1_EXT="45"))
    assert raised.value.message == "field 'TEL1_EXT' not found"
    assert other.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0
    # The default system is untouched by either.
    assert STRUCTURES["BAPIKNA106"]["NAME"] == ("C", 40) and "TEL1_EXT" in STRUCTURES["BAPIKNA106"]


# --------------------------------------------------------------------------- pyrfc's surface


def test_exceptions_mirror_pyrfc_hierarchy_signature_and_text():
    error = ABAPApplicationError("ID:FL Type:E Number:046 X", 5, "FU_NOT_FOUND", "FL", "E", "046", "X")
    assert isinstance(error, RFCLibError) and isinstance(error, RFCError)
    assert (error.code, error.key, error.msg_class, error.msg_number, error.msg_v1) == (
        5,
        "FU_NOT_FOUND",
        "FL",
        "046",
        "X",
    )
    assert str(error) == (
        "RFC_ABAP_EXCEPTION (rc=5): key=FU_NOT_FOUND, message=ID:FL Type:E Number:046 X "
        "[MSG: class=FL, type=E, number=046, v1-4:=X;None;None;None]"
    )
    logon = LogonError("Name or password is incorrect (repeat logon)")
    assert (logon.code, logon.key) == (2, "RFC_LOGON_FAILURE")
    for name in (
        "CommunicationError",
        "ExternalRuntimeError",
        "ExternalApplicationError",
        "ExternalAuthorizationError",
        "ABAPRuntimeError",
        "LogonError",
    ):
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
            20,
            "RFC_INVALID_PARAMETER",
            "field 'UNDEFINED' not found",
        )
        with pytest.raises(ExternalRuntimeError) as raised:
            create(connection, company(NAME1="typo"))
        assert raised.value.message == "field 'NAME1' not found"
        # The fields the old simulator invented are not in SAP's BAPIKNA106.
        for invented in ("SORT1", "SORT2", "FORM_OF_AD", "POBX_PCD"):
            with pytest.raises(ExternalRuntimeError) as raised:
                create(connection, company(**{invented: "X"}))
            assert raised.value.message == f"field '{invented}' not found"
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0  # refused before anything reached SAP


def test_values_of_the_wrong_type_never_reach_sap(system):
    with Connection(system=system) as connection:
        with pytest.raises(TypeError) as type_error:
            create(connection, company(POSTL_COD1=80331))  # type: ignore[arg-type]
        assert type_error.value.args[0] == "an string is required, received"
        with pytest.raises(TypeError):
            connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB={"TABNAME": "KNA1"})
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0 and system.calls["BAPI_CUSTOMER_FIND"] == 0
    assert system.customer_count == 2  # only IDES's reference customers


def test_a_value_too_long_for_its_field_is_truncated_silently_and_recorded(system):
    with Connection(system=system) as connection:
        answer = create(connection, company(NAME="x" * 41))  # BAPIKNA106-NAME holds 40
        assert answer["RETURN"]["TYPE"] == ""  # no error: pyrfc 3.4 cuts the value without a word
        connection.call("BAPI_TRANSACTION_COMMIT")
    record = system.customer(answer["CUSTOMERNO"])
    assert record is not None and record.address["NAME"] == "x" * 40
    assert system.truncations.fields == ["PI_COMPANYDATA-NAME"]


def test_truncation_counts_utf16_code_units_and_never_keeps_half_a_character(system):
    with Connection(system=system) as connection:
        fits = create(connection, company(NAME="🙂" * 20))  # 20 characters, 40 code units: fits
        assert system.truncations.fields == []
        cut = create(connection, company(NAME="🙂" * 21))  # 42 units
        odd = create(connection, company(NAME="x" + "🙂" * 20))  # 41 units: the 20th emoji does not fit
        connection.call("BAPI_TRANSACTION_COMMIT")
    assert system.customer(fits["CUSTOMERNO"]).address["NAME"] == "🙂" * 20
    assert system.customer(cut["CUSTOMERNO"]).address["NAME"] == "🙂" * 20
    assert system.customer(odd["CUSTOMERNO"]).address["NAME"] == "x" + "🙂" * 19
    assert system.truncations.fields == ["PI_COMPANYDATA-NAME", "PI_COMPANYDATA-NAME"]


def test_table_rows_are_truncated_too_and_trailing_blanks_are_not_a_truncation(system):
    with Connection(system=system) as connection:
        connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1="y" * 133))
        answer = create(connection, company(STREET="Hauptstr. 5   "))
        connection.call("BAPI_TRANSACTION_COMMIT")
    assert system.truncations.fields == ["SELOPT_TAB-FIELDVALUE"]
    assert system.customer(answer["CUSTOMERNO"]).address["STREET"] == "Hauptstr. 5"


def test_connection_is_a_context_manager_and_pings(system):
    with Connection(system=system, user="RFC_USER", passwd="secret") as connection:
        assert connection.alive
        connection.ping()
    assert not connection.alive
    assert system.open_sessions == 0


# --------------------------------------------------------------------------- create and read


def test_create_commit_read_back():
    system = SimulatedSap(today=lambda: date(2024, 2, 29))
    with Connection(system=system, user="rfc_user") as connection:
        answer = create(connection, company(TEL1_NUMBR="+49891234567"))
        assert answer["RETURN"]["TYPE"] == ""
        number = answer["CUSTOMERNO"]
        assert len(number) == 10 and number.isdigit()
        assert connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")["RETURN"]["TYPE"] == ""
        detail = connection.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=number, COMPANYCODE="1000")
        areas = connection.call("BAPI_CUSTOMER_GETSALESAREAS", CUSTOMERNO=number)
    address = detail["CUSTOMERADDRESS"]
    assert (address["CUSTOMER"], address["NAME"], address["CITY"], address["POSTL_CODE"], address["REGION"]) == (
        number,
        "Müller Maschinenbau GmbH",
        "München",
        "80331",
        "09",
    )
    # ISO codes filled from the R/3 keys; BAPICUSTOMER_04 calls the phone TELEPHONE.
    assert (address["COUNTRYISO"], address["LANGU_ISO"], address["TELEPHONE"]) == ("DE", "DE", "+49891234567")
    assert set(address) == set(STRUCTURES["BAPICUSTOMER_04"])  # no CURRENCY, no E_MAIL, no SORT1/2
    general = detail["CUSTOMERGENERALDETAIL"]
    assert (general["CREAT_DATE"], general["ENTERED_BY"], general["ACCNT_GRP"]) == ("20240229", "RFC_USER", "0001")
    assert set(detail["RETURN"]) == set(MESSAGE_FIELDS) and detail["RETURN"]["TYPE"] == ""  # BAPIRET1
    assert (detail["CUSTOMERCOMPANYDETAIL"]["CUSTOMER"], detail["CUSTOMERCOMPANYDETAIL"]["COMP_CODE"]) == (
        number,
        "1000",
    )
    assert detail["CUSTOMERCOMPANYDETAIL"]["PMNTTRMS"] == "ZB01"  # copied from the reference customer
    # BAPICUSTOMER_05 shows no reconciliation account (it stays in KNB1).
    assert set(detail["CUSTOMERCOMPANYDETAIL"]) == set(STRUCTURES["BAPICUSTOMER_05"])
    assert areas["SALESAREAS"] == [{"CUSTOMER": number, "SALESORG": "1000", "DISTRCHN": "10", "DIVISION": "00"}]
    # SAP's documentation of GETSALESAREAS: TYPE "S" with CODE blank when sales data was found.
    assert set(areas["RETURN"]) == set(STRUCTURES["BAPIRETURN"]) and areas["RETURN"]["TYPE"] == "S"
    record = system.customer(number)
    assert record is not None and record.address["CURRENCY"] == "EUR"  # from the country (T005-WAERS)


def test_iso_codes_are_used_when_no_r3_key_is_given_and_the_r3_key_wins_over_iso(system):
    with Connection(system=system) as connection:
        by_iso = create(
            connection, company(COUNTRY=None, LANGU=None, COUNTRYISO="DE", LANGU_ISO="EN", CURRENCY_ISO="CHF")
        )
        both = create(connection, company(COUNTRYISO="US", LANGU_ISO="EN"))
        connection.call("BAPI_TRANSACTION_COMMIT")
    first = system.customer(by_iso["CUSTOMERNO"])
    second = system.customer(both["CUSTOMERNO"])
    assert first is not None and second is not None
    assert (first.address["COUNTRY"], first.address["LANGU"], first.address["CURRENCY"]) == ("DE", "E", "CHF")
    assert (second.address["COUNTRY"], second.address["LANGU"]) == ("DE", "D")


@pytest.mark.parametrize(
    ("changes", "reference", "message_id", "number", "text"),
    [
        ({}, {**REFERENCE_1000, "SALESORG": "9999"}, "VR", "110", "Sales area 9999 10 00 is not defined"),
        (
            {},
            {**REFERENCE_1000, "REF_CUSTMR": "0000003000"},
            "VR",
            "112",
            "Customer 0000003000 has not been created for sales area 1000 10 00",
        ),
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
    ],
)
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
        answer = connection.call(
            "BAPI_CUSTOMER_CREATEFROMDATA1",
            PI_PERSONALDATA={"LASTNAME": "Doe"},
            PI_COMPANYDATA=company(),
            PI_COPYREFERENCE=REFERENCE_1000,
        )
    assert answer["RETURN"]["TYPE"] == "E" and answer["CUSTOMERNO"] == ""
    assert (answer["RETURN"]["ID"], answer["RETURN"]["NUMBER"]) == ("F2", "160")


def test_getdetail2_of_an_unknown_customer_is_an_error(system):
    with Connection(system=system) as connection:
        answer = connection.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO="0000999999")
        # pyrfc runs no conversion exits: "1000" is not customer 0000001000.
        unpadded = connection.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO="1000")
    assert answer["RETURN"]["TYPE"] == "E" and answer["CUSTOMERADDRESS"]["NAME"] == ""
    assert (answer["RETURN"]["ID"], answer["RETURN"]["NUMBER"]) == ("F2", "163")
    assert unpadded["RETURN"]["TYPE"] == "E"


def test_getsalesareas_of_an_unknown_customer_answers_no_sales_data_as_sap_documents_it(system):
    # SAP's documentation of the function: E QC160 "No sales data was found"; it does not check existence.
    with Connection(system=system) as connection:
        answer = connection.call("BAPI_CUSTOMER_GETSALESAREAS", CUSTOMERNO="0000999999")
        found = connection.call("BAPI_CUSTOMER_GETSALESAREAS", CUSTOMERNO="0000001000")
    assert (answer["RETURN"]["TYPE"], answer["RETURN"]["CODE"]) == ("E", "QC160")
    assert answer["RETURN"]["MESSAGE"] == "No sales data was found"
    assert answer["SALESAREAS"] == []
    assert (found["RETURN"]["TYPE"], found["RETURN"]["CODE"]) == ("S", "")
    assert [row["SALESORG"] for row in found["SALESAREAS"]] == ["1000"]


# --------------------------------------------------------------------------- BAPI_CUSTOMER_FIND


def test_find_searches_committed_kna1_customers_with_and_without_placeholders(system):
    with Connection(system=system) as connection:
        number = create(connection)["CUSTOMERNO"]
        selection = kna1_selection(NAME1="Müller Maschinenbau GmbH", PSTLZ="80331", ORT01="München", LAND1="DE")
        before = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=selection)  # not committed yet
        connection.call("BAPI_TRANSACTION_COMMIT")
        exact = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=selection)
        wildcard = connection.call(
            "BAPI_CUSTOMER_FIND", PL_HOLD="X", MAX_CNT=5, SELOPT_TAB=kna1_selection(NAME1="Müller*")
        )
        literal = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1="Müller*"))
        other_city = connection.call(
            "BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1="Müller Maschinenbau GmbH", ORT01="Berlin")
        )
    assert exact["RETURN"]["TYPE"] == "" and set(exact["RETURN"]) == set(MESSAGE_FIELDS)  # BAPIRETURN1
    [found] = exact["RESULT_TAB"]
    assert (found["CUSTOMER"], found["TYPE"], found["TABNAME"]) == (number, "S", "KNA1")
    assert set(found) == set(BAPIKNA111_PUBLISHED)
    assert [row["CUSTOMER"] for row in wildcard["RESULT_TAB"]] == [number]
    for nothing in (before, literal, other_city):
        [row] = nothing["RESULT_TAB"]
        assert (row["TYPE"], row["ID"], row["NUMBER"], row["CUSTOMER"]) == ("E", "F2", "173", "")


def test_find_says_nothing_found_as_one_error_row_without_a_customer(system):
    with Connection(system=system) as connection:
        answer = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1="Nobody Ltd."))
    [row] = answer["RESULT_TAB"]
    assert (row["TYPE"], row["ID"], row["NUMBER"], row["CUSTOMER"]) == ("E", "F2", "173", "")
    assert row["MESSAGE"] == "No customer found for the selection criteria"
    assert simulator.NO_MATCH_MESSAGES == (("F2", "173"),)


@pytest.mark.parametrize(
    ("selection", "number", "variables"),
    [
        ([{"TABNAME": "ADRC", "FIELDNAME": "SORT2", "FIELDVALUE": "X"}], "171", ("ADRC", "SORT2")),
        ([{"TABNAME": "KNA1", "FIELDNAME": "NOPE", "FIELDVALUE": "x"}], "171", ("KNA1", "NOPE")),
        ([], "172", ("", "")),
    ],
)
def test_a_bad_selection_is_an_error_row_too(system, selection, number, variables):
    with Connection(system=system) as connection:
        answer = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=selection)
    [row] = answer["RESULT_TAB"]
    assert (row["TYPE"], row["ID"], row["NUMBER"], row["CUSTOMER"]) == ("E", "F2", number, "")
    assert (row["MESSAGE_V1"], row["MESSAGE_V2"]) == variables


def test_find_searches_kna1_whose_name_column_holds_35_characters(system):
    long_name = "Nordwind Handelsgesellschaft mbH KG Nord"  # 40 characters: BAPIKNA106 holds them, KNA1 not
    with Connection(system=system) as connection:
        number = create(connection, company(NAME=long_name))["CUSTOMERNO"]
        connection.call("BAPI_TRANSACTION_COMMIT")
        whole = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1=long_name))
        first_35 = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1=long_name[:35]))
    assert [row["CUSTOMER"] for row in whole["RESULT_TAB"]] == [""]
    assert [row["CUSTOMER"] for row in first_35["RESULT_TAB"]] == [number]


def _two_customers_in_munich(system: SimulatedSap) -> tuple[str, str]:
    with Connection(system=system) as connection:
        mueller = create(connection)["CUSTOMERNO"]
        other = create(connection, company(NAME="Schmidt Logistik AG"))["CUSTOMERNO"]
        connection.call("BAPI_TRANSACTION_COMMIT")
    return mueller, other


def test_find_with_rows_anded_answers_one_row_per_customer_matching_every_criterion():
    system = SimulatedSap(find_rows="and")
    mueller, _ = _two_customers_in_munich(system)
    with Connection(system=system) as connection:
        answer = connection.call(
            "BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1="Müller Maschinenbau GmbH", ORT01="München")
        )
    assert [(row["CUSTOMER"], row["FIELDNAME"]) for row in answer["RESULT_TAB"]] == [(mueller, "NAME1")]


def test_find_with_one_result_per_criterion_answers_a_row_per_criterion_each_customer_matches():
    system = SimulatedSap(find_rows="per_criterion")
    mueller, other = _two_customers_in_munich(system)
    with Connection(system=system) as connection:
        answer = connection.call(
            "BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1="Müller Maschinenbau GmbH", ORT01="München")
        )
        capped = connection.call(
            "BAPI_CUSTOMER_FIND",
            MAX_CNT=2,
            SELOPT_TAB=kna1_selection(NAME1="Müller Maschinenbau GmbH", ORT01="München"),
        )
    assert [(row["CUSTOMER"], row["FIELDNAME"], row["FIELDVALUE"]) for row in answer["RESULT_TAB"]] == [
        (mueller, "NAME1", "Müller Maschinenbau GmbH"),
        (mueller, "ORT01", "München"),
        (other, "ORT01", "München"),
    ]
    # MAX_CNT counts rows, not customers: two rows name one customer.
    assert [row["CUSTOMER"] for row in capped["RESULT_TAB"]] == [mueller, mueller]


@pytest.mark.parametrize("find_rows", ["and", "per_criterion"])
def test_find_can_say_nothing_found_in_return_or_not_at_all(find_rows):
    in_return = SimulatedSap(find_rows=find_rows, find_no_match="return")
    nowhere = SimulatedSap(find_rows=find_rows, find_no_match="empty")
    own_message = SimulatedSap(find_rows=find_rows, find_no_match="return", find_no_match_message=("ZF", "042"))
    answers = []
    for system in (in_return, nowhere, own_message):
        with Connection(system=system) as connection:
            answers.append(connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NAME1="Nobody Ltd.")))
    said, silent, own = answers
    assert said["RESULT_TAB"] == [] and (said["RETURN"]["TYPE"], said["RETURN"]["ID"], said["RETURN"]["NUMBER"]) == (
        "E",
        "F2",
        "173",
    )
    assert silent["RESULT_TAB"] == [] and silent["RETURN"]["TYPE"] == ""
    assert own["RESULT_TAB"] == [] and (own["RETURN"]["ID"], own["RETURN"]["NUMBER"]) == ("ZF", "042")


def test_find_says_a_bad_selection_in_return_when_it_says_nothing_found_there():
    system = SimulatedSap(find_no_match="return")
    with Connection(system=system) as connection:
        answer = connection.call("BAPI_CUSTOMER_FIND", SELOPT_TAB=kna1_selection(NOPE="x"))
    assert answer["RESULT_TAB"] == [] and (answer["RETURN"]["TYPE"], answer["RETURN"]["NUMBER"]) == ("E", "171")


def test_find_stops_at_max_cnt(system):
    with Connection(system=system) as connection:
        for _ in range(3):
            create(connection)
        connection.call("BAPI_TRANSACTION_COMMIT")
        answer = connection.call(
            "BAPI_CUSTOMER_FIND", MAX_CNT=2, SELOPT_TAB=kna1_selection(NAME1="Müller Maschinenbau GmbH")
        )
    assert len(answer["RESULT_TAB"]) == 2 and all(row["CUSTOMER"] for row in answer["RESULT_TAB"])


def test_created_customers_leaves_out_the_ides_reference_customers(system):
    with Connection(system=system) as connection:
        number = create(connection)["CUSTOMERNO"]
        connection.call("BAPI_TRANSACTION_COMMIT")
    assert [record.number for record in system.created_customers()] == [number]
    assert [record.number for record in system.customers_where("NAME", "Becker Berlin")] == ["0000001000"]


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


@pytest.mark.parametrize(
    ("fault", "error", "call"),
    [
        ("abap_runtime_error", ABAPRuntimeError, lambda connection: create(connection)),
        ("external_runtime_error", ExternalRuntimeError, lambda connection: connection.call("RFC_PING")),
    ],
)
def test_a_short_dump_or_an_rfc_library_error_reopens_a_new_session(system, fault, error, call):
    connection = Connection(system=system)
    number = create(connection)["CUSTOMERNO"]
    system.faults.arm(fault)
    with pytest.raises(error):
        call(connection)
    assert connection.alive and system.counters["logons"] == 2  # pyrfc 3.4 reopened inside call()
    connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")  # on the new session: commits nothing
    connection.close()
    assert system.customer(number) is None


@pytest.mark.parametrize(
    ("error", "reopens"),
    [
        (CommunicationError("partner not reached", 1, "RFC_COMMUNICATION_FAILURE"), True),
        (ABAPRuntimeError("short dump", 3, "MESSAGE_TYPE_X"), True),
        (LogonError("user locked"), True),
        (ExternalRuntimeError("invalid handle", 13, "RFC_INVALID_HANDLE"), True),
        (ABAPApplicationError("an ABAP message", 4, "RFC_ABAP_MESSAGE"), True),
        (ABAPApplicationError("an ABAP exception", 5, "NOT_FOUND"), False),
    ],
)
def test_call_reopens_after_the_error_groups_pyrfc_34_reopens_after(system, monkeypatch, error, reopens):
    connection = Connection(system=system)
    number = create(connection)["CUSTOMERNO"]
    invoke = system.invoke
    failures = [error]

    def failing_once(session_id: int, function_name: str, inputs: dict) -> dict:
        if failures:
            raise failures.pop()
        return invoke(session_id, function_name, inputs)

    monkeypatch.setattr(system, "invoke", failing_once)
    with pytest.raises(type(error)):
        connection.call("RFC_PING")
    assert connection.alive
    assert system.counters["logons"] == (2 if reopens else 1)
    connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")
    connection.close()
    # A new session lost the uncommitted customer; the old one still held it.
    assert (system.customer(number) is None) is reopens


def test_errors_while_filling_parameters_never_reopen(system):
    connection = Connection(system=system)
    number = create(connection)["CUSTOMERNO"]
    with pytest.raises(ExternalRuntimeError):
        create(connection, company(SORT2="X"))
    with pytest.raises(TypeError):
        create(connection, company(NAME=42))  # type: ignore[arg-type]
    with pytest.raises(ABAPApplicationError):
        connection.call("Z_DOES_NOT_EXIST")
    assert system.counters["logons"] == 1
    connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")  # the same session: the customer is committed
    connection.close()
    assert system.customer(number) is not None


def test_ping_never_reopens(system):
    connection = Connection(system=system)
    number = create(connection)["CUSTOMERNO"]
    system.faults.arm("communication_before")
    with pytest.raises(CommunicationError):
        connection.ping()
    assert not connection.alive and system.counters["logons"] == 1  # RfcPing: no reconnect
    assert system.open_sessions == 0  # and the session, with its uncommitted customer, is gone
    with pytest.raises(RFCError):
        connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")  # the dead handle does not commit quietly
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
    with pytest.raises(RFCError):
        connection.get_function_description("RFC_PING")
    connection.open()
    assert connection.call("RFC_PING") == {}


def test_timeout_cancels_a_slow_call_on_a_new_session(system):
    system.configure_faults("latency_ms=300")
    waits: list[float] = []
    system.sleep = waits.append  # recorded, not slept
    connection = Connection(config={"timeout": 0.05}, system=system)
    with pytest.raises(CommunicationError) as raised:
        connection.call("RFC_PING")
    assert (raised.value.code, raised.value.key) == (7, "RFC_CANCELED")
    assert connection.alive
    # the logon's latency, the call cut off at the timeout, the new session's logon
    assert waits == [0.3, 0.05, 0.3]


def test_latency_is_waited_through_the_injected_sleep_before_every_logon_and_call():
    waits: list[float] = []
    system = SimulatedSap(sleep=waits.append)
    system.configure_faults("latency_ms=20")
    with Connection(system=system) as connection:
        connection.call("RFC_PING")
        connection.call("RFC_PING")
    assert waits == [0.02, 0.02, 0.02]


def test_unknown_config_options_are_refused_like_pyrfc(system):
    with pytest.raises(RFCError, match="Connection configuration option 'bogus' is not supported"):
        Connection(config={"timeout": 1, "bogus": 1}, system=system)


def test_pyrfc_34s_config_options_check_date_and_check_time_are_accepted_and_default_to_true(system):
    # SAP/PyRFC src/pyrfc/_cyrfc.pyx, Connection.__init__ (version 3.4).
    with Connection(system=system) as connection:
        assert (connection.options["check_date"], connection.options["check_time"]) == (True, True)
    with Connection(config={"check_date": False, "check_time": False}, system=system) as connection:
        assert (connection.options["check_date"], connection.options["check_time"]) == (False, False)


@pytest.mark.parametrize("birth_date", ["2024-02-30", "20240230", "2024023", 20240229])
def test_a_date_pyrfc_cannot_fill_is_a_type_error_before_sap_is_called(system, birth_date):
    with Connection(system=system) as connection, pytest.raises(TypeError, match="date value required"):
        connection.call(
            "BAPI_CUSTOMER_CREATEFROMDATA1", PI_PERSONALDATA={"DATE_BIRTH": birth_date}, PI_COPYREFERENCE=REFERENCE_1000
        )
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


def test_without_check_date_a_malformed_date_string_reaches_sap(system):
    with Connection(config={"check_date": False}, system=system) as connection:
        answer = connection.call(
            "BAPI_CUSTOMER_CREATEFROMDATA1", PI_PERSONALDATA={"DATE_BIRTH": "20240230"}, PI_COPYREFERENCE=REFERENCE_1000
        )
        valid = connection.call(
            "BAPI_CUSTOMER_CREATEFROMDATA1",
            PI_PERSONALDATA={"DATE_BIRTH": date(1970, 1, 2)},
            PI_COPYREFERENCE=REFERENCE_1000,
        )
    # The simulator refuses personal data (F2 169) once the call has reached it.
    assert answer["RETURN"]["NUMBER"] == valid["RETURN"]["NUMBER"] == "169"
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 2


def test_communication_error_after_commit_loses_only_the_answer(system):
    system.faults.arm("communication_after_commit")
    with Connection(system=system) as connection:
        number = create(connection)["CUSTOMERNO"]
        with pytest.raises(CommunicationError):
            connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")
    assert system.customer(number) is not None


def test_concurrent_creates_draw_distinct_numbers(system):
    def work(index: int) -> Callable[[], str]:
        def create_and_commit() -> str:
            with Connection(system=system) as connection:
                number = create(connection, company(NAME=f"Account {index} GmbH"))["CUSTOMERNO"]
                connection.call("BAPI_TRANSACTION_COMMIT")
            return number

        return create_and_commit

    numbers = run_together(*[work(index) for index in range(16)])
    assert len(set(numbers)) == 16
    assert system.counters["committed_customers"] == 16
    assert sorted(record.address["NAME"] for record in system.created_customers()) == sorted(
        f"Account {index} GmbH" for index in range(16)
    )


# --------------------------------------------------------------------------- faults and settings


def test_fault_settings_string_is_parsed_and_validated():
    plan = FaultPlan.parse(
        "latency_ms=20, communication_before=0.1,communication_after_commit=0.05,"
        "communication_after_bapi=0,fail_next_calls=2,down=false,logon_error=true,"
        "abap_runtime_error=0,seed=1"
    )
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
    assert system.created_customers() == []


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


def test_environment_chooses_how_find_answers():
    environment = {"SAP_SIMULATOR_FIND_ROWS": "per_criterion", "SAP_SIMULATOR_FIND_NO_MATCH": "Return"}
    system = simulator.simulator_system_from_environment(environment)
    assert (system.find_rows, system.find_no_match) == ("per_criterion", "return")
    default = simulator.simulator_system_from_environment({})
    assert (default.find_rows, default.find_no_match) == ("and", "result_tab")
    with simulator.use_system(SimulatedSap()) as fresh:
        simulator.configure_default_system_from_environment({"SAP_SIMULATOR_FIND_ROWS": "per_criterion"})
        assert fresh.find_rows == "per_criterion"
    with pytest.raises(SettingsError, match="SAP_SIMULATOR_FIND_ROWS: one of and, per_criterion, not 'or'"):
        simulator.simulator_system_from_environment({"SAP_SIMULATOR_FIND_ROWS": "or"})
    with pytest.raises(SettingsError, match="SAP_SIMULATOR_FIND_NO_MATCH"):
        simulator.simulator_system_from_environment({"SAP_SIMULATOR_FIND_NO_MATCH": "nowhere"})
    with pytest.raises(ValueError, match="find_rows"):
        SimulatedSap(find_rows="or")


def test_calls_per_function_are_counted(system):
    with Connection(system=system) as connection:
        connection.ping()
        connection.ping()
    assert system.calls["RFC_PING"] == 2


def test_the_ides_reference_customers_were_created_by_another_user(system):
    becker = system.customer("0000001000")
    assert isinstance(becker, CustomerRecord)
    assert becker.general["ENTERED_BY"] == "IDES" and becker.kna1()["ERNAM"] == "IDES"
