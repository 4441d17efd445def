"""SAP's own reference data: language keys (T002) and region keys (T005S).

Only what SAP defines itself lives here as JSON (SAP's one-character language keys, the region keys
of countries where SAP does not use the ISO 3166-2 suffix), plus a small country -> language table
because none of our libraries carries one for every country. Countries and subdivisions come from
pycountry. Everything is loaded on first use so importing this package costs nothing.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

__all__ = ["default_language_for_country", "iso_language", "sap_language_key", "sap_region_code", "sap_regions"]


@cache
def _load(name: str) -> dict[str, Any]:
    # os.path rather than importlib.resources: the latter alone costs more to import than this package.
    with open(os.path.join(os.path.dirname(__file__), name), encoding="utf-8") as data:
        return json.load(data)


def sap_language_key(iso_639_1: str) -> str:
    """SAP's one-character language key (T002-SPRAS) for an ISO 639-1 code, e.g. 'de' -> 'D'.

    Raises KeyError for languages SAP has no key for.
    """
    keys: dict[str, str] = _load("sap_languages.json")["keys"]
    code = iso_639_1.strip().lower()
    if code not in keys:
        raise KeyError(f"SAP has no language key for {iso_639_1!r}")
    return keys[code]


@cache
def _iso_subdivisions(country_code: str) -> dict[str, str]:
    """ISO 3166-2 suffix -> subdivision name, from pycountry."""
    import pycountry

    subdivisions = pycountry.subdivisions.get(country_code=country_code) or []
    return {subdivision.code.split("-", 1)[1]: subdivision.name for subdivision in subdivisions}


@cache
def _sap_regions_by_iso(country_code: str) -> dict[str, tuple[str, str]] | None:
    """ISO suffix -> (SAP region key, description), or None when we hold no SAP regions for the country."""
    data = _load("sap_regions.json")
    if country_code in data["same_as_iso"]:
        return {suffix: (suffix, name) for suffix, name in _iso_subdivisions(country_code).items()}
    rows = data["differs_from_iso"].get(country_code)
    if rows is None:
        return None
    return {row["iso"]: (row["sap"], row["name"]) for row in rows}


def sap_region_code(country_code: str, iso_subdivision_code: str) -> str | None:
    """SAP region key (T005S-BLAND) for an ISO 3166-2 subdivision, e.g. ('DE', 'BY') -> '09'.

    `iso_subdivision_code` may carry the country prefix ('DE-BY'). Returns None when the country has
    no SAP regions in our data, or SAP has no key for this subdivision.
    """
    country = country_code.strip().upper()
    suffix = iso_subdivision_code.strip().upper()
    if suffix.startswith(f"{country}-"):
        suffix = suffix[len(country) + 1 :]
    regions = _sap_regions_by_iso(country)
    if regions is None or suffix not in regions:
        return None
    return regions[suffix][0]


def sap_regions(country_code: str) -> dict[str, str]:
    """SAP region key -> description for one country (empty when we hold no SAP regions for it)."""
    country = country_code.strip().upper()
    data = _load("sap_regions.json")
    if country in data["same_as_iso"]:
        return dict(sorted(_iso_subdivisions(country).items()))
    # Read the rows, not the ISO index: some SAP keys (e.g. India's former territories) have no
    # current ISO code but SAP still holds them.
    return {row["sap"]: row["name"] for row in data["differs_from_iso"].get(country, [])}


def iso_language(language: str) -> str:
    """The ISO 639-1 code (lower case) for a language given either way SAP shows one: its ISO code
    ('de', 'EN': T002-LAISO, what SAP's conversion exit ISOLA displays) or SAP's one-character key itself
    ('D', 'E': T002-SPRAS, case-sensitive: 'a' is Afrikaans, 'A' Arabic). KeyError for a language SAP has
    no key for in sap_languages.json."""
    text = language.strip()
    keys: dict[str, str] = _load("sap_languages.json")["keys"]
    if len(text) == 1:
        for iso, key in keys.items():
            if key == text:
                return iso
        raise KeyError(f"{language!r} is not one of SAP's language keys")
    sap_language_key(text)
    return text.lower()


def default_language_for_country(country_code: str) -> str | None:
    """The ISO 639-1 language a customer in this country is usually served in; None when the table has
    none for the country (the mapping then takes a configured default or refuses: it never guesses)."""
    languages: dict[str, str] = _load("country_languages.json")["languages"]
    return languages.get(country_code.strip().upper())
