"""The go-live check's decisions on S/4HANA's Business Partner service (shared/core/preflight_partner.py), as tables:
the reference customer's data the create copies, and the duplicate guard's $filter."""

from __future__ import annotations

import pytest

from shared.core.organization import SalesArea
from shared.core.preflight import Verdict
from shared.core.preflight_partner import external_id_filter_check, reference_data_check

AREA = SalesArea("1000", "10", "00")
REF = "0000001000"


@pytest.mark.parametrize(
    ("reference", "company_code", "sales_area_found", "company_found", "verdict", "found_says", "fix_says"),
    [
        (
            REF,
            "1000",
            True,
            True,
            Verdict.PASSED,
            "has sales area data in 1000/10/00 and company code data in 1000",
            "",
        ),
        (
            REF,
            "1000",
            False,
            True,
            Verdict.FAILED,
            "has no sales area data in 1000/10/00 (A_CustomerSalesArea)",
            "referenceCustomer of 1000/10/00",
        ),
        (
            REF,
            "1000",
            True,
            False,
            Verdict.FAILED,
            "has no company code data in 1000 (A_CustomerCompany)",
            "extend customer 0000001000",
        ),
        (REF, "1000", False, False, Verdict.FAILED, "(A_CustomerSalesArea) and no company code data in 1000", "FLCU01"),
        (REF, None, False, None, Verdict.FAILED, "names no companyCode for 1000/10/00", "A_CustomerCompany"),
        (None, "1000", False, None, Verdict.SKIPPED, "names no referenceCustomer", ""),
    ],
)
def test_the_reference_customer_must_have_the_sales_area_and_company_code_data_the_create_copies(
    reference, company_code, sales_area_found, company_found, verdict, found_says, fix_says
):
    result = reference_data_check(AREA, reference, company_code, sales_area_found, company_found)

    assert (result.check, result.verdict) == ("sales_area 1000/10/00", verdict)
    assert found_says in result.found
    assert fix_says in (result.fix or "")


@pytest.mark.parametrize(
    ("rows", "refused", "verdict", "found_says", "fix_says"),
    [
        (0, None, Verdict.PASSED, "answered no partner", ""),
        (
            None,
            "rejected: property not filterable",
            Verdict.FAILED,
            "refused $filter=BusinessPartnerIDByExtSystem",
            "every create is refused as misconfigured",
        ),
        (1, None, Verdict.FAILED, "answered 1 partner(s) for an id no account has", "adopt another account's partner"),
        (2, None, Verdict.FAILED, "does not apply the filter", "do not go live on odata"),
    ],
)
def test_the_guards_filter_passes_only_when_an_id_no_account_has_answers_no_partner(
    rows, refused, verdict, found_says, fix_says
):
    result = external_id_filter_check("PREFLIGHT-0A1B2C3D", rows, refused)

    assert (result.check, result.verdict) == ("external_id_filter", verdict)
    assert found_says in result.found and "PREFLIGHT-0A1B2C3D" in result.found
    assert fix_says in (result.fix or "")
