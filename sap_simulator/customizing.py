"""The simulator's customising: plain data mirroring SAP's classic IDES demo organization.

Tables are named after the SAP tables they stand for (T001, TVKO, TVTA, T005, T005S, T002, TCURC,
NRIV). Tests extend them by mutating a `Customizing` before handing it to a `SimulatedSap`, or by
building their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CompanyCode:
    """T001: one company code."""

    company_code: str
    name: str
    city: str
    country: str
    currency: str


@dataclass(frozen=True)
class PostalCodeRule:
    """T005's postal code checks: LNPLZ (length), PRPLZ (check rule), XPLZS (required entry).

    `check_rule` follows SAP's PRPLZ domain: 0 maximum length without gaps, 1 maximum length
    numeric without gaps, 2 maximum length, 3 maximum length numeric, 4 exact length without gaps,
    5 exact length numeric without gaps, 6 exact length, 7 exact length numeric. `pattern` stands for
    the country-specific check routines SAP runs in addition (NL, GB, CA, ...).
    """

    length: int = 10
    check_rule: int = 2
    required: bool = False
    pattern: str | None = None

    def problem(self, postal_code: str) -> str | None:
        """None when the code passes; otherwise 'length', 'numeric', 'gaps' or 'format'."""
        exact = self.check_rule in (4, 5, 6, 7)
        numeric = self.check_rule in (1, 3, 5, 7)
        no_gaps = self.check_rule in (0, 1, 4, 5)
        if self.pattern is not None:
            return None if re.fullmatch(self.pattern, postal_code) else "format"
        if (exact and len(postal_code) != self.length) or len(postal_code) > self.length:
            return "length"
        if numeric and not postal_code.isdigit():
            return "numeric"
        if no_gaps and " " in postal_code:
            return "gaps"
        return None


@dataclass(frozen=True)
class Country:
    """T005: SAP country key, ISO code (INTCA), currency (WAERS), postal code rule, region required."""

    key: str
    iso_code: str
    currency: str
    postal_code: PostalCodeRule
    region_required: bool = False


def _countries() -> dict[str, Country]:
    rule = PostalCodeRule
    rows = [
        Country("DE", "DE", "EUR", rule(5, 5, required=True)),
        Country("AT", "AT", "EUR", rule(4, 5, required=True)),
        Country("CH", "CH", "CHF", rule(4, 5, required=True)),
        Country("FR", "FR", "EUR", rule(5, 5, required=True)),
        Country("IT", "IT", "EUR", rule(5, 5, required=True)),
        Country("ES", "ES", "EUR", rule(5, 5, required=True)),
        Country("NL", "NL", "EUR", rule(7, 6, required=True, pattern=r"[1-9][0-9]{3} ?[A-Z]{2}")),
        Country("BE", "BE", "EUR", rule(4, 5, required=True)),
        Country("GB", "GB", "GBP", rule(8, 2, required=True, pattern=r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}")),
        Country("IE", "IE", "EUR", rule(8, 2)),
        Country("DK", "DK", "DKK", rule(4, 5, required=True)),
        Country("SE", "SE", "SEK", rule(6, 6, required=True, pattern=r"[0-9]{3} [0-9]{2}")),
        Country("NO", "NO", "NOK", rule(4, 5, required=True)),
        Country("FI", "FI", "EUR", rule(5, 5, required=True)),
        Country("PL", "PL", "PLN", rule(6, 6, required=True, pattern=r"[0-9]{2}-[0-9]{3}")),
        Country("CZ", "CZ", "CZK", rule(6, 6, required=True, pattern=r"[0-9]{3} [0-9]{2}")),
        Country("PT", "PT", "EUR", rule(8, 6, required=True, pattern=r"[0-9]{4}-[0-9]{3}")),
        Country("US", "US", "USD", rule(10, 2, required=True, pattern=r"[0-9]{5}(-[0-9]{4})?"), region_required=True),
        Country(
            "CA",
            "CA",
            "CAD",
            rule(7, 6, required=True, pattern=r"[A-Z][0-9][A-Z] [0-9][A-Z][0-9]"),
            region_required=True,
        ),
        Country("AU", "AU", "AUD", rule(4, 5, required=True), region_required=True),
        Country("NZ", "NZ", "NZD", rule(4, 5)),
        Country("JP", "JP", "JPY", rule(8, 6, required=True, pattern=r"[0-9]{3}-[0-9]{4}")),
        Country("BR", "BR", "BRL", rule(9, 6, required=True, pattern=r"[0-9]{5}-[0-9]{3}"), region_required=True),
        Country("MX", "MX", "MXN", rule(5, 5, required=True), region_required=True),
        Country("IN", "IN", "INR", rule(6, 5, required=True), region_required=True),
        Country("CN", "CN", "CNY", rule(6, 5)),
        Country("SG", "SG", "SGD", rule(6, 5)),
        Country("ZA", "ZA", "ZAR", rule(4, 5)),
    ]
    return {row.key: row for row in rows}


def _regions() -> dict[str, dict[str, str]]:
    """T005S/T005U from shared.core.reference (SAP's keys, e.g. '09' Bayern), loaded lazily."""
    from shared.core import reference

    regions: dict[str, dict[str, str]] = {}
    for country in ("DE", "US", "CA", "AU", "BR", "MX", "IN", "JP"):
        found = reference.sap_regions(country)
        if found:
            regions[country] = dict(found)
    return regions


# T002: SAP language key (SPRAS) -> ISO 639-1 (LAISO); SAP's standard delivery.
_LANGUAGES = {
    "0": "SR",
    "1": "ZH",
    "2": "TH",
    "3": "KO",
    "4": "RO",
    "5": "SL",
    "6": "HR",
    "7": "MS",
    "8": "UK",
    "9": "ET",
    "A": "AR",
    "B": "HE",
    "C": "CS",
    "D": "DE",
    "E": "EN",
    "F": "FR",
    "G": "EL",
    "H": "HU",
    "I": "IT",
    "J": "JA",
    "K": "DA",
    "L": "PL",
    "N": "NL",
    "O": "NO",
    "P": "PT",
    "Q": "SK",
    "R": "RU",
    "S": "ES",
    "T": "TR",
    "U": "FI",
    "V": "SV",
    "W": "BG",
    "X": "LT",
    "Y": "LV",
    "a": "AF",
    "b": "IS",
    "c": "CA",
    "i": "ID",
}

# TCURC: standard customising keys currencies by their ISO code (WAERS = ISOCD).
_CURRENCIES = (
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "JPY",
    "CAD",
    "AUD",
    "NZD",
    "BRL",
    "MXN",
    "INR",
    "CNY",
    "SGD",
    "ZAR",
    "DKK",
    "SEK",
    "NOK",
    "PLN",
    "CZK",
    "HUF",
)


@dataclass
class Customizing:
    """Everything the function modules check against; mutable so tests can extend it."""

    company_codes: dict[str, CompanyCode] = field(
        default_factory=lambda: {
            "1000": CompanyCode("1000", "IDES AG", "Frankfurt", "DE", "EUR"),
            "3000": CompanyCode("3000", "IDES US INC", "New York", "US", "USD"),
        }
    )
    # TVKO: sales organization -> company code.
    sales_organizations: dict[str, str] = field(default_factory=lambda: {"1000": "1000", "3000": "3000"})
    # TVTA: the sales areas (sales organization, distribution channel, division) that exist.
    sales_areas: set[tuple[str, str, str]] = field(default_factory=lambda: {("1000", "10", "00"), ("3000", "10", "00")})
    countries: dict[str, Country] = field(default_factory=_countries)
    regions: dict[str, dict[str, str]] = field(default_factory=_regions)
    languages: dict[str, str] = field(default_factory=lambda: dict(_LANGUAGES))
    currencies: dict[str, str] = field(default_factory=lambda: {code: code for code in _CURRENCIES})
    # NRIV for object DEBITOR: account group -> (next internal number, last number of the interval).
    number_ranges: dict[str, tuple[int, int]] = field(default_factory=lambda: {"0001": (100000, 199999)})

    def country_by_iso(self, iso_code: str) -> Country | None:
        return next((c for c in self.countries.values() if c.iso_code == iso_code), None)

    def language_by_iso(self, iso_code: str) -> str | None:
        return next((key for key, iso in self.languages.items() if iso == iso_code.upper()), None)

    def currency_by_iso(self, iso_code: str) -> str | None:
        return next((key for key, iso in self.currencies.items() if iso == iso_code.upper()), None)
