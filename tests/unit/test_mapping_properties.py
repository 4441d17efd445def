"""Properties of the mapping over arbitrary input: names never lose a character, the mapping only
ever fails with InvalidRequest, and whatever it passes fits SAP's fields, measured as a Unicode
SAP measures them (UTF-16 code units) and narrowed to what the live system reports."""

from __future__ import annotations

import pycountry
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core.mapping import (
    COMPANY_DATA_FIELDS,
    COMPANY_DATA_LENGTHS,
    NAME_FIELDS,
    effective_lengths,
    join_name,
    map_customer_request,
    split_name,
    split_name_with_separators,
)
from shared.core.models import CustomerCreation, CustomerRequest, InvalidRequest
from shared.core.organization import SalesArea, SalesAreaSetup, SapOrganization
from shared.core.reference import sap_language_key
from shared.core.sap_lengths import utf16_units

# Printable characters of any script, spaces included; no control characters or surrogates. Characters
# outside the Basic Multilingual Plane (emoji, CJK extension B) take two UTF-16 code units in SAP.
PRINTABLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn"))
ASTRAL = st.sampled_from(["🙂", "😀", "🏭", "𠜎", "𠀋"])
# Four lines of 35 units always hold a name of 137 units: a line can fall one unit short only where the
# next character would straddle its end (no line holds half a surrogate pair), 3 x 34 + 35 = 137.
SURELY_SPLITTABLE_UNITS = 4 * 35 - 3


def normalise(text: str) -> str:
    """What request validation does to free text: stripped, whitespace runs collapsed to one space."""
    return " ".join(text.split())


WORDS = st.one_of(
    st.text(PRINTABLE.filter(lambda character: not character.isspace()), min_size=1, max_size=40),
    st.text(ASTRAL, min_size=1, max_size=25),
    st.sampled_from(["Street", "Avenue", "Road", "Straße", "Bahnhofstrasse", "GmbH", "&", "Co.", "Suite"]),
)


def within_units(text: str, units: int) -> str:
    """The longest prefix of `text` of at most `units` UTF-16 code units."""
    while utf16_units(text) > units:
        text = text[:-1]
    return text


def phrases(max_units: int) -> st.SearchStrategy[str]:
    """Word sequences up to max_units code units: hypothesis' plain text rarely gets long enough."""
    return (
        st.lists(WORDS, min_size=1, max_size=40)
        .map(lambda words: normalise(within_units(" ".join(words), max_units)))
        .filter(bool)
    )


def names(max_units: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(PRINTABLE, min_size=1, max_size=max_units)
        .map(normalise)
        .filter(lambda name: bool(name) and utf16_units(name) <= max_units),
        phrases(max_units),
    )


# Names that always fit four lines of 35 units; and names up to SAP's 140 units, which may not.
NAMES = names(SURELY_SPLITTABLE_UNITS)
NAMES_UP_TO_140_UNITS = names(140)
FREE_TEXT = st.one_of(
    st.text(st.one_of(PRINTABLE, st.sampled_from("\n\r ")), max_size=255),
    st.lists(phrases(80), min_size=1, max_size=3).map("\n".join),
)
CITIES = st.one_of(st.text(PRINTABLE, max_size=40).map(normalise), phrases(40))


def assert_split_well(name: str, parts: list[str], separators: list[str], width: int = 35) -> None:
    assert 1 <= len(parts) <= 4
    assert all(0 < utf16_units(part) <= width for part in parts)
    assert join_name(parts, separators) == name
    assert set(separators) <= {" ", ""}
    # SAP does not keep a trailing blank, and a leading one would be taken for an empty line start.
    assert not any(part != part.strip() for part in parts)


@settings(max_examples=500, deadline=None)
@given(NAMES)
def test_split_name_fits_four_lines_of_35_units_and_loses_no_character(name):
    parts, separators = split_name_with_separators(name)

    assert parts == split_name(name)
    assert_split_well(name, parts, separators)


@settings(max_examples=300, deadline=None)
@given(NAMES_UP_TO_140_UNITS)
def test_a_name_of_up_to_140_units_splits_well_or_fails_only_for_characters_straddling_a_line(name):
    try:
        parts, separators = split_name_with_separators(name)
    except ValueError:
        # Only where no line can hold half a surrogate pair: a name of BMP characters always fits.
        assert utf16_units(name) > SURELY_SPLITTABLE_UNITS
        assert utf16_units(name) > len(name)
        return
    assert_split_well(name, parts, separators)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=2, max_value=40).flatmap(lambda width: st.tuples(st.just(width), names(4 * width - 3))))
def test_split_name_at_any_width_fits_and_never_splits_a_character(width_and_name):
    width, name = width_and_name

    parts, separators = split_name_with_separators(name, width)

    assert_split_well(name, parts, separators, width)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(PRINTABLE.filter(lambda character: not character.isspace()), min_size=1, max_size=34),
        min_size=1,
        max_size=4,
    )
    .map(" ".join)
    .filter(lambda name: utf16_units(name) <= 35)
)
def test_a_name_that_fits_one_line_is_not_split(name):
    assert split_name(name) == [name]


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.one_of(PRINTABLE, ASTRAL, st.just(" ")), max_size=140).filter(
        lambda name: utf16_units(name) <= SURELY_SPLITTABLE_UNITS
    )
)
def test_even_unnormalised_names_come_back_exactly(name):
    parts, separators = split_name_with_separators(name)

    assert len(parts) <= 4
    assert all(utf16_units(part) <= 35 for part in parts)
    assert join_name(parts, separators) == name


COUNTRIES = sorted(country.alpha_2 for country in pycountry.countries)
LANGUAGES = sorted(language.alpha_2 for language in pycountry.languages if hasattr(language, "alpha_2"))


def _has_sap_key(language: str) -> bool:
    try:
        sap_language_key(language)
    except KeyError:
        return False
    return True


SAP_LANGUAGES = [language for language in LANGUAGES if _has_sap_key(language)]
CURRENCIES = sorted(currency.alpha_3 for currency in pycountry.currencies)
SALES_AREAS = [SalesArea("1000", "10", "00"), SalesArea("1000", "12", "00"), SalesArea("3000", "10", "00")]
ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@st.composite
def country_and_region(draw: st.DrawFn) -> tuple[str, str | None]:
    country = draw(st.sampled_from(COUNTRIES))
    suffixes = sorted(
        subdivision.code.split("-", 1)[1] for subdivision in pycountry.subdivisions.get(country_code=country) or []
    )
    region = draw(st.none() | st.sampled_from(suffixes)) if suffixes else None
    return country, region


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.none() | strategy


# (salesOrganization, distributionChannel, division): mostly complete or absent, sometimes partial.
SALES_AREA_FIELDS = st.one_of(
    st.just((None, None, None)),
    st.sampled_from([*SALES_AREAS, SalesArea("7000", "10", "00")]).map(
        lambda area: (area.sales_organization, area.distribution_channel, area.division)
    ),
    st.tuples(optional(st.sampled_from(["1000", "3000"])), optional(st.just("10")), optional(st.just("00"))),
)


@st.composite
def customer_requests(
    draw: st.DrawFn, organizational_data: bool = True, name_strategy: st.SearchStrategy[str] = NAMES
) -> CustomerRequest:
    """Requests built from valid pieces; without `organizational_data` they leave it all to settings
    except a reference customer, so that any organization with a default sales area resolves them."""
    country, region = draw(country_and_region())
    if organizational_data:
        sales_organization, distribution_channel, division = draw(SALES_AREA_FIELDS)
        company_code = draw(optional(st.sampled_from(["1000", "3000", "5000"])))
        reference_customer = draw(optional(st.from_regex(r"[0-9]{1,10}|[A-Z][A-Z0-9]{0,9}", fullmatch=True)))
        language = draw(optional(st.sampled_from(SAP_LANGUAGES) | st.sampled_from(LANGUAGES)))
        postal_code = draw(optional(st.from_regex(r"[0-9A-Z]{1,6}([ -][0-9A-Z]{1,5})?", fullmatch=True)))
    else:
        sales_organization = distribution_channel = division = company_code = None
        reference_customer = draw(st.from_regex(r"[0-9]{1,10}", fullmatch=True))
        language = draw(optional(st.sampled_from(SAP_LANGUAGES)))
        postal_code = draw(optional(st.from_regex(r"[0-9A-Z]{1,5}([ -][0-9A-Z]{1,4})?", fullmatch=True)))
    return CustomerRequest(
        account_id="001" + draw(st.text(ALPHANUMERIC, min_size=15, max_size=15)),
        name=draw(name_strategy),
        country_code=country,
        region_code=region,
        street=draw(optional(FREE_TEXT)),
        city=draw(optional(CITIES)),
        postal_code=postal_code,
        phone=draw(
            optional(
                st.from_regex(r"\+[1-9][0-9]{6,14}(;ext=[0-9]{1,12})?", fullmatch=True)
                | st.text(st.one_of(PRINTABLE, ASTRAL), max_size=40)
            )
        ),
        currency_code=draw(optional(st.sampled_from(CURRENCIES))),
        language_code=language,
        company_code=company_code,
        sales_organization=sales_organization,
        distribution_channel=distribution_channel,
        division=division,
        reference_customer=reference_customer,
    )


@st.composite
def organizations(draw: st.DrawFn, with_default: bool = False) -> SapOrganization:
    """`with_default`: a default sales area and a default language (SAP_DEFAULT_LANGUAGE), so that every
    request resolves; otherwise either may be missing, and sales areas may carry their own language."""
    areas = draw(st.lists(st.sampled_from(SALES_AREAS), unique=True))
    default = st.sampled_from(SALES_AREAS)
    language = st.sampled_from(SAP_LANGUAGES)
    return SapOrganization(
        default_sales_area=draw(default if with_default else st.none() | default),
        sales_areas={
            area: SalesAreaSetup(
                company_code=area.sales_organization,
                reference_customer=draw(optional(st.sampled_from(["1000", "0000003000"]))),
                language=draw(optional(language)),
            )
            for area in areas
        },
        default_language=draw(language if with_default else optional(language)),
    )


# What another release's BAPIKNA106 may report (in UTF-16 units): the free-text fields narrower or wider
# than KNA1's, the keys at least as wide as their codes (no release holds a country key in one character).
LIVE_LENGTHS = st.fixed_dictionaries(
    {},
    optional={
        "NAME": st.integers(20, 60),
        "NAME_2": st.integers(20, 60),
        "NAME_3": st.integers(20, 60),
        "NAME_4": st.integers(20, 60),
        "CITY": st.integers(10, 60),
        "STREET": st.integers(10, 80),
        "POSTL_COD1": st.integers(5, 12),
        "TEL1_NUMBR": st.integers(8, 40),
        "TEL1_EXT": st.integers(1, 12),
        "COUNTRY": st.integers(3, 5),
        "COUNTRYISO": st.integers(2, 3),
        "REGION": st.integers(3, 4),
        "LANGU": st.integers(1, 2),
        "LANGU_ISO": st.integers(2, 3),
        "CURRENCY": st.integers(5, 6),
        "CURRENCY_ISO": st.integers(3, 4),
    },
)


def assert_fits_sap(
    creation: CustomerCreation, customer_request: CustomerRequest, live_lengths: dict[str, int] | None = None
) -> None:
    widths = effective_lengths(live_lengths)
    company_data = creation.parameters["PI_COMPANYDATA"]
    assert set(company_data) <= set(COMPANY_DATA_FIELDS)
    # The create BAPIs need a language key (shared/core/mapping.py _add_language): never a create without one.
    assert company_data["LANGU"] and company_data["LANGU_ISO"]
    for field_name, value in company_data.items():
        assert value, field_name
        assert utf16_units(value) <= widths[field_name] <= COMPANY_DATA_LENGTHS[field_name], field_name
    name_lines = [company_data[field_name] for field_name in NAME_FIELDS if field_name in company_data]
    assert "".join(name_lines).replace(" ", "") == customer_request.name.replace(" ", "")

    reference = creation.parameters["PI_COPYREFERENCE"]
    assert set(reference) == {"SALESORG", "DISTR_CHAN", "DIVISION", "REF_CUSTMR"}
    assert all(reference.values())
    assert len(reference["REF_CUSTMR"]) <= 10
    assert creation.parameters["PI_OPT_COMPANYDATA"] == {}


@settings(max_examples=200, deadline=None)
@given(customer_requests(name_strategy=NAMES_UP_TO_140_UNITS), organizations(), st.none() | LIVE_LENGTHS)
def test_mapping_fails_only_with_field_errors_and_everything_it_passes_fits(
    customer_request, organization, live_lengths
):
    try:
        creation = map_customer_request(customer_request, organization, live_lengths)
    except InvalidRequest as invalid:
        assert invalid.errors
        return
    assert_fits_sap(creation, customer_request, live_lengths)


@settings(max_examples=200, deadline=None)
@given(customer_requests(organizational_data=False), organizations(with_default=True))
def test_requests_whose_organizational_data_resolve_always_map_and_fit(customer_request, organization):
    creation = map_customer_request(customer_request, organization)

    assert_fits_sap(creation, customer_request)
    assert {warning.field for warning in creation.warnings} <= {"street", "city", "phone"}


@st.composite
def narrower_names(draw: st.DrawFn) -> tuple[dict[str, int], CustomerRequest]:
    """Live lengths with narrower name lines, and a request whose name surely fits them."""
    # A narrower postal code field refuses a longer code as a field error (tests/unit/test_mapping.py).
    live_lengths = {name: length for name, length in draw(LIVE_LENGTHS).items() if name != "POSTL_COD1"}
    width = min(effective_lengths(live_lengths)[field_name] for field_name in NAME_FIELDS)
    customer_request = draw(customer_requests(organizational_data=False, name_strategy=names(4 * width - 3)))
    return live_lengths, customer_request


@settings(max_examples=200, deadline=None)
@given(narrower_names(), organizations(with_default=True))
def test_requests_map_and_fit_the_live_lengths_whatever_they_are(lengths_and_request, organization):
    live_lengths, customer_request = lengths_and_request

    creation = map_customer_request(customer_request, organization, live_lengths)

    assert_fits_sap(creation, customer_request, live_lengths)
    assert {warning.field for warning in creation.warnings} <= {"street", "city", "phone"}


WIDER_LIVE_LENGTHS = st.fixed_dictionaries(
    {}, optional={field_name: st.integers(length, length + 40) for field_name, length in COMPANY_DATA_LENGTHS.items()}
)


@settings(max_examples=200, deadline=None)
@given(customer_requests(), organizations(), WIDER_LIVE_LENGTHS)
def test_live_lengths_wider_than_kna1_change_nothing(customer_request, organization, live_lengths):
    def mapped(lengths: dict[str, int] | None) -> object:
        try:
            return map_customer_request(customer_request, organization, lengths)
        except InvalidRequest as invalid:
            return invalid.errors

    assert mapped(live_lengths) == mapped(None)
