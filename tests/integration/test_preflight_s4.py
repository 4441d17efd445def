"""The go-live check's SAP area on S/4HANA (`SAP_TRANSPORT=odata`): the composition root's parts
(shared/bootstrap/sap.py sap_preflight_parts) on the S/4 double over real HTTP, as `python -m admin preflight`
builds them from the app's settings. A healthy double passes every check but the manual region-key step; each
test then breaks one thing and sees that check alone fail, with its fix."""

from __future__ import annotations

import json

from shared.core.preflight import Verdict
from shared.settings import load_settings
from shared.usecases.preflight.sap import check_sap
from tests.support.s4 import ScriptedS4Simulator, odata_settings

# 1000/10/00's reference is 3000 (Thomas Bush Inc., sales area 3000/10/00 and company code 3000 only).
WRONG_REFERENCE_AREAS = json.dumps(
    {
        "1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000003000"},
        "3000/10/00": {"companyCode": "3000", "referenceCustomer": "0000003000"},
    }
)


def sap_checks(double: ScriptedS4Simulator, **settings: str) -> dict[str, object]:
    from shared.bootstrap.sap import sap_preflight_parts

    parts = sap_preflight_parts(load_settings({**odata_settings(double), "SAP_TIMEOUT_SECONDS": "5", **settings}))
    return {result.check: result for result in check_sap(parts)}


def verdicts(results: dict[str, object]) -> dict[str, Verdict]:
    return {check: result.verdict for check, result in results.items()}  # type: ignore[attr-defined]


def test_a_healthy_s4_passes_every_check_the_service_allows_and_lists_the_region_keys_step(double):
    results = sap_checks(double)

    assert verdicts(results) == {
        "logon": Verdict.PASSED,
        "interface": Verdict.PASSED,
        "sales_area 1000/10/00": Verdict.PASSED,
        "sales_area 3000/10/00": Verdict.PASSED,
        "external_id_filter": Verdict.PASSED,
        "region_keys": Verdict.SKIPPED,
    }
    assert "company code data in 1000" in results["sales_area 1000/10/00"].found  # type: ignore[attr-defined]
    assert double.counters["requests POST"] == 0 and double.counters["requests PATCH"] == 0  # read-only


def test_a_reference_customer_without_the_sales_area_fails_that_sales_area_alone(double):
    results = sap_checks(double, SAP_SALES_AREAS=WRONG_REFERENCE_AREAS)

    failing = results["sales_area 1000/10/00"]
    assert failing.verdict is Verdict.FAILED  # type: ignore[attr-defined]
    assert (
        "0000003000 has no sales area data in 1000/10/00 (A_CustomerSalesArea) and no company code data in "
        "1000" in failing.found
    )  # type: ignore[attr-defined]
    assert "referenceCustomer of 1000/10/00" in failing.fix  # type: ignore[attr-defined]
    others = {check: verdict for check, verdict in verdicts(results).items() if check != "sales_area 1000/10/00"}
    assert Verdict.FAILED not in others.values()


def test_an_external_id_the_service_refuses_to_filter_fails_the_guard_check_with_its_fix(double):
    double.refuse_external_id_filter = True

    results = sap_checks(double)

    failing = results["external_id_filter"]
    assert failing.verdict is Verdict.FAILED  # type: ignore[attr-defined]
    assert "refused $filter=BusinessPartnerIDByExtSystem eq 'PREFLIGHT-" in failing.found  # type: ignore[attr-defined]
    assert "not filterable" in failing.found  # type: ignore[attr-defined]
    assert "every create is refused as misconfigured" in failing.fix  # type: ignore[attr-defined]
    assert [c for c, v in verdicts(results).items() if v is Verdict.FAILED] == ["external_id_filter"]


def test_a_wrong_logon_fails_the_logon_and_skips_the_rest(double):
    results = sap_checks(double, SAP_ODATA_PASSWORD="not-the-password")

    assert results["logon"].verdict is Verdict.FAILED  # type: ignore[attr-defined]
    assert "SAP_ODATA_USER/SAP_ODATA_PASSWORD" in results["logon"].fix  # type: ignore[attr-defined]
    assert {v for c, v in verdicts(results).items() if c != "logon"} == {Verdict.SKIPPED}


def test_a_property_missing_from_the_live_metadata_fails_the_interface_check_naming_it(double):
    double.metadata_change = lambda xml: xml.replace(b'Name="SearchTerm1"', b'Name="SearchTermOne"')

    results = sap_checks(double)

    assert results["interface"].verdict is Verdict.FAILED  # type: ignore[attr-defined]
    assert "SearchTerm1" in results["interface"].found  # type: ignore[attr-defined]
