"""Properties of the mapping over arbitrary input: names never lose a character, the mapping only
ever fails with InvalidCustomerRequest, and whatever it passes fits SAP's fields."""

from __future__ import annotations

import pycountry
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.mapping import (
    COMPANY_DATA_LENGTHS,
    NAME_FIELDS,
    join_name,
    map_customer_request,
    split_name,
    split_name_with_separators,
)
from shared.models import CustomerCreation, CustomerRequest, InvalidCustomerRequest
from shared.reference import sap_language_key
from shared.settings import SalesArea, SalesAreaSetup, SapOrganisation

# Printable characters of any script, spaces included; no control characters or surrogates.
PRINTABLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn"))


def normalise(text: str) -> str:
    """What request validation does to free text: stripped, whitespace runs collapsed to one space."""
    return " ".join(text.split())


WORDS = st.one_of(
    st.text(PRINTABLE.filter(lambda character: not character.isspace()), min_size=1, max_size=40),
    st.sampled_from(["Street", "Avenue", "Road", "Straße", "Bahnhofstrasse", "GmbH", "&", "Co.", "Suite"]),
)


def phrases(max_size: int) -> st.SearchStrategy[str]:
    """Word sequences up to max_size characters: hypothesis' plain text rarely gets long enough."""
    return st.lists(WORDS, min_size=1, max_size=40).map(lambda words: normalise(" ".join(words)[:max_size])).filter(
        bool)


NAMES = st.one_of(st.text(PRINTABLE, min_size=1, max_size=140).map(normalise).filter(bool), phrases(140))
FREE_TEXT = st.one_of(
    st.text(st.one_of(PRINTABLE, st.sampled_from("\n\r ")), max_size=255),
    st.lists(phrases(80), min_size=1, max_size=3).map("\n".join),
)
CITIES = st.one_of(st.text(PRINTABLE, max_size=40).map(normalise), phrases(40))


@settings(max_examples=500, deadline=None)
@given(NAMES)
def test_split_name_fits_four_lines_of_35_and_loses_no_character(name):
    parts, separators = split_name_with_separators(name)

    assert parts == split_name(name)
    assert 1 <= len(parts) <= 4
    assert all(0 < len(part) <= 35 for part in parts)
    assert join_name(parts, separators) == name
    assert set(separators) <= {" ", ""}
    # SAP does not keep a trailing blank, and a leading one would be taken for an empty line start.
    assert not any(part != part.strip() for part in parts)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(PRINTABLE.filter(lambda character: not character.isspace()), min_size=1, max_size=34),
                min_size=1, max_size=4).map(" ".join).filter(lambda name: len(name) <= 35))
def test_a_name_that_fits_one_line_is_not_split(name):
    assert split_name(name) == [name]


@settings(max_examples=300, deadline=None)
@given(st.text(st.one_of(PRINTABLE, st.just(" ")), max_size=140))
def test_even_unnormalised_names_come_back_exactly(name):
    parts, separators = split_name_with_separators(name)

    assert len(parts) <= 4
    assert all(len(part) <= 35 for part in parts)
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
    suffixes = sorted(subdivision.code.split("-", 1)[1]
                      for subdivision in pycountry.subdivisions.get(country_code=country) or [])
    region = draw(st.none() | st.sampled_from(suffixes)) if suffixes else None
    return country, region


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.none() | strategy


# (salesOrganization, distributionChannel, division): mostly complete or absent, sometimes partial.
SALES_AREA_FIELDS = st.one_of(
    st.just((None, None, None)),
    st.sampled_from([*SALES_AREAS, SalesArea("7000", "10", "00")]).map(
        lambda area: (area.sales_organization, area.distribution_channel, area.division)),
    st.tuples(optional(st.sampled_from(["1000", "3000"])), optional(st.just("10")), optional(st.just("00"))),
)


@st.composite
def customer_requests(draw: st.DrawFn, organisational_data: bool = True) -> CustomerRequest:
    """Requests built from valid pieces; without `organisational_data` they leave it all to settings
    except a reference customer, so that any organisation with a default sales area resolves them."""
    country, region = draw(country_and_region())
    if organisational_data:
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
        name=draw(NAMES),
        country_code=country,
        region_code=region,
        street=draw(optional(FREE_TEXT)),
        city=draw(optional(CITIES)),
        postal_code=postal_code,
        phone=draw(optional(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True) | st.text(PRINTABLE, max_size=40))),
        currency_code=draw(optional(st.sampled_from(CURRENCIES))),
        language_code=language,
        company_code=company_code,
        sales_organization=sales_organization,
        distribution_channel=distribution_channel,
        division=division,
        reference_customer=reference_customer,
    )


@st.composite
def organisations(draw: st.DrawFn, with_default: bool = False) -> SapOrganisation:
    areas = draw(st.lists(st.sampled_from(SALES_AREAS), unique=True))
    default = st.sampled_from(SALES_AREAS)
    return SapOrganisation(
        default_sales_area=draw(default if with_default else st.none() | default),
        sales_areas={
            area: SalesAreaSetup(company_code=area.sales_organization,
                                 reference_customer=draw(optional(st.sampled_from(["1000", "0000003000"]))))
            for area in areas
        },
        account_id_field=draw(st.sampled_from(["SORT2", "SORT1"])),
    )


def assert_fits_sap(creation: CustomerCreation, customer_request: CustomerRequest) -> None:
    company_data = creation.parameters["PI_COMPANYDATA"]
    for field_name, value in company_data.items():
        assert value, field_name
        assert len(value) <= COMPANY_DATA_LENGTHS[field_name], field_name
    assert company_data[creation.account_id_field] == customer_request.account_id
    name_lines = [company_data[field_name] for field_name in NAME_FIELDS if field_name in company_data]
    assert "".join(name_lines).replace(" ", "") == customer_request.name.replace(" ", "")

    reference = creation.parameters["PI_COPYREFERENCE"]
    assert set(reference) == {"SALESORG", "DISTR_CHAN", "DIVISION", "REF_CUSTMR"}
    assert all(reference.values())
    assert len(reference["REF_CUSTMR"]) <= 10
    assert creation.parameters["PI_OPT_COMPANYDATA"] == {}


@settings(max_examples=200, deadline=None)
@given(customer_requests(), organisations())
def test_mapping_fails_only_with_field_errors_and_everything_it_passes_fits(customer_request, organisation):
    try:
        creation = map_customer_request(customer_request, organisation)
    except InvalidCustomerRequest as invalid:
        assert invalid.errors
        return
    assert_fits_sap(creation, customer_request)


@settings(max_examples=200, deadline=None)
@given(customer_requests(organisational_data=False), organisations(with_default=True))
def test_requests_whose_organisational_data_resolve_always_map_and_fit(customer_request, organisation):
    creation = map_customer_request(customer_request, organisation)

    assert_fits_sap(creation, customer_request)
    assert {warning.field for warning in creation.warnings} <= {"street", "city", "phone"}
