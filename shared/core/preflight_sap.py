"""The go-live check's decisions about SAP and the relay (issue 24): what a probe's answer means, as pure
functions from what came back to a CheckResult (found, and for a failure the fix). The use cases
(shared/usecases/preflight/sap.py, relay.py) run the probes and hand their answers here; the tables in
tests/unit/test_preflight_sap_rules.py holds every case (the relay's: shared/core/preflight_relay.py).

BAPI_CUSTOMER_FIND (the duplicate guard's search, shared/sap/rfc_guard.py) is read as the guard reads it: an
answer naming no customer whose only error or abort messages (type E/A) are SAP_FIND_NO_MATCH_MESSAGE's, in
RETURN or in RESULT_TAB, means "nothing found"; so does an answer with no error and no customer at all. Any
other error makes the guard hold the account for review (fail closed). Where a release says "nothing found",
and whether it ANDs its selection rows, is unverified (docs/sap.md): the probes find out on the live system.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from shared.core.organization import SalesArea
from shared.core.preflight import Area, CheckResult, failed, passed, skipped

ERROR_TYPES = ("E", "A")  # as shared/sap/bapi_return.py: the message types that mean the call failed
_FIND_NO_MATCH = "find_no_match"
_FIND_BY_NAME = "find_by_name"
_FIND_ROWS = "find_rows"
_GUARD = "the duplicate guard (docs/exactly-once.md)"


@dataclass(frozen=True)
class SaidMessage:
    """One message BAPI_CUSTOMER_FIND answered: where (RETURN or RESULT_TAB), type, class (ID) and number."""

    where: str
    type: str
    message_class: str
    number: str
    text: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(class, number) as SAP_FIND_NO_MATCH_MESSAGE holds it: class in upper case, number of 3 digits."""
        return self.message_class.strip().upper(), self.number.strip().zfill(3)

    def __str__(self) -> str:
        return f"{self.type} {self.key[0]} {self.key[1]}"


@dataclass(frozen=True)
class FindOutcome:
    """A BAPI_CUSTOMER_FIND answer reduced to what the decisions need: the customers its rows name and the
    messages it said (RETURN and RESULT_TAB)."""

    customers: frozenset[str] = frozenset()
    messages: tuple[SaidMessage, ...] = ()

    @property
    def errors(self) -> tuple[SaidMessage, ...]:
        return tuple(m for m in self.messages if m.type.strip().upper() in ERROR_TYPES)


def _setting_value(keys: Collection[tuple[str, str]]) -> str:
    return ", ".join(f"{message_class} {number}" for message_class, number in keys)


def _normalised(configured: Collection[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(c.strip().upper(), n.strip().zfill(3)) for c, n in configured]


def find_no_match_check(
    outcome: FindOutcome, configured: Collection[tuple[str, str]], name: str, on_agent: bool = False
) -> CheckResult:
    """The FIND probe for `name`, a name no customer can have: how this system says "nothing found", and the
    SAP_FIND_NO_MATCH_MESSAGE (`configured`, as (class, number) pairs) to set, or that the configured one fits.
    `on_agent`: the guard runs in the on-premise agent (SAP_TRANSPORT=relay), so the setting is the agent's."""
    title = "BAPI_CUSTOMER_FIND: how this system says 'nothing found' (SAP_FIND_NO_MATCH_MESSAGE)"
    searched = f"a search for KNA1-NAME1 = '{name}' (a name no customer has)"
    known = _normalised(configured)
    setting = "the agent's SAP_FIND_NO_MATCH_MESSAGE" if on_agent else "SAP_FIND_NO_MATCH_MESSAGE"
    now = f"{setting} is '{_setting_value(known)}'" if known else f"{setting} is not set"
    place = (
        "in the agent's settings on its host (its guard searches), and restart it"
        if on_agent
        else ("in the app settings")
    )
    if outcome.customers:
        return failed(
            Area.SAP,
            _FIND_NO_MATCH,
            title,
            f"{searched} named {len(outcome.customers)} customer(s): {', '.join(sorted(outcome.customers))}",
            "BAPI_CUSTOMER_FIND does not search by the exact name on this system (a modified BAPI, or "
            "placeholders read into the name): check it in SE37 with one KNA1 NAME1 row. Until it answers "
            f"an unknown name with no customer, {_GUARD} cannot tell an earlier create from another customer",
        )
    errors = outcome.errors
    if not errors:
        said = f" (only {', '.join(str(m) for m in outcome.messages)})" if outcome.messages else ""
        return passed(
            Area.SAP,
            _FIND_NO_MATCH,
            title,
            f"{searched} answered no customer and no error{said}: the guard reads that as nothing found; "
            f"{now}, and no message is needed",
        )
    found_keys = list(dict.fromkeys(m.key for m in errors))
    where = ", ".join(f"{m} in {m.where}" for m in errors)
    missing = [key for key in found_keys if key not in known]
    if not missing:
        return passed(Area.SAP, _FIND_NO_MATCH, title, f"{searched} said 'nothing found' with {where}, as {now}")
    return failed(
        Area.SAP,
        _FIND_NO_MATCH,
        title,
        f"{searched} said 'nothing found' with {where}; {now}",
        f"set SAP_FIND_NO_MATCH_MESSAGE={_setting_value(found_keys)} {place}. Until then {_GUARD} holds every "
        "account whose create outcome is unknown for review instead of searching",
    )


def find_by_name_check(outcome: FindOutcome, reference_customer: str) -> CheckResult:
    """The guard's own search (one KNA1-NAME1 row, the exact name) for a customer that exists: it must find it."""
    title = "BAPI_CUSTOMER_FIND finds a customer by its exact name (the duplicate guard's search)"
    # The reference customer's name is not shown: a reference customer may be a person (personal data).
    searched = f"a search by reference customer {reference_customer}'s own name (one KNA1-NAME1 row)"
    if reference_customer in outcome.customers:
        return passed(
            Area.SAP, _FIND_BY_NAME, title, f"{searched} found it ({len(outcome.customers)} customer(s) in all)"
        )
    said = f", saying {', '.join(str(m) for m in outcome.messages)}" if outcome.messages else ""
    return failed(
        Area.SAP,
        _FIND_BY_NAME,
        title,
        f"{searched} did not find it{said}",
        f"{_GUARD} searches exactly so for a customer an earlier attempt may have created: on this system "
        "it would not find one, and a retry could create a second customer. Check BAPI_CUSTOMER_FIND in "
        "SE37 with one KNA1 NAME1 row (the name as KNA1 stores it, first 35 characters) and report it "
        "before going live",
    )


def find_rows_check(outcome: FindOutcome, reference_customer: str, other_country: str) -> CheckResult:
    """The FIND probe for the reference customer's own name AND a country it is not in: no row naming it means
    the rows are ANDed; a row naming it means each row is searched on its own (ORed, one result per criterion)."""
    title = "BAPI_CUSTOMER_FIND combines its selection rows with AND"
    searched = (
        f"a search by reference customer {reference_customer}'s own name and KNA1-LAND1 = '{other_country}' (it is "
        f"not in {other_country})"
    )
    if reference_customer not in outcome.customers:
        others = f" (other customers: {', '.join(sorted(outcome.customers))})" if outcome.customers else ""
        return passed(Area.SAP, _FIND_ROWS, title, f"{searched} did not name it{others}: the rows are ANDed")
    return failed(
        Area.SAP,
        _FIND_ROWS,
        title,
        f"{searched} named it: each row is searched on its own (ORed, one result row per criterion)",
        f"nothing to set: {_GUARD} sends a single KNA1-NAME1 row and compares each candidate's address, "
        "creation date and creator itself (shared/sap/rfc_guard.py), so it holds on this system; but no "
        "search of this product may add selection rows here. Test locally like this system with "
        "SAP_SIMULATOR_FIND_ROWS=per_criterion (docs/sap.md) and record the answer with the SE37 checks",
    )


def sales_area_check(
    area: SalesArea, reference_customer: str | None, exists: bool, customer_areas: Collection[SalesArea], said: str = ""
) -> CheckResult:
    """A configured sales area (SAP_SALES_AREAS) and its reference customer: the customer exists
    (BAPI_CUSTOMER_GETDETAIL2) and is created for the sales area (BAPI_CUSTOMER_GETSALESAREAS), which also
    shows the sales area exists (BAPI_CUSTOMER_CREATEFROMDATA1 copies the new customer's data from it)."""
    check = f"sales_area {area}"
    title = f"sales area {area} and its reference customer exist"
    if not reference_customer:
        return skipped(
            Area.SAP,
            check,
            title,
            f"SAP_SALES_AREAS names no referenceCustomer for {area}: each request must name its own",
        )
    if not exists:
        reason = f": {said}" if said else ""
        return failed(
            Area.SAP,
            check,
            title,
            f"reference customer {reference_customer} does not exist{reason}",
            f"SAP_SALES_AREAS: set the referenceCustomer of {area} to a customer that exists in that sales "
            "area (XD03/VD03 shows one), or create it there",
        )
    if area not in set(customer_areas):
        has = ", ".join(str(a) for a in sorted(customer_areas, key=str)) or "none"
        return failed(
            Area.SAP,
            check,
            title,
            f"reference customer {reference_customer} exists but not in sales area {area} (its sales areas: {has})",
            f"extend {reference_customer} to sales area {area} (VD01/XD01 with the reference), or set another "
            f"referenceCustomer for {area} in SAP_SALES_AREAS; check in SPRO (or SM30 V_TVTA) that the sales "
            "area itself is defined",
        )
    return passed(Area.SAP, check, title, f"reference customer {reference_customer} exists in sales area {area}")


def region_keys_manual_step(countries: Sequence[str]) -> CheckResult:
    """No released function module reads T005S over RFC for this product (see shared/sap/rfc_inspector.py for
    what was looked at): the region keys are a listed manual step, never guessed."""
    listed = ", ".join(countries) or "none"
    return skipped(
        Area.SAP,
        "region_keys",
        "region keys (T005S) of the countries the mapping translates",
        f"manual step (no released function module reads T005S over RFC): in SE16N show table T005S for "
        f"LAND1 in {listed} and compare BLAND with shared/core/reference/sap_regions.json; add or correct "
        "rows there (docs/sap.md, Region keys)",
    )
