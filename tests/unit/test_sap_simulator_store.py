"""The simulated SAP's database in a file (sap_simulator/store.py): two systems on one file see
each other's commits and never draw the same number; what was not committed is not there; a system
opened later finds everything; the setting that names the file. (Several processes, and a process
killed with SIGKILL: tests/integration/test_sap_simulator_store.py.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import sap_simulator as simulator
from sap_simulator import Connection, SimulatedSap
from sap_simulator.store import SapStateError, SimulatedSapOnFile, created_customers_in
from shared.settings import SettingsError
from tests.support.concurrency import run_together

REFERENCE_1000 = {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"}


def company(name: str) -> dict[str, str]:
    return {
        "NAME": name,
        "CITY": "München",
        "POSTL_COD1": "80331",
        "STREET": "Hauptstr. 5",
        "COUNTRY": "DE",
        "REGION": "09",
        "LANGU": "D",
    }


def create(system: SimulatedSap, name: str, *, commit: bool = True) -> str:
    with Connection(system=system, user="rfc_user") as connection:
        answer = connection.call(
            "BAPI_CUSTOMER_CREATEFROMDATA1", PI_COMPANYDATA=company(name), PI_COPYREFERENCE=REFERENCE_1000
        )
        assert answer["RETURN"]["TYPE"] == "", answer
        if commit:
            assert connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")["RETURN"]["TYPE"] == ""
        return answer["CUSTOMERNO"]


def find_by_name(system: SimulatedSap, name: str) -> list[str]:
    with Connection(system=system) as connection:
        answer = connection.call(
            "BAPI_CUSTOMER_FIND",
            MAX_CNT=10,
            PL_HOLD="",
            SELOPT_TAB=[{"TABNAME": "KNA1", "FIELDNAME": "NAME1", "FIELDVALUE": name}],
        )
    return [row["CUSTOMER"] for row in answer["RESULT_TAB"] if row["CUSTOMER"]]


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "sap.sqlite3"


def test_a_customer_committed_by_one_system_is_found_and_read_by_another_on_the_same_file(state_file):
    first, second = SimulatedSapOnFile(state_file), SimulatedSapOnFile(state_file)
    assert find_by_name(second, "Geteilt GmbH") == []  # the other one has read the table before the commit

    number = create(first, "Geteilt GmbH")

    assert find_by_name(second, "Geteilt GmbH") == [number]
    with Connection(system=second) as connection:
        detail = connection.call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=number, COMPANYCODE="1000")
    assert detail["RETURN"]["TYPE"] == "" and detail["CUSTOMERADDRESS"]["NAME"] == "Geteilt GmbH"
    assert detail["CUSTOMERCOMPANYDETAIL"]["PMNTTRMS"] == "ZB01"
    assert [c.number for c in second.created_customers()] == [number]


def test_two_systems_creating_at_once_never_draw_the_same_number(state_file):
    systems = [SimulatedSapOnFile(state_file), SimulatedSapOnFile(state_file)]

    numbers = run_together(
        *(lambda index=index: create(systems[index % 2], f"Parallel {index} GmbH") for index in range(16))
    )

    assert len(set(numbers)) == 16
    assert sorted(c.number for c in systems[0].created_customers()) == sorted(numbers)
    assert sorted(c.number for c in systems[1].created_customers()) == sorted(numbers)


def test_what_was_not_committed_is_not_in_the_database_and_its_number_is_never_reused(state_file):
    first, second = SimulatedSapOnFile(state_file), SimulatedSapOnFile(state_file)
    gap = create(first, "Verworfen GmbH", commit=False)  # the session closes without COMMIT
    first.faults.arm("commit_failure")
    with Connection(system=first) as connection:
        connection.call(
            "BAPI_CUSTOMER_CREATEFROMDATA1", PI_COMPANYDATA=company("Abgebrochen GmbH"), PI_COPYREFERENCE=REFERENCE_1000
        )
        assert connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")["RETURN"]["TYPE"] == "E"  # update terminated

    kept = create(second, "Behalten GmbH")

    assert find_by_name(second, "Verworfen GmbH") == [] and find_by_name(first, "Abgebrochen GmbH") == []
    assert int(kept) > int(gap)
    assert [c.number for c in created_customers_in(state_file)] == [kept]


def test_a_system_opened_later_has_every_committed_customer_and_goes_on_with_the_number_range(state_file):
    earlier = SimulatedSapOnFile(state_file)
    numbers = [create(earlier, f"Vorher {index} GmbH") for index in range(3)]
    earlier.close()

    later = SimulatedSapOnFile(state_file)

    assert [c.number for c in later.created_customers()] == numbers
    assert later.customer("0000001000") is not None, "the reference customers are there once, not twice"
    assert later.customer_count == 2 + 3
    assert int(create(later, "Nachher GmbH")) == int(numbers[-1]) + 1


def test_a_customer_added_as_test_setup_is_in_the_file_too(state_file):
    template = SimulatedSap().customer("0000001000")
    assert template is not None
    from dataclasses import replace

    SimulatedSapOnFile(state_file).add_customer(replace(template, number="0000000042", general={"ERDAT": "x"}))

    assert [c.number for c in created_customers_in(state_file)] == ["0000000042"]


def test_a_file_that_is_not_the_simulators_state_is_refused_with_its_name(state_file):
    state_file.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SapStateError, match="not usable as the SAP simulator's state"):
        SimulatedSapOnFile(state_file)


def test_a_state_file_of_another_schema_is_refused(state_file):
    SimulatedSapOnFile(state_file).close()
    with sqlite3.connect(state_file) as connection:
        connection.execute("UPDATE about SET value = '99' WHERE key = 'schema'")
    with pytest.raises(SapStateError, match="schema 99"):
        SimulatedSapOnFile(state_file)


def test_the_state_file_setting_makes_the_default_system_one_on_that_file(state_file):
    with simulator.use_system(SimulatedSap()):
        system = simulator.configure_default_system_from_environment(
            {"SAP_SIMULATOR_STATE_FILE": str(state_file), "SAP_SIMULATOR_FAULTS": "latency_ms=1"}
        )
        assert isinstance(system, SimulatedSapOnFile) and system.state_file == state_file.resolve()
        assert system.faults.latency_ms == 1
        again = simulator.configure_default_system_from_environment({"SAP_SIMULATOR_STATE_FILE": str(state_file)})
        assert again is system, "the same file: the same system (its sessions and counters) is kept"
    assert not isinstance(simulator.simulator_system_from_environment({}), SimulatedSapOnFile)


def test_the_state_file_setting_is_refused_in_azure(state_file):
    with pytest.raises(SettingsError, match=r"SAP_SIMULATOR_STATE_FILE: .* refused inside an Azure-hosted app"):
        simulator.simulator_system_from_environment(
            {"SAP_SIMULATOR_STATE_FILE": str(state_file), "WEBSITE_SITE_NAME": "sap-sync-prod"}
        )
    assert not state_file.exists()
