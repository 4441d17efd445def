"""CustomerRequest -> BAPI_CUSTOMER_CREATEFROMDATA1 parameters: examples for each rule."""

from __future__ import annotations

import dataclasses

import pytest

from shared.core.mapping import (
    COMPANY_DATA_FIELDS,
    COMPANY_DATA_LENGTHS,
    effective_lengths,
    join_name,
    map_customer_request,
    shorten_city,
    shorten_street,
    split_name,
    split_name_with_separators,
)
from shared.core.models import CustomerRequest, FieldError, InvalidRequest, MappingWarning
from shared.core.organization import SalesArea, SalesAreaSetup, SapOrganization
from shared.core.sap_lengths import utf16_units

ACCOUNT_ID = "001Aj00000AbCdEIAV"
AREA_1000 = SalesArea("1000", "10", "00")
AREA_3000 = SalesArea("3000", "10", "00")

# SAP's IDES demo customising, as the settings default it.
IDES = SapOrganization(
    default_sales_area=AREA_1000,
    sales_areas={
        AREA_1000: SalesAreaSetup(company_code="1000", reference_customer="0000001000"),
        AREA_3000: SalesAreaSetup(company_code="3000", reference_customer="0000003000"),
    },
)


def request(**changes: str | None) -> CustomerRequest:
    base = CustomerRequest(account_id=ACCOUNT_ID, name="Acme GmbH", country_code="DE")
    return dataclasses.replace(base, **changes)


def errors_of(call_request: CustomerRequest, organization: SapOrganization = IDES) -> list[FieldError]:
    with pytest.raises(InvalidRequest) as raised:
        map_customer_request(call_request, organization)
    return raised.value.errors


# --------------------------------------------------------------------------- full examples


def test_german_customer_maps_region_language_and_default_sales_area():
    creation = map_customer_request(
        CustomerRequest(
            account_id=ACCOUNT_ID,
            name="Müller Maschinenbau GmbH",
            country_code="DE",
            street="Hauptstraße 5",
            city="München",
            postal_code="80331",
            region_code="BY",
            phone="+49891234567",
            currency_code="EUR",
        ),
        IDES,
    )

    assert creation.parameters == {
        "PI_COMPANYDATA": {
            "NAME": "Müller Maschinenbau GmbH",
            "STREET": "Hauptstraße 5",
            "CITY": "München",
            "POSTL_COD1": "80331",
            "REGION": "09",
            "COUNTRY": "DE",
            "COUNTRYISO": "DE",
            "LANGU": "D",
            "LANGU_ISO": "DE",
            "CURRENCY": "EUR",
            "CURRENCY_ISO": "EUR",
            "TEL1_NUMBR": "+49891234567",
        },
        "PI_OPT_COMPANYDATA": {},
        "PI_COPYREFERENCE": {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"},
    }
    assert creation.account_id == ACCOUNT_ID
    assert creation.search_since is None  # set by the service only when an earlier outcome is unknown
    assert creation.warnings == ()


def test_us_customer_with_explicit_sales_area_and_reference_customer():
    creation = map_customer_request(
        CustomerRequest(
            account_id=ACCOUNT_ID,
            name="Acme Corporation",
            country_code="US",
            street="1 Market Street",
            city="San Francisco",
            postal_code="94105",
            region_code="CA",
            phone="+14155550123",
            currency_code="USD",
            language_code="en",
            company_code="3000",
            sales_organization="3000",
            distribution_channel="10",
            division="00",
            reference_customer="4711",
        ),
        IDES,
    )

    assert creation.parameters == {
        "PI_COMPANYDATA": {
            "NAME": "Acme Corporation",
            "STREET": "1 Market Street",
            "CITY": "San Francisco",
            "POSTL_COD1": "94105",
            "REGION": "CA",
            "COUNTRY": "US",
            "COUNTRYISO": "US",
            "LANGU": "E",
            "LANGU_ISO": "EN",
            "CURRENCY": "USD",
            "CURRENCY_ISO": "USD",
            "TEL1_NUMBR": "+14155550123",
        },
        "PI_OPT_COMPANYDATA": {},
        "PI_COPYREFERENCE": {"SALESORG": "3000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000004711"},
    }
    assert creation.warnings == ()


def test_only_fields_with_a_value_are_passed():
    company_data = map_customer_request(request(), IDES).parameters["PI_COMPANYDATA"]

    # The language comes from the country when the request has none; currency is left to SAP.
    assert company_data == {
        "NAME": "Acme GmbH",
        "COUNTRY": "DE",
        "COUNTRYISO": "DE",
        "LANGU": "D",
        "LANGU_ISO": "DE",
    }


def test_the_mapping_fills_only_fields_of_sap_s_published_bapikna106():
    company_data = map_customer_request(
        request(street="Hauptstr. 5", city="Köln", postal_code="50667", phone="+49221123;ext=7", currency_code="EUR"),
        IDES,
    ).parameters["PI_COMPANYDATA"]

    assert set(company_data) <= set(COMPANY_DATA_FIELDS)
    # BAPIKNA106 has no SORT1, SORT2, FORM_OF_AD or POBX_PCD: pyrfc would refuse the whole call.
    assert not {"SORT1", "SORT2", "FORM_OF_AD", "POBX_PCD"} & set(COMPANY_DATA_FIELDS)


def test_the_account_id_is_not_carried_into_sap():
    # No field of CREATEFROMDATA1 can carry an 18-character Salesforce Id into a searchable place; the
    # duplicate guard searches by name and address instead.
    company_data = map_customer_request(request(), IDES).parameters["PI_COMPANYDATA"]

    assert ACCOUNT_ID not in company_data.values()
    assert ACCOUNT_ID.upper() not in company_data.values()


def company_data_of(**changes: str | None) -> dict[str, str]:
    return map_customer_request(request(**changes), IDES).parameters["PI_COMPANYDATA"]


def test_a_region_whose_sap_key_is_the_iso_suffix():
    assert company_data_of(country_code="US", region_code="NY")["REGION"] == "NY"


def test_a_region_the_reference_data_does_not_know_is_passed_as_its_iso_suffix():
    # Aberdeen City: no SAP region data for GB, so SAP gets the ISO suffix and judges it itself.
    assert company_data_of(country_code="GB", region_code="ABE")["REGION"] == "ABE"


def test_the_default_language_of_a_country_is_used_when_the_request_has_none():
    company_data = company_data_of(country_code="FR")

    assert (company_data["LANGU"], company_data["LANGU_ISO"]) == ("F", "FR")


def test_a_language_sap_has_no_key_for_is_a_field_error():
    assert [error.field for error in errors_of(request(language_code="zz"))] == ["language"]


# Kenya: a country reference/country_languages.json gives no usual language.
NO_USUAL_LANGUAGE = "KE"


def test_without_a_language_from_request_or_country_the_configured_default_is_sent():
    organization = dataclasses.replace(IDES, default_language="en")

    company_data = map_customer_request(request(country_code=NO_USUAL_LANGUAGE), organization).parameters[
        "PI_COMPANYDATA"
    ]

    assert (company_data["LANGU"], company_data["LANGU_ISO"]) == ("E", "EN")


def test_the_sales_areas_language_comes_before_the_default_language():
    organization = dataclasses.replace(
        IDES,
        default_language="en",
        sales_areas={**IDES.sales_areas, AREA_3000: SalesAreaSetup("3000", "0000003000", language="fr")},
    )

    in_3000 = map_customer_request(request(country_code=NO_USUAL_LANGUAGE, company_code="3000"), organization)
    in_1000 = map_customer_request(request(country_code=NO_USUAL_LANGUAGE), organization)

    assert in_3000.parameters["PI_COMPANYDATA"]["LANGU"] == "F"
    assert in_1000.parameters["PI_COMPANYDATA"]["LANGU"] == "E"


def test_the_request_and_the_country_come_before_any_configured_language():
    organization = dataclasses.replace(IDES, default_language="en")

    def language_of(**changes: str | None) -> str:
        return map_customer_request(request(**changes), organization).parameters["PI_COMPANYDATA"]["LANGU"]

    assert language_of(country_code="FR") == "F"
    assert language_of(country_code=NO_USUAL_LANGUAGE, language_code="de") == "D"


def test_without_any_language_the_request_is_refused_naming_language_and_the_setting():
    [error] = errors_of(request(country_code=NO_USUAL_LANGUAGE))

    assert error.field == "language"
    assert "SAP_DEFAULT_LANGUAGE" in error.message and "KE" in error.message


# --------------------------------------------------------------------------- sales area


def copy_reference(creation_request: CustomerRequest, organization: SapOrganization = IDES) -> dict[str, str]:
    return map_customer_request(creation_request, organization).parameters["PI_COPYREFERENCE"]


def test_explicit_sales_area_takes_its_configured_reference_customer():
    assert copy_reference(request(sales_organization="3000", distribution_channel="10", division="00")) == {
        "SALESORG": "3000",
        "DISTR_CHAN": "10",
        "DIVISION": "00",
        "REF_CUSTMR": "0000003000",
    }


def test_explicit_sales_area_keys_are_upper_cased_like_sap_stores_them():
    organization = SapOrganization(sales_areas={SalesArea("US01", "DI", "AB"): SalesAreaSetup("US01", "100")})

    assert copy_reference(
        request(sales_organization="us01", distribution_channel="di", division="ab"), organization
    ) == {"SALESORG": "US01", "DISTR_CHAN": "DI", "DIVISION": "AB", "REF_CUSTMR": "0000000100"}


def test_explicit_sales_area_that_is_not_configured_needs_a_reference_customer():
    unconfigured = request(sales_organization="2000", distribution_channel="20", division="01")

    assert errors_of(unconfigured) == [
        FieldError(
            "referenceCustomer",
            "required: no reference customer is configured for sales area 2000/20/01 (SAP_SALES_AREAS)",
        )
    ]
    assert copy_reference(dataclasses.replace(unconfigured, reference_customer="2000"))["REF_CUSTMR"] == "0000002000"


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"sales_organization": "1000"}, ["distributionChannel", "division"]),
        ({"distribution_channel": "10"}, ["salesOrganization", "division"]),
        ({"sales_organization": "1000", "division": "00"}, ["distributionChannel"]),
    ],
)
def test_a_partial_sales_area_names_each_missing_part(given, missing):
    errors = errors_of(request(**given))

    assert [error.field for error in errors] == missing
    assert all("sales area needs" in error.message for error in errors)


def test_sales_area_keys_longer_than_sap_holds_are_field_errors():
    errors = errors_of(request(sales_organization="10000", distribution_channel="100", division="00"))

    assert [error.field for error in errors] == ["salesOrganization", "distributionChannel"]


def test_company_code_alone_picks_its_single_sales_area():
    assert copy_reference(request(company_code="3000")) == {
        "SALESORG": "3000",
        "DISTR_CHAN": "10",
        "DIVISION": "00",
        "REF_CUSTMR": "0000003000",
    }


def test_company_code_without_a_configured_sales_area_lists_the_configured_ones():
    (error,) = errors_of(request(company_code="5000"))

    assert error.field == "companyCode"
    assert "no sales area is configured for company code 5000" in error.message
    assert "1000/10/00, 3000/10/00" in error.message
    assert "SAP_SALES_AREAS" in error.message


def test_company_code_with_several_sales_areas_asks_to_choose_one():
    organization = dataclasses.replace(
        IDES, sales_areas={**IDES.sales_areas, SalesArea("1000", "12", "00"): SalesAreaSetup("1000", "0000001001")}
    )

    (error,) = errors_of(request(company_code="1000"), organization)

    assert error.field == "companyCode"
    assert "several sales areas (1000/10/00, 1000/12/00)" in error.message
    assert "choose one" in error.message


def test_no_sales_area_at_all_uses_the_default():
    assert copy_reference(request())["SALESORG"] == "1000"


def test_no_sales_area_and_no_default_is_an_error_naming_the_setting():
    assert errors_of(request(), dataclasses.replace(IDES, default_sales_area=None)) == [
        FieldError("salesOrganization", "required: no default sales area is configured (SAP_DEFAULT_SALES_AREA)")
    ]


def test_company_code_that_does_not_own_the_sales_organization_is_rejected():
    mismatch = request(company_code="3000", sales_organization="1000", distribution_channel="10", division="00")

    assert errors_of(mismatch) == [
        FieldError("companyCode", "sales organization 1000 belongs to company code 1000, not 3000")
    ]


def test_company_code_is_checked_through_another_sales_area_of_the_same_sales_organization():
    # Channel 12 is not configured, but sales organization 1000 is, and with it its company code.
    other_channel = request(
        company_code="3000",
        sales_organization="1000",
        distribution_channel="12",
        division="00",
        reference_customer="1000",
    )

    assert [error.field for error in errors_of(other_channel)] == ["companyCode"]


def test_matching_company_code_and_explicit_sales_area_are_accepted():
    matching = request(company_code="1000", sales_organization="1000", distribution_channel="10", division="00")

    assert copy_reference(matching)["SALESORG"] == "1000"


def test_company_code_of_an_unknown_sales_organization_cannot_be_checked_and_is_accepted():
    unknown = request(
        company_code="3000",
        sales_organization="7000",
        distribution_channel="10",
        division="00",
        reference_customer="7000",
    )

    assert copy_reference(unknown)["SALESORG"] == "7000"


# --------------------------------------------------------------------------- reference customer


@pytest.mark.parametrize(
    ("given", "passed"),
    [("1000", "0000001000"), ("0000001000", "0000001000"), ("1", "0000000001"), ("ref-01", "REF-01")],
)
def test_reference_customer_numbers_are_padded_like_sap_stores_them(given, passed):
    assert copy_reference(request(reference_customer=given))["REF_CUSTMR"] == passed


def test_the_request_reference_customer_wins_over_the_configured_one():
    assert copy_reference(request(reference_customer="4711"))["REF_CUSTMR"] == "0000004711"


def test_a_configured_numeric_reference_customer_is_padded():
    organization = SapOrganization(
        default_sales_area=AREA_1000, sales_areas={AREA_1000: SalesAreaSetup("1000", "1000")}
    )

    assert copy_reference(request(), organization)["REF_CUSTMR"] == "0000001000"


def test_a_sales_area_configured_without_reference_customer_needs_one_in_the_request():
    organization = SapOrganization(default_sales_area=AREA_1000, sales_areas={AREA_1000: SalesAreaSetup("1000")})

    (error,) = errors_of(request(), organization)

    assert error.field == "referenceCustomer"
    assert "SAP_SALES_AREAS" in error.message


def test_a_reference_customer_longer_than_a_customer_number_is_rejected():
    assert [error.field for error in errors_of(request(reference_customer="12345678901"))] == ["referenceCustomer"]


def test_every_problem_is_reported_at_once():
    errors = errors_of(request(sales_organization="1000", postal_code="12345678901", language_code="zz"))

    assert [error.field for error in errors] == ["distributionChannel", "division", "postalCode", "language"]


# --------------------------------------------------------------------------- names


def name_lines(name: str) -> dict[str, str]:
    company_data = map_customer_request(request(name=name), IDES).parameters["PI_COMPANYDATA"]
    return {key: value for key, value in company_data.items() if key.startswith("NAME")}


def test_a_name_of_exactly_35_characters_stays_on_one_line():
    name = "Nordwind Handelsgesellschaft mbH KG"
    assert len(name) == 35

    assert name_lines(name) == {"NAME": name}


def test_a_name_of_36_characters_breaks_at_the_last_word_that_fits():
    name = "Nordwind Handelsgesellschaft mbH KGa"
    assert len(name) == 36

    assert name_lines(name) == {"NAME": "Nordwind Handelsgesellschaft mbH", "NAME_2": "KGa"}


def test_a_single_word_of_36_characters_is_cut_at_35():
    assert split_name("A" * 36) == ["A" * 35, "A"]


def test_a_word_longer_than_35_starts_its_own_line_and_is_cut():
    word = "Donaudampfschifffahrtsgesellschaftskapitän"  # 42 characters

    parts, separators = split_name_with_separators(f"Erste {word} AG")

    assert parts == ["Erste", word[:35], word[35:] + " AG"]
    assert separators == [" ", ""]


def test_a_name_of_140_characters_in_words_fills_four_lines():
    name = " ".join(["Wort"] * 28)  # 28 x 4 + 27 spaces = 139
    name += "X"
    assert len(name) == 140

    parts, separators = split_name_with_separators(name)

    assert len(parts) == 4
    assert all(len(part) <= 35 for part in parts)
    assert join_name(parts, separators) == name


def test_when_words_need_more_than_four_lines_the_whole_name_is_cut_every_35_characters():
    name = "Ab " + "C" * 34 + " " + "D" * 34 + " " + "E" * 34 + " " + "F" * 30  # word split would need 5 lines
    assert len(name) <= 140

    parts, separators = split_name_with_separators(name)

    assert len(parts) == 4
    assert "".join(parts).replace(" ", "") == name.replace(" ", "")
    assert join_name(parts, separators) == name
    assert not any(part.startswith(" ") or part.endswith(" ") for part in parts)


def test_all_four_name_lines_are_passed():
    name = " ".join(f"Word{number}" for number in range(20))  # 129 characters

    lines = name_lines(name)

    assert list(lines) == ["NAME", "NAME_2", "NAME_3", "NAME_4"]
    assert " ".join(lines.values()) == name


def test_a_name_longer_than_140_characters_is_a_field_error():
    assert [error.field for error in errors_of(request(name="A" * 141))] == ["name"]


def test_a_name_is_measured_in_utf16_code_units():
    # A Unicode SAP counts UTF-16 code units: an emoji outside the BMP takes two.
    name = "🙂" * 18  # 18 characters, 36 units

    lines = name_lines(name)

    assert lines == {"NAME": "🙂" * 17, "NAME_2": "🙂"}  # never half an emoji
    assert utf16_units(lines["NAME"]) == 34


def test_a_name_of_35_units_with_an_emoji_stays_on_one_line():
    name = "A" + "🙂" * 17  # 18 characters, 35 units

    assert name_lines(name) == {"NAME": name}


def test_split_name_cuts_by_utf16_units_and_never_splits_a_character():
    assert split_name("🙂" * 20, 30) == ["🙂" * 15, "🙂" * 5]
    assert split_name("x" + "🙂" * 20, 30) == ["x" + "🙂" * 14, "🙂" * 6]
    assert split_name("Ab 🙂🙂🙂", 5) == ["Ab", "🙂🙂", "🙂"]


def test_a_name_of_more_than_140_units_is_a_field_error_even_with_fewer_characters():
    name = "🙂" * 71  # 71 characters, 142 units

    assert [error.field for error in errors_of(request(name=name))] == ["name"]


def test_emoji_that_fill_140_units_do_not_fit_because_no_line_holds_half_of_one():
    # A line of 35 units holds 17 emoji (34 units): four lines hold 68, so 69 (138 units) do not fit.
    assert len(name_lines("🙂" * 68)) == 4
    assert [error.field for error in errors_of(request(name="🙂" * 69))] == ["name"]


# --------------------------------------------------------------------------- street, city, phone


def company_data_and_warnings(**changes: str | None) -> tuple[dict[str, str], tuple[MappingWarning, ...]]:
    creation = map_customer_request(request(**changes), IDES)
    return creation.parameters["PI_COMPANYDATA"], creation.warnings


def test_short_values_are_passed_unchanged_without_warnings():
    company_data, warnings = company_data_and_warnings(
        street="Bahnhofstraße 12", city="Frankfurt am Main", postal_code="60329", phone="+49697654321"
    )

    assert (company_data["STREET"], company_data["CITY"]) == ("Bahnhofstraße 12", "Frankfurt am Main")
    assert warnings == ()


def test_street_lines_are_joined_with_a_comma_without_warning_when_they_fit():
    company_data, warnings = company_data_and_warnings(street="Gebäude 4\r\nMarktplatz 1")

    assert company_data["STREET"] == "Gebäude 4, Marktplatz 1"
    assert warnings == ()


def test_a_long_street_is_abbreviated_before_anything_is_cut():
    street = "1234 North Martin Luther King Boulevard"  # 39 characters

    company_data, warnings = company_data_and_warnings(street=street)

    assert company_data["STREET"] == "1234 North Martin Luther King Blvd."
    assert warnings == (
        MappingWarning(
            "street",
            "street shortened to 35 characters for SAP (STREET): street types abbreviated and, if still too "
            "long, cut after the last whole word that fits",
        ),
    )


def test_german_street_suffixes_are_abbreviated():
    assert shorten_street("Hinterer Kirchbergweg und Großbeerenstraße 112a") == ("Hinterer Kirchbergweg und", True)
    assert shorten_street("Großbeerenstraße 112a, Hinterhaus links") == ("Großbeerenstr. 112a, Hinterhaus", True)
    assert shorten_street("Strasse des 17. Juni 135, Gebäude West 4") == ("Str. des 17. Juni 135, Gebäude West", True)


def test_a_street_still_too_long_is_cut_at_the_last_word_that_fits():
    street = "Building 5, Floor 3\n1600 Amphitheatre Parkway"

    company_data, warnings = company_data_and_warnings(street=street)

    assert company_data["STREET"] == "Bldg. 5, Fl. 3, 1600 Amphitheatre"
    assert len(warnings) == 1
    assert warnings[0].field == "street"
    assert warnings[0].message.startswith("street shortened to 35 characters for SAP (STREET)")
    # The rule, never the value: the warning is kept in the ledger, logged and written to Salesforce.
    assert "Amphitheatre" not in warnings[0].message and "Bldg" not in warnings[0].message


def test_abbreviations_leave_words_that_merely_contain_them_and_existing_dots_alone():
    assert shorten_street("Roadrunner Streetwise Avenue. Courtyard 1234567") == ("Roadrunner Streetwise Avenue.", True)


def test_a_street_of_one_word_longer_than_35_is_cut_hard():
    assert shorten_street("X" * 40) == ("X" * 35, True)


def test_a_long_city_is_cut_at_the_last_word_boundary_with_a_warning():
    city = "Llanfair Pwllgwyngyll Gogerychwyrndrobwll"  # 41 characters

    company_data, warnings = company_data_and_warnings(city=city)

    assert company_data["CITY"] == "Llanfair Pwllgwyngyll"
    assert warnings == (
        MappingWarning(
            "city", "city shortened to 35 characters for SAP (CITY): cut after the last whole word that fits"
        ),
    )


def test_a_city_of_exactly_35_characters_is_kept():
    city = "C" * 35
    assert shorten_city(city) == (city, False)


def test_a_phone_longer_than_sap_holds_is_left_out_with_a_warning():
    company_data, warnings = company_data_and_warnings(phone="+49 89 1234567 ext. 123456789012345")

    assert "TEL1_NUMBR" not in company_data
    assert "TEL1_EXT" not in company_data
    assert [warning.field for warning in warnings] == ["phone"]
    assert "TEL1_NUMBR" in warnings[0].message
    assert "not passed" in warnings[0].message


def test_an_extension_longer_than_sap_holds_is_left_out_with_a_warning_while_the_number_is_passed():
    company_data, warnings = company_data_and_warnings(phone="+4989123456;ext=12345678901")  # 11 digits

    assert company_data["TEL1_NUMBR"] == "+4989123456"
    assert "TEL1_EXT" not in company_data
    assert [warning.field for warning in warnings] == ["phone"]
    assert "TEL1_EXT" in warnings[0].message and "extension not passed" in warnings[0].message


def test_an_extension_of_exactly_ten_characters_is_passed():
    company_data, warnings = company_data_and_warnings(phone="+4989123456;ext=1234567890")

    assert company_data["TEL1_EXT"] == "1234567890"
    assert warnings == ()


def test_a_postal_code_longer_than_sap_holds_is_a_field_error():
    assert [error.field for error in errors_of(request(postal_code="12345-67890"))] == ["postalCode"]


@pytest.mark.parametrize(("filler", "name_length"), [("Ä", 140), ("🙂", 68)], ids=["latin", "emoji"])
def test_every_company_data_value_fits_its_field(filler, name_length):
    company_data, _ = company_data_and_warnings(
        name=filler * name_length,
        street=filler * 80,
        city=(filler + " ") * 30,
        postal_code="1234567890",
        region_code="BY",
        phone="+" + "1" * 29,
        currency_code="EUR",
        language_code="de",
    )

    assert all(utf16_units(value) <= COMPANY_DATA_LENGTHS[key] for key, value in company_data.items())


def test_a_street_and_a_city_are_shortened_by_utf16_units():
    assert shorten_street("🙂" * 20) == ("🙂" * 17, True)
    emoji = "🙂" * 15  # 30 units
    assert shorten_city(f"Köln {emoji} Ehrenfeld") == (f"Köln {emoji}", True)


# --------------------------------------------------------------------------- live lengths


def test_the_widths_are_the_smaller_of_kna1_s_and_the_live_system_s():
    lengths = effective_lengths({"NAME": 30, "STREET": 60, "CITY": 40, "TEL1_EXT": 4, "SORT2": 20})

    assert (lengths["NAME"], lengths["STREET"], lengths["CITY"], lengths["TEL1_EXT"]) == (30, 35, 35, 4)
    assert lengths["POSTL_COD1"] == COMPANY_DATA_LENGTHS["POSTL_COD1"]  # not reported: ours
    assert set(lengths) == set(COMPANY_DATA_LENGTHS)  # a live field the mapping does not fill adds nothing
    assert effective_lengths(None) == COMPANY_DATA_LENGTHS == effective_lengths({})


def test_wider_live_lengths_change_nothing():
    customer_request = request(
        name="Nordwind Handelsgesellschaft mbH KGa",
        street="1234 North Martin Luther King Boulevard",
        city="Llanfair Pwllgwyngyll Gogerychwyrndrobwll",
    )
    wide = {"NAME": 40, "NAME_2": 40, "NAME_3": 40, "NAME_4": 40, "STREET": 60, "CITY": 40}

    assert map_customer_request(customer_request, IDES, wide) == map_customer_request(customer_request, IDES)


def test_a_shorter_live_name_splits_the_name_at_the_live_width():
    creation = map_customer_request(request(name="Nordwind Handelsgesellschaft mbH KG"), IDES, {"NAME": 30})

    company_data = creation.parameters["PI_COMPANYDATA"]
    assert (company_data["NAME"], company_data["NAME_2"]) == ("Nordwind Handelsgesellschaft", "mbH KG")


def test_a_shorter_live_name_line_narrows_all_four_lines_and_the_name_limit():
    assert [error.message for error in errors_of_live(request(name="A" * 121), {"NAME_3": 30})] == [
        "at most 120 characters for SAP (4 name lines of 30), counted in UTF-16 units as SAP and Salesforce "
        "count: an emoji takes 2 and stays whole on its line"
    ]
    company_data = map_customer_request(request(name="A" * 120), IDES, {"NAME_3": 30}).parameters["PI_COMPANYDATA"]
    assert [company_data[f"NAME{suffix}"] for suffix in ("", "_2", "_3", "_4")] == ["A" * 30] * 4


@pytest.mark.parametrize("emoji", [70, 69])
def test_a_name_of_emoji_refused_for_length_says_the_bound_counts_utf16_units(emoji):
    # 70 emoji are 70 characters in Python but 140 UTF-16 units, and a 35-unit line holds 17 of them:
    # a message saying only "at most 140 characters" would contradict the request it refuses.
    [message] = [error.message for error in errors_of_live(request(name="😀" * emoji), {})]
    assert message.startswith("at most 140 characters for SAP (4 name lines of 35)")
    assert "UTF-16 units" in message and "an emoji takes 2" in message


def test_shorter_live_street_and_city_are_shortened_with_warnings_naming_the_live_width():
    creation = map_customer_request(
        request(street="Hauptstraße 5, Hinterhaus", city="Frankfurt am Main"), IDES, {"STREET": 20, "CITY": 12}
    )

    company_data = creation.parameters["PI_COMPANYDATA"]
    assert (company_data["STREET"], company_data["CITY"]) == ("Hauptstr. 5", "Frankfurt am")
    assert [warning.message for warning in creation.warnings] == [
        "street shortened to 20 characters for SAP (STREET): street types abbreviated and, if still too long, cut "
        "after the last whole word that fits",
        "city shortened to 12 characters for SAP (CITY): cut after the last whole word that fits",
    ]


def test_shorter_live_phone_fields_leave_out_what_does_not_fit():
    company_data, warnings = live_company_data_and_warnings({"TEL1_NUMBR": 10}, phone="+4989123456")
    assert "TEL1_NUMBR" not in company_data
    assert "longer than the 10 characters" in warnings[0].message

    company_data, warnings = live_company_data_and_warnings({"TEL1_EXT": 2}, phone="+4989123456;ext=123")
    assert company_data["TEL1_NUMBR"] == "+4989123456" and "TEL1_EXT" not in company_data
    assert "longer than the 2 characters" in warnings[0].message


def test_a_postal_code_longer_than_the_live_field_is_a_field_error_naming_the_live_length():
    assert errors_of_live(request(postal_code="80331"), {"POSTL_COD1": 4}) == [
        FieldError("postalCode", "at most 4 characters for SAP (POSTL_COD1)")
    ]


def errors_of_live(call_request: CustomerRequest, live_lengths: dict[str, int]) -> list[FieldError]:
    with pytest.raises(InvalidRequest) as raised:
        map_customer_request(call_request, IDES, live_lengths)
    return raised.value.errors


def live_company_data_and_warnings(
    live_lengths: dict[str, int], **changes: str | None
) -> tuple[dict[str, str], tuple[MappingWarning, ...]]:
    creation = map_customer_request(request(**changes), IDES, live_lengths)
    return creation.parameters["PI_COMPANYDATA"], creation.warnings


def test_phone_extension_goes_to_its_own_sap_field():
    company_data, warnings = company_data_and_warnings(phone="+4989123456;ext=45")
    assert company_data["TEL1_NUMBR"] == "+4989123456"
    assert company_data["TEL1_EXT"] == "45"
    assert warnings == ()
