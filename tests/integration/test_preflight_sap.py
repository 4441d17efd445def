"""The go-live check's SAP area against the SAP simulator, through the real composition (settings ->
shared.bootstrap.sap_preflight_parts -> the rfc adapter -> the simulator): in a correct configuration every SAP
check passes (the region keys are a listed manual step); each test below breaks exactly one thing the way an
operator's system or settings would, and sees exactly that check fail with its fix, the others unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import sap_simulator as simulator
from shared.bootstrap.sap import sap_preflight_parts
from shared.core.preflight import Area, CheckResult, Verdict
from shared.settings import load_settings
from shared.usecases.preflight.relay import check_relay
from shared.usecases.preflight.sap import check_sap

ALL_SAP_CHECKS = [
    "logon",
    "interface",
    "sales_area 1000/10/00",
    "sales_area 3000/10/00",
    "find_no_match",
    "find_by_name",
    "find_rows",
    "region_keys",
]


@pytest.fixture
def sap_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The app's settings for the simulator with this release's "nothing found" message set; the simulator's
    own switches cleared (a test sets the one it breaks)."""
    for name in (
        "SAP_SIMULATOR_FIND_ROWS",
        "SAP_SIMULATOR_FIND_NO_MATCH",
        "SAP_SIMULATOR_FAULTS",
        "SAP_SIMULATOR_USER",
        "SAP_SIMULATOR_PASSWORD",
        "SAP_SIMULATOR_STATE_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    yield {"SAP_TRANSPORT": "simulator", "SAP_FIND_NO_MATCH_MESSAGE": "F2 173", "SAP_USER": "SAP_SYNC_RFC"}


def run_checks(env: dict[str, str]) -> dict[str, CheckResult]:
    parts = sap_preflight_parts(load_settings(env))
    results = check_sap(parts) + check_relay(parts)
    checks = [r.check for r in results if r.area is Area.SAP]
    assert len(checks) == len(set(checks)), f"check ids repeat: {checks}"
    return {r.check: r for r in results}


def failures(results: dict[str, CheckResult]) -> list[str]:
    return [check for check, result in results.items() if result.failed]


def test_against_the_simulator_every_sap_check_passes_and_the_region_keys_are_a_manual_step(sap_env, sap_system):
    results = run_checks(sap_env)
    assert [c for c in results if results[c].area is Area.SAP] == ALL_SAP_CHECKS
    assert failures(results) == []
    assert {c for c, r in results.items() if r.verdict is Verdict.SKIPPED} == {"region_keys", "relay"}
    assert "T005S" in results["region_keys"].found and "SE16N" in results["region_keys"].found
    assert results["relay"].found == "SAP_TRANSPORT is not relay"
    assert "system SIM" in results["logon"].found
    assert "ANDed" in results["find_rows"].found


def test_a_reference_customer_not_in_its_sales_area_fails_that_sales_area_only(sap_env, sap_system):
    # 1000/10/00 names 3000's customer, which exists but only in sales area 3000/10/00.
    areas = {
        "1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000003000"},
        "3000/10/00": {"companyCode": "3000", "referenceCustomer": "0000003000"},
    }
    results = run_checks({**sap_env, "SAP_SALES_AREAS": json.dumps(areas)})
    assert failures(results) == ["sales_area 1000/10/00"]
    broken = results["sales_area 1000/10/00"]
    assert "not in sales area 1000/10/00" in broken.found and "3000/10/00" in broken.found
    assert "SAP_SALES_AREAS" in broken.fix and "0000003000" in broken.fix


def test_a_reference_customer_that_does_not_exist_fails_its_sales_area_with_what_sap_said(sap_env, sap_system):
    areas = {
        "1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000009999"},
        "3000/10/00": {"companyCode": "3000", "referenceCustomer": "0000003000"},
    }
    results = run_checks({**sap_env, "SAP_SALES_AREAS": json.dumps(areas)})
    assert failures(results) == ["sales_area 1000/10/00"]
    broken = results["sales_area 1000/10/00"]
    assert "0000009999 does not exist" in broken.found and "F2 163" in broken.found
    assert "referenceCustomer of 1000/10/00" in broken.fix


def test_find_saying_nothing_found_in_return_with_another_message_fails_the_no_match_check_with_the_value_to_set(
    sap_env, sap_system, monkeypatch
):
    monkeypatch.setenv("SAP_SIMULATOR_FIND_NO_MATCH", "return")
    sap_system.find_no_match_message = ("ZCUST", "042")
    results = run_checks(sap_env)
    assert failures(results) == ["find_no_match"]
    broken = results["find_no_match"]
    assert "E ZCUST 042 in RETURN" in broken.found and "SAP_FIND_NO_MATCH_MESSAGE is 'F2 173'" in broken.found
    assert broken.fix.startswith("set SAP_FIND_NO_MATCH_MESSAGE=ZCUST 042")


def test_find_saying_nothing_found_with_no_message_passes_and_says_no_setting_is_needed(
    sap_env, sap_system, monkeypatch
):
    monkeypatch.setenv("SAP_SIMULATOR_FIND_NO_MATCH", "empty")
    results = run_checks(sap_env)
    assert failures(results) == []
    assert "no customer and no error" in results["find_no_match"].found


def test_find_answering_each_selection_row_on_its_own_fails_the_rows_check_only(sap_env, sap_system, monkeypatch):
    monkeypatch.setenv("SAP_SIMULATOR_FIND_ROWS", "per_criterion")
    results = run_checks(sap_env)
    assert failures(results) == ["find_rows"]
    broken = results["find_rows"]
    assert "ORed" in broken.found
    assert "single KNA1-NAME1 row" in broken.fix and "SAP_SIMULATOR_FIND_ROWS=per_criterion" in broken.fix


def test_a_logon_that_fails_fails_the_logon_and_skips_every_later_sap_check(sap_env, sap_system, monkeypatch):
    monkeypatch.setenv("SAP_SIMULATOR_USER", "SAP_SYNC_RFC")
    monkeypatch.setenv("SAP_SIMULATOR_PASSWORD", "the-right-one")
    results = run_checks({**sap_env, "SAP_PASSWORD": "a-wrong-one"})
    assert failures(results) == ["logon"]
    assert "SAP_PASSWORD" in results["logon"].fix
    assert "a-wrong-one" not in results["logon"].found + results["logon"].fix
    later = [results[c] for c in ALL_SAP_CHECKS[1:]]
    assert all(r.verdict is Verdict.SKIPPED and "no SAP logon" in r.found for r in later)
    assert sap_system.counters["logons"] == 0  # one failed logon, never repeated (logons lock SAP users)


def test_a_release_without_a_field_the_product_reads_fails_the_interface_check(sap_env, sap_system):
    del sap_system.structures["BAPICUSTOMER_KNA1"]["ENTERED_BY"]
    results = run_checks(sap_env)
    assert failures(results) == ["interface"]
    assert "ENTERED_BY" in results["interface"].found and "SE37" in results["interface"].fix


def test_the_checks_log_on_once_and_create_nothing(sap_env, sap_system):
    customers = sap_system.customer_count
    run_checks(sap_env)
    assert sap_system.counters["logons"] == 1
    assert sap_system.customer_count == customers
    assert sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0 and sap_system.calls["BAPI_TRANSACTION_COMMIT"] == 0


def test_the_simulator_answers_the_probes_of_a_customer_that_does_not_exist_as_sap_documents_it(sap_system):
    """GETDETAIL2: an error RETURN and no address (what SAP says is unverified: sap_simulator/functions.py);
    GETSALESAREAS: E QC160 "No sales data was found", which SAP documents for any number without sales data."""
    session = sap_system.open_session({"user": "X"})
    detail = sap_system.call(session, "BAPI_CUSTOMER_GETDETAIL2", {"CUSTOMERNO": "0000009999"})
    areas = sap_system.call(session, "BAPI_CUSTOMER_GETSALESAREAS", {"CUSTOMERNO": "0000009999"})
    assert detail["RETURN"]["TYPE"] == "E" and detail["CUSTOMERADDRESS"]["CUSTOMER"] == ""
    assert (areas["RETURN"]["TYPE"], areas["RETURN"]["CODE"], areas["SALESAREAS"]) == ("E", "QC160", [])
    assert simulator.NO_MATCH_MESSAGES == (("F2", "173"),)
