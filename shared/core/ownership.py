"""Which customer data Salesforce owns (issue 26): the one declared list of what the change path may send.

Everything else in the SAP customer (payment terms, the sales area's data, credit limits, the currency,
texts, the account group) is SAP's: the change path never sends it, so CHANGEFROMDATA1's X flags
(PI_COMPANYDATAX, BAPIKNA106X: "only flagged fields change", stechno.net's page of
BAPI_CUSTOMER_CHANGEFROMDATA1) and the Business Partner PATCH bodies name only owned fields.

Each owned field has a business name (what docs, logs and the change answer's `changedFields` say), the
create request's property it comes from, and the PI_COMPANYDATA (BAPIKNA106) fields the create's mapping
(shared/core/mapping.py) fills from it; a change sends those fields, never one of them alone where they
belong together (the four name lines, country with its ISO code, language with its ISO code, the phone
number with its extension).

House number and e-mail are owned by default as the issue lists them, but the request contract carries
neither today (shared/core/validation.py CONTRACT_FIELDS): the mapping fills no HOUSE_NO or E_MAIL, so
nothing is ever sent for them until the request carries them (their SAP fields are then BAPIKNA106's
HOUSE_NO and E_MAIL, names from tactusoft-svn's generated Bapikna106X.java, not from a live system).

SALESFORCE_OWNED_FIELDS (shared/settings/) may narrow the list (never widen it): an org that maintains the
phone in SAP leaves `phone` out, and a change then never touches SAP's phone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class OwnedField:
    """One business field Salesforce owns: its name, the request property, its PI_COMPANYDATA fields."""

    name: str
    request_property: str
    sap_fields: tuple[str, ...]


# The default list, in the order `changedFields` names them.
OWNED_FIELDS: tuple[OwnedField, ...] = (
    OwnedField("name", "name", ("NAME", "NAME_2", "NAME_3", "NAME_4")),
    OwnedField("street", "street", ("STREET",)),
    OwnedField("houseNumber", "houseNumber", ("HOUSE_NO",)),
    OwnedField("postalCode", "postalCode", ("POSTL_COD1",)),
    OwnedField("city", "city", ("CITY",)),
    OwnedField("region", "stateCode", ("REGION",)),
    OwnedField("country", "countryCode", ("COUNTRY", "COUNTRYISO")),
    OwnedField("phone", "phone", ("TEL1_NUMBR", "TEL1_EXT")),
    OwnedField("email", "email", ("E_MAIL",)),
    OwnedField("language", "language", ("LANGU", "LANGU_ISO")),
)
OWNED_FIELD_NAMES: tuple[str, ...] = tuple(owned.name for owned in OWNED_FIELDS)
# Fields the request contract does not carry yet: sent only when the mapped data names them.
ONLY_WHEN_CARRIED: frozenset[str] = frozenset({"houseNumber", "email"})


class UnknownOwnedField(ValueError):
    """A name in SALESFORCE_OWNED_FIELDS that is not one of OWNED_FIELD_NAMES."""


def owned_fields(names: tuple[str, ...] | None = None) -> tuple[OwnedField, ...]:
    """The owned fields named (in the declared order), or all of them for None. Raises UnknownOwnedField
    naming every name that is not an owned field (the setting then fails at start)."""
    if names is None:
        return OWNED_FIELDS
    unknown = [name for name in names if name not in OWNED_FIELD_NAMES]
    if unknown:
        raise UnknownOwnedField(
            f"{', '.join(unknown)}: not a field Salesforce may own (one of {', '.join(OWNED_FIELD_NAMES)})"
        )
    return tuple(owned for owned in OWNED_FIELDS if owned.name in names)


def owned_sap_fields(fields: tuple[OwnedField, ...]) -> tuple[str, ...]:
    """Every PI_COMPANYDATA field of the owned fields, in order."""
    return tuple(sap_field for owned in fields for sap_field in owned.sap_fields)


def business_names(sap_fields: object, fields: tuple[OwnedField, ...] = OWNED_FIELDS) -> tuple[str, ...]:
    """The business names of the owned fields any of `sap_fields` belongs to, in the declared order (what
    the change answer's `changedFields` and the logs name: never a BAPI field, never a value)."""
    named = set(sap_fields)  # type: ignore[call-overload]
    return tuple(owned.name for owned in fields if named.intersection(owned.sap_fields))


def owned_values(company_data: dict[str, str], fields: tuple[OwnedField, ...]) -> dict[str, str]:
    """The owned part of a mapped PI_COMPANYDATA: every owned SAP field, "" where the mapping filled none
    (a cleared street is sent as "", which CHANGEFROMDATA1 with its X flag clears); the fields the request
    contract does not carry only when the mapping filled them."""
    values: dict[str, str] = {}
    for owned in fields:
        if owned.name in ONLY_WHEN_CARRIED and not any(company_data.get(name) for name in owned.sap_fields):
            continue
        values.update((name, company_data.get(name, "")) for name in owned.sap_fields)
    return values


def value_digest(account_id: str, sap_field: str, value: str | None) -> str:
    """What the ledger keeps of a value SAP was given: a digest, never the value (the ledger row of a created
    account holds no personal data; tests/e2e/test_push_e2e.py holds it so). Salted with the account (its
    15-character Id) and the field, so equal values of two accounts or fields differ; blanks at the ends do not
    count (a CHAR field read back over RFC may carry them). 128 bits of SHA-256: a collision is not a concern
    at this scale; a guess of a short value (a postal code) per account stays possible, so it is no secret."""
    text = f"{account_id.strip()[:15]}\x00{sap_field}\x00{(value or '').strip()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def value_digests(account_id: str, values: Mapping[str, str]) -> dict[str, str]:
    """The digest of each value (value_digest), by PI_COMPANYDATA field."""
    return {name: value_digest(account_id, name, value) for name, value in values.items()}
