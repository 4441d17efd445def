"""The go-live check's SAP decisions as tables (shared/core/preflight_sap.py): what a FIND probe's answer says
about this system, and whether a configured sales area and its reference customer exist."""

from __future__ import annotations

import pytest

from shared.core.organization import SalesArea
from shared.core.preflight import Area, Verdict
from shared.core.preflight_sap import (
    FindOutcome,
    SaidMessage,
    find_by_name_check,
    find_no_match_check,
    find_rows_check,
    region_keys_manual_step,
    sales_area_check,
)

NAME = "ZZ PREFLIGHT NO SUCH NAME 0A1B2C3D"
REF = "0000001000"


def said(where: str, message_class: str, number: str, message_type: str = "E") -> SaidMessage:
    return SaidMessage(where, message_type, message_class, number, "No customer found")


def outcome(*messages: SaidMessage, customers: tuple[str, ...] = ()) -> FindOutcome:
    return FindOutcome(frozenset(customers), messages)


@pytest.mark.parametrize(
    ("answer", "configured", "verdict", "found_has", "fix_has"),
    [
        (
            outcome(said("RESULT_TAB", "F2", "173")),
            [("F2", "173")],
            Verdict.PASSED,
            "E F2 173 in RESULT_TAB, as SAP_FIND_NO_MATCH_MESSAGE is 'F2 173'",
            None,
        ),
        (outcome(said("RETURN", "f2", "173")), [("F2", "173")], Verdict.PASSED, "in RETURN", None),
        (outcome(said("RETURN", "F2", "173")), [("ZZ", "9"), ("F2", "173")], Verdict.PASSED, "'ZZ 009, F2 173'", None),
        (
            outcome(said("RETURN", "ZCUST", "42")),
            [("F2", "173")],
            Verdict.FAILED,
            "E ZCUST 042 in RETURN; SAP_FIND_NO_MATCH_MESSAGE is 'F2 173'",
            "set SAP_FIND_NO_MATCH_MESSAGE=ZCUST 042",
        ),
        (
            outcome(said("RESULT_TAB", "F2", "173")),
            [],
            Verdict.FAILED,
            "is not set",
            "SAP_FIND_NO_MATCH_MESSAGE=F2 173",
        ),
        (
            outcome(said("RETURN", "F2", "173"), said("RESULT_TAB", "F2", "174")),
            [("F2", "173")],
            Verdict.FAILED,
            "E F2 173 in RETURN, E F2 174 in RESULT_TAB",
            "SAP_FIND_NO_MATCH_MESSAGE=F2 173, F2 174",
        ),
        (outcome(said("RETURN", "F2", "173", "A")), [], Verdict.FAILED, "A F2 173", "=F2 173"),
        (outcome(), [], Verdict.PASSED, "no customer and no error", None),
        (outcome(said("RETURN", "F2", "200", "W")), [], Verdict.PASSED, "only W F2 200", None),
        (
            outcome(customers=("0000100001",)),
            [("F2", "173")],
            Verdict.FAILED,
            "named 1 customer(s): 0000100001",
            "SE37",
        ),
    ],
    ids=[
        "as configured in RESULT_TAB",
        "as configured in RETURN, class in lower case",
        "one of several configured",
        "another message in RETURN",
        "none configured",
        "two messages, one missing: both to set",
        "an abort message counts as an error",
        "silent: no message at all",
        "a warning only is no error",
        "a name that cannot exist found a customer",
    ],
)
def test_the_find_probe_for_a_name_that_cannot_exist_says_how_this_system_says_nothing_found(
    answer, configured, verdict, found_has, fix_has
):
    result = find_no_match_check(answer, configured, NAME)
    assert (result.area, result.check, result.verdict) == (Area.SAP, "find_no_match", verdict)
    assert found_has in result.found and NAME in result.found
    if fix_has is None:
        assert result.fix is None
    else:
        assert fix_has in result.fix


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (outcome(said("RESULT_TAB", "F2", "173", "S"), customers=(REF,)), Verdict.PASSED),
        (outcome(customers=(REF, "0000100007")), Verdict.PASSED),
        (outcome(said("RETURN", "F2", "173")), Verdict.FAILED),
        (outcome(customers=("0000100007",)), Verdict.FAILED),
    ],
    ids=["found it", "found it among others", "said nothing found", "found only another customer"],
)
def test_the_guards_own_search_by_exact_name_must_find_the_reference_customer(answer, verdict):
    result = find_by_name_check(answer, REF)
    assert (result.check, result.verdict) == ("find_by_name", verdict)
    if verdict is Verdict.FAILED:
        assert "second customer" in result.fix


@pytest.mark.parametrize(
    ("answer", "verdict", "found_has"),
    [
        (outcome(said("RESULT_TAB", "F2", "173")), Verdict.PASSED, "ANDed"),
        (outcome(), Verdict.PASSED, "ANDed"),
        (outcome(customers=("0000100009",)), Verdict.PASSED, "other customers: 0000100009"),
        (outcome(customers=(REF,)), Verdict.FAILED, "ORed"),
        (outcome(customers=(REF, "0000100009")), Verdict.FAILED, "ORed"),
    ],
    ids=[
        "nothing found with a message",
        "nothing found silently",
        "a namesake in the other country",
        "the reference customer: rows searched one by one",
        "it among others",
    ],
)
def test_the_name_and_other_country_probe_tells_anded_from_ored_rows(answer, verdict, found_has):
    result = find_rows_check(answer, REF, "US")
    assert (result.check, result.verdict) == ("find_rows", verdict)
    assert found_has in result.found and "KNA1-LAND1 = 'US'" in result.found
    if verdict is Verdict.FAILED:
        assert "single KNA1-NAME1 row" in result.fix and "SAP_SIMULATOR_FIND_ROWS=per_criterion" in result.fix


AREA = SalesArea("1000", "10", "00")
OTHER = SalesArea("3000", "10", "00")


@pytest.mark.parametrize(
    ("reference", "exists", "areas", "verdict", "found_has", "fix_has"),
    [
        (REF, True, [AREA], Verdict.PASSED, "exists in sales area 1000/10/00", None),
        (REF, True, [OTHER, AREA], Verdict.PASSED, "exists in sales area", None),
        (
            REF,
            True,
            [OTHER],
            Verdict.FAILED,
            "not in sales area 1000/10/00 (its sales areas: 3000/10/00)",
            "extend 0000001000 to sales area 1000/10/00",
        ),
        (REF, True, [], Verdict.FAILED, "(its sales areas: none)", "SAP_SALES_AREAS"),
        (REF, False, [], Verdict.FAILED, "does not exist: E F2 163", "referenceCustomer of 1000/10/00"),
        (None, False, [], Verdict.SKIPPED, "each request must name its own", None),
    ],
    ids=[
        "in its sales area",
        "in it among others",
        "only in another sales area",
        "in no sales area",
        "does not exist",
        "no reference customer configured",
    ],
)
def test_a_configured_sales_area_needs_its_reference_customer_in_it(
    reference, exists, areas, verdict, found_has, fix_has
):
    result = sales_area_check(AREA, reference, exists, areas, "E F2 163: Customer 0000001000 does not exist")
    assert (result.check, result.verdict) == ("sales_area 1000/10/00", verdict)
    assert found_has in result.found
    assert (result.fix is None) if fix_has is None else (fix_has in result.fix)


def test_the_region_keys_are_a_manual_step_listing_each_country():
    result = region_keys_manual_step(["DE", "US"])
    assert result.verdict is Verdict.SKIPPED and "LAND1 in DE, US" in result.found and "T005S" in result.found
