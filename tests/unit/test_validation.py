"""CreateSAPCustomer request validation: one example per rule, and every problem reported at once."""

from __future__ import annotations

import pytest

from shared.core.models import CustomerRequest, FieldError, InvalidRequest
from shared.core.reference import (
    default_language_for_country,
    iso_language,
    sap_language_key,
    sap_region_code,
    sap_regions,
)
from shared.core.validation import country_code_for_name, parse_customer_request
from tests.support.samples import sample

ACCOUNT_15 = "001A000001HZy1T"
ACCOUNT_18 = "001A000001HZy1TIAT"

GERMAN = {
    "accountId": ACCOUNT_15,
    "name": "  Müller   Maschinenbau  GmbH ",
    "street": "Leopoldstraße 12",
    "city": "München",
    "postalCode": "80802",
    "state": "Bayern",
    "country": "Germany",
    "phone": "089 1234567",
    "currencyIsoCode": "eur",
    "language": "de_DE",
    "companyCode": "1000",
    "salesOrganization": "1000",
    "distributionChannel": "10",
    "division": "00",
    "referenceCustomer": "1000",
}

US = {
    "accountId": ACCOUNT_18,
    "name": "Acme Corporation",
    "street": "1 Market Street\nSuite 300",
    "city": "San Francisco",
    "postalCode": "94105-1234",
    "stateCode": "CA",
    "countryCode": "USA",
    "phone": "(415) 555-2671",
    "currencyIsoCode": "USD",
    "language": "en-US",
}

JAPANESE = {
    "accountId": ACCOUNT_18,
    "name": "株式会社サンプル",
    "city": "千代田区",
    "postalCode": "1000001",
    "state": "Tokyo",
    "countryCode": "JP",
    "phone": "03-3224-5000",
    "currencyIsoCode": "JPY",
    "language": "ja",
}


def errors_of(payload: object) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        parse_customer_request(payload)
    fields = [error.field for error in caught.value.errors]
    assert len(fields) == len(set(fields)), "one FieldError per field"
    return {error.field: error.message for error in caught.value.errors}


def with_(base: dict[str, object], **changes: object) -> dict[str, object]:
    payload = dict(base)
    for key, value in changes.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


# --- valid accounts -----------------------------------------------------------------------------


def test_german_account_is_normalised():
    assert parse_customer_request(GERMAN) == CustomerRequest(
        account_id=ACCOUNT_18,
        name="Müller Maschinenbau GmbH",
        country_code="DE",
        street="Leopoldstraße 12",
        city="München",
        postal_code="80802",
        region_code="BY",
        phone="+49891234567",
        currency_code="EUR",
        language_code="de",
        company_code="1000",
        sales_organization="1000",
        distribution_channel="10",
        division="00",
        reference_customer="0000001000",
    )


def test_us_account_keeps_zip_plus_four_and_street_lines():
    request = parse_customer_request(US)
    assert request.country_code == "US"
    assert request.postal_code == "94105-1234"
    assert request.region_code == "CA"
    assert request.phone == "+14155552671"
    assert request.language_code == "en"
    assert request.street == "1 Market Street\nSuite 300"


def test_japanese_account_with_prefecture_name_and_postal_code_without_hyphen():
    request = parse_customer_request(JAPANESE)
    assert (request.country_code, request.region_code, request.postal_code) == ("JP", "13", "100-0001")
    assert request.phone == "+81332245000"
    assert request.name == "株式会社サンプル"


def test_minimal_request_needs_only_id_name_country_and_the_countrys_required_address_parts():
    request = parse_customer_request(
        {"accountId": ACCOUNT_15, "name": "Acme", "countryCode": "AT", "city": "Wien", "postalCode": "1010"}
    )
    assert request.street is None and request.region_code is None and request.phone is None


def test_unknown_properties_are_ignored():
    request = parse_customer_request(with_(GERMAN, attributes={"type": "Account"}, Id=ACCOUNT_18, extra=5))
    assert request.account_id == ACCOUNT_18


def test_null_and_blank_optional_values_count_as_missing():
    request = parse_customer_request(with_(GERMAN, phone=None, street="   ", language="", state=None))
    assert (request.phone, request.street, request.language_code, request.region_code) == (None, None, None, None)


# --- required fields and types ------------------------------------------------------------------


def test_all_problems_are_reported_at_once_one_per_field():
    errors = errors_of(
        {
            "accountId": "001A000001HZy1TAAA",
            "name": "   ",
            "city": 5,
            "postalCode": "1234",
            "state": "Texas",
            "country": "Germany",
            "phone": "12",
            "currencyIsoCode": "EURO",
            "language": "xx",
            "companyCode": "12345",
            "salesOrganization": True,
            "distributionChannel": "1-",
            "division": ["00"],
            "referenceCustomer": "12345678901",
        }
    )
    assert set(errors) == {
        "accountId",
        "name",
        "city",
        "postalCode",
        "state",
        "phone",
        "currencyIsoCode",
        "language",
        "companyCode",
        "salesOrganization",
        "distributionChannel",
        "division",
        "referenceCustomer",
    }
    assert errors["accountId"] == "has a wrong checksum suffix: its last 3 characters do not belong to its first 15"
    assert errors["name"] == "is required"
    assert errors["postalCode"].startswith("is not a valid postal code for Germany (expected 5 digits, e.g.")


def test_errors_come_in_contract_order():
    with pytest.raises(InvalidRequest) as caught:
        parse_customer_request({"division": 1, "name": 2, "accountId": 3})
    assert [error.field for error in caught.value.errors] == ["accountId", "name", "countryCode", "division"]


def test_empty_object_names_the_required_fields():
    assert set(errors_of({})) == {"accountId", "name", "countryCode"}


@pytest.mark.parametrize(
    ("value", "described"),
    [(42, "a number"), (4.2, "a number"), (True, "a boolean"), (["x"], "an array"), ({"x": 1}, "an object")],
)
def test_non_string_values_are_rejected(value, described):
    assert errors_of(with_(GERMAN, city=value)) == {"city": f"must be a string, not {described}"}


@pytest.mark.parametrize("payload", [None, [], "{}", 42, True, [GERMAN]])
def test_a_body_that_is_not_an_object_gives_one_error(payload):
    with pytest.raises(InvalidRequest) as caught:
        parse_customer_request(payload)
    assert caught.value.errors == [FieldError("body", "request body must be a JSON object")]


def test_control_characters_are_rejected_except_line_breaks_in_street():
    assert "control characters" in errors_of(with_(GERMAN, name="Acme\x00GmbH"))["name"]
    assert parse_customer_request(with_(GERMAN, street="Hof 2\r\nHaus B\tlinks")).street == "Hof 2\r\nHaus B\tlinks"


def test_lone_surrogates_are_rejected():
    assert "surrogate" in errors_of(with_(GERMAN, city="M\ud800nchen"))["city"]


# --- invisible and deceptive characters ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "\u200b",
        "\u200b\u200b\u200b",
        "\ufeff",
        " \u200b \u2060 ",
        "\u00ad\u200c\u200d",
        "\u3164",
        "\u2800",
        "\u0301",
        "\u200e\u200f",
    ],
)
def test_a_name_of_only_invisible_characters_is_required_not_created(name):
    message = errors_of(with_(GERMAN, name=name))["name"]
    assert message.startswith("is required: must contain visible characters")


def test_a_city_of_only_invisible_characters_is_required_and_an_optional_field_is_an_error_not_blank():
    assert errors_of(with_(GERMAN, city="\u200b"))["city"].startswith("is required: must contain visible characters")
    assert errors_of(with_(GERMAN, street="\ufeff\u200b"))["street"].startswith("must contain visible characters")


@pytest.mark.parametrize("field", ["name", "street", "city", "state", "phone", "postalCode", "accountId"])
@pytest.mark.parametrize(
    "control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
def test_bidirectional_controls_are_rejected_naming_the_field(field, control):
    value = str(GERMAN[field])
    message = errors_of(with_(GERMAN, **{field: value[:2] + control + value[2:]}))[field]
    assert f"bidirectional control characters (found U+{ord(control):04X})" in message


def test_right_to_left_override_in_name_and_street_is_rejected_not_stored():
    errors = errors_of(with_(GERMAN, name="Acme \u202eHbmG", street="Leopoldstraße\u202e 21"))
    assert set(errors) == {"name", "street"}
    assert "U+202E" in errors["name"] and "U+202E" in errors["street"]


def test_byte_order_mark_and_zero_width_characters_are_stripped_never_stored_as_sent():
    request = parse_customer_request(
        with_(
            GERMAN,
            name="\ufeffMüller\u200b Maschinen\u00adbau\u2060 GmbH\ufeff",
            street="Leopold\ufeffstraße 12",
            city="\u200bMünchen",
            postalCode="80\u200b802",
            phone="\u200e089 1234567\u200f",
        )
    )
    assert request.name == "Müller Maschinenbau GmbH"
    assert request.street == "Leopoldstraße 12"
    assert request.city == "München"
    assert request.postal_code == "80802"
    assert request.phone == "+49891234567"


def test_lengths_count_the_visible_characters():
    assert parse_customer_request(with_(GERMAN, name="x\u200b" * 140)).name == "x" * 140


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: ZWNJ inside a word
        "\u0915\u094d\u200d\u0937",  # Devanagari: ZWJ after a virama (half form)
        "\u0dc1\u0dca\u200d\u0dbb\u0dd3",  # Sinhala "Sri": ZWJ between virama and ra
        "\u0d05\u0d35\u0d28\u0d4d\u200d",  # Malayalam: word-final chillu in the older encoding
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 Familie",  # emoji ZWJ sequence
    ],
)
def test_joiners_that_are_part_of_the_spelling_are_kept(name):
    assert parse_customer_request(with_(GERMAN, name=name)).name == name


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("Ac\u200dme", "Acme"),  # between ASCII letters: spells nothing
        ("\u200cAcme\u200d", "Acme"),  # at the edges
        ("Acme \u200d GmbH", "Acme GmbH"),  # next to spaces
        ("\u0645\u06cc\u200c\u200c\u062e", "\u0645\u06cc\u200c\u062e"),  # doubled: one is enough
    ],
)
def test_joiners_elsewhere_are_stripped(name, kept):
    assert parse_customer_request(with_(GERMAN, name=name)).name == kept


def test_visible_format_characters_are_kept():
    assert parse_customer_request(with_(GERMAN, name="Acme \u0600\u0661\u0662")).name == "Acme \u0600\u0661\u0662"


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", 140), ("street", 255), ("city", 40), ("postalCode", 10), ("phone", 40), ("state", 80)],
)
def test_maximum_lengths(field, limit):
    message = errors_of(with_(GERMAN, **{field: "x" * (limit + 1)}))[field]
    assert message == f"must be at most {limit} characters long, not {limit + 1}"


def test_name_of_140_characters_is_accepted_and_internal_whitespace_collapsed():
    name = ("Ab " * 47)[:140].strip()
    assert parse_customer_request(with_(GERMAN, name=name + "\n\t ")).name == name


# --- account id ---------------------------------------------------------------------------------


def test_account_id_is_required_and_must_be_an_account():
    assert errors_of(with_(GERMAN, accountId=...))["accountId"] == "is required"
    assert 'Account Ids start with "001"' in errors_of(with_(GERMAN, accountId="003A000001HZy1T"))["accountId"]
    assert "15 or 18 characters" in errors_of(with_(GERMAN, accountId="001A"))["accountId"]


# --- country ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "alpha_2"),
    [
        ("USA", "US"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("U.S.", "US"),
        ("U.S.A.", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("Britain", "GB"),
        ("United Kingdom", "GB"),
        ("germany", "DE"),
        ("The Netherlands", "NL"),
        ("Holland", "NL"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Republic of Korea", "KR"),
        ("Russia", "RU"),
        ("Vietnam", "VN"),
        ("Turkey", "TR"),
        ("Czech Republic", "CZ"),
        ("Cote d'Ivoire", "CI"),
        ("Switzerland", "CH"),
    ],
)
def test_country_name_variants(country, alpha_2):
    assert country_code_for_name(country) == alpha_2


def test_country_name_variant_in_a_request():
    assert parse_customer_request(with_(US, countryCode=..., country="U.S.")).country_code == "US"


@pytest.mark.parametrize(("code", "alpha_2"), [("DE", "DE"), ("de", "DE"), ("DEU", "DE"), ("deu", "DE")])
def test_country_code_alpha_2_and_alpha_3(code, alpha_2):
    assert parse_customer_request(with_(GERMAN, country=..., countryCode=code)).country_code == alpha_2


def test_country_or_country_code_is_required():
    assert errors_of(with_(GERMAN, country=...))["countryCode"].startswith("is required")


def test_country_and_country_code_must_agree():
    assert errors_of(with_(GERMAN, countryCode="FR"))["country"] == (
        "does not match countryCode: the two name different countries"
    )
    assert parse_customer_request(with_(GERMAN, countryCode="DEU")).country_code == "DE"


def test_unknown_country_and_non_iso_code():
    assert "is not a country name we know" in errors_of(with_(GERMAN, country="Atlantis"))["country"]
    message = errors_of(with_(GERMAN, country=..., countryCode="UK"))["countryCode"]
    assert message == "is not an ISO 3166-1 country code; did you mean GB?"


# --- postal code --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country_code", "typed", "normalised"),
    [
        ("DE", "10115", "10115"),
        ("AT", "1010", "1010"),
        ("CH", "CH-8001", "8001"),
        ("FR", "75 008", "75008"),
        ("IT", "00144", "00144"),
        ("ES", "28039", "28039"),
        ("NL", "1234ab", "1234 AB"),
        ("BE", "1000", "1000"),
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("GB", " sw1a  1aa ", "SW1A 1AA"),
        ("US", "94105", "94105"),
        ("US", "94105-1234", "94105-1234"),
        ("CA", "h3z2y7", "H3Z 2Y7"),
        ("AU", "2060", "2060"),
        ("JP", "154-0023", "154-0023"),
        ("BR", "40301110", "40301-110"),
    ],
)
def test_postal_codes_are_checked_and_normalised_per_country(country_code, typed, normalised):
    region = {"US": "CA", "CA": "QC", "AU": "NSW", "BR": "BA", "JP": "13", "IT": "RM", "ES": "M"}.get(country_code)
    payload = {
        "accountId": ACCOUNT_15,
        "name": "Acme",
        "city": "X",
        "countryCode": country_code,
        "postalCode": typed,
        "stateCode": region,
    }
    assert parse_customer_request(payload).postal_code == normalised


@pytest.mark.parametrize(
    ("country_code", "postal_code"),
    [
        ("DE", "1234"),
        ("DE", "ABCDE"),
        ("AT", "10100"),
        ("NL", "0123 AB"),
        ("GB", "12345"),
        ("US", "9410"),
        ("CA", "12345"),
        ("JP", "123-456"),
        ("BR", "4030111"),
    ],
)
def test_invalid_postal_codes(country_code, postal_code):
    payload = {
        "accountId": ACCOUNT_15,
        "name": "Acme",
        "city": "X",
        "countryCode": country_code,
        "postalCode": postal_code,
    }
    assert "is not a valid postal code for" in errors_of(payload)["postalCode"]


def test_postal_code_message_is_specific():
    message = errors_of(with_(GERMAN, postalCode="1234"))["postalCode"]
    assert message == "is not a valid postal code for Germany (expected 5 digits, e.g. 26133, 53225)"


def test_city_and_postal_code_are_required_where_the_country_requires_them_street_never():
    errors = errors_of(with_(GERMAN, city=..., postalCode=..., street=...))
    required = "is required for addresses in Germany"
    assert errors == {"city": required, "postalCode": required}


def test_postal_code_is_optional_where_the_country_has_none():
    request = parse_customer_request({"accountId": ACCOUNT_15, "name": "Acme", "city": "Dublin", "countryCode": "IE"})
    assert request.postal_code is None


# --- region -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "region"),
    [
        ({"state": "Bavaria"}, "BY"),
        ({"state": "Bayern"}, "BY"),
        ({"stateCode": "BY"}, "BY"),
        ({"stateCode": "DE-BY"}, "BY"),
        ({"state": "Baden-Württemberg"}, "BW"),
        ({"state": "Baden-Wuerttemberg"}, "BW"),
        ({"state": "thüringen"}, "TH"),
        ({"state": "BY"}, "BY"),
        ({"state": "Bayern", "stateCode": "by"}, "BY"),
    ],
)
def test_german_states_by_name_in_english_or_german_and_by_code(fields, region):
    assert parse_customer_request(with_(with_(GERMAN, state=...), **fields)).region_code == region


def test_state_and_state_code_must_agree():
    assert "does not match state" in errors_of(with_(GERMAN, stateCode="BE"))["stateCode"]


def test_region_must_belong_to_the_country():
    assert errors_of(with_(GERMAN, state="California"))["state"] == "is not a state or region of Germany"
    assert (
        "is not a state or region of France"
        in errors_of(
            {
                "accountId": ACCOUNT_15,
                "name": "Acme",
                "city": "Paris",
                "postalCode": "75008",
                "countryCode": "FR",
                "state": "Nowhere",
            }
        )["state"]
    )


@pytest.mark.parametrize("country_code", ["US", "CA", "AU", "BR", "MX", "IN", "JP"])
def test_region_is_required_where_the_country_requires_it(country_code):
    payload = {"accountId": ACCOUNT_15, "name": "Acme", "city": "X", "countryCode": country_code}
    assert errors_of(payload)["state"].startswith("is required for addresses in")


def test_region_is_optional_in_germany():
    assert parse_customer_request(with_(GERMAN, state=...)).region_code is None


@pytest.mark.parametrize(
    ("country_code", "fields", "postal_code", "region"),
    [
        ("US", {"state": "California"}, "94105", "CA"),
        ("US", {"stateCode": "US-NY"}, "10001", "NY"),
        ("CA", {"state": "Ontario"}, "K1A 0B1", "ON"),
        ("AU", {"state": "New South Wales"}, "2060", "NSW"),
        ("BR", {"stateCode": "SP"}, "01310-100", "SP"),
        ("MX", {"state": "Ciudad de México"}, "06000", "CMX"),
        ("MX", {"state": "Nuevo Leon"}, "64000", "NLE"),
        ("IN", {"state": "Maharashtra"}, "400001", "MH"),
        ("IN", {"state": "Orissa"}, "751001", "OD"),
        ("IN", {"stateCode": "OR"}, "751001", "OD"),
        ("IN", {"state": "Telangana"}, "500001", "TS"),
    ],
)
def test_regions_of_countries_where_sap_needs_one(country_code, fields, postal_code, region):
    payload = {
        "accountId": ACCOUNT_15,
        "name": "Acme",
        "city": "X",
        "countryCode": country_code,
        "postalCode": postal_code,
        **fields,
    }
    request = parse_customer_request(payload)
    assert request.region_code == region
    assert sap_region_code(country_code, region) is not None


def test_region_sap_has_no_key_for_is_rejected():
    payload = {
        "accountId": ACCOUNT_15,
        "name": "Acme",
        "city": "Leh",
        "countryCode": "IN",
        "postalCode": "194101",
        "state": "Ladakh",
    }
    assert errors_of(payload)["state"].startswith("is a region SAP has no region key for; ask the SAP team")


# --- phone, currency, language, SAP keys -----------------------------------------------------------


def test_phone_is_parsed_with_the_country_as_default_region():
    assert parse_customer_request(with_(GERMAN, phone="+33 1 42 68 53 00")).phone == "+33142685300"
    assert parse_customer_request(with_(US, phone="415-555-2671 ext. 12")).phone == "+14155552671;ext=12"


def test_invalid_phone():
    assert errors_of(with_(GERMAN, phone="12"))["phone"] == "is not a valid phone number for Germany"
    assert "not a valid phone number" in errors_of(with_(GERMAN, phone="call me"))["phone"]


def test_currency():
    assert parse_customer_request(with_(GERMAN, currencyIsoCode="chf")).currency_code == "CHF"
    assert "ISO 4217" in errors_of(with_(GERMAN, currencyIsoCode="EURO"))["currencyIsoCode"]
    assert "ISO 4217" in errors_of(with_(GERMAN, currencyIsoCode="ABC"))["currencyIsoCode"]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en_US", "en"),
        ("en-US", "en"),
        ("pt_BR", "pt"),
        ("zh-Hant-TW", "zh"),
        ("iw", "he"),
        ("no", "no"),
        ("nb", "no"),
        ("deu", "de"),
    ],
)
def test_language_forms(typed, code):
    assert parse_customer_request(with_(GERMAN, language=typed)).language_code == code


def test_language_without_sap_key_or_not_a_language():
    assert errors_of(with_(GERMAN, language="sw"))["language"] == "is a language SAP has no language key for"
    assert "not an ISO 639-1 language code" in errors_of(with_(GERMAN, language="xx"))["language"]
    assert "not a language code" in errors_of(with_(GERMAN, language="english please"))["language"]


@pytest.mark.parametrize(
    ("field", "typed", "normalised"),
    [
        ("companyCode", "us01", "US01"),
        ("companyCode", "1", "1"),
        ("salesOrganization", "1000", "1000"),
        ("distributionChannel", "10", "10"),
        ("division", "0a", "0A"),
    ],
)
def test_sap_organizational_keys(field, typed, normalised):
    request = parse_customer_request(with_(GERMAN, **{field: typed}))
    assert request.to_payload()[field] == normalised


@pytest.mark.parametrize(
    ("field", "value"),
    [("companyCode", "10000"), ("salesOrganization", "10 0"), ("distributionChannel", "100"), ("division", "0-")],
)
def test_invalid_sap_organizational_keys(field, value):
    assert "letters or digits" in errors_of(with_(GERMAN, **{field: value}))[field]


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [("1000", "0000001000"), ("0000001000", "0000001000"), ("1234567890", "1234567890"), ("cust01", "CUST01")],
)
def test_reference_customer(typed, normalised):
    assert parse_customer_request(with_(GERMAN, referenceCustomer=typed)).reference_customer == normalised


@pytest.mark.parametrize("value", ["12345678901", "CUST-01", "ABCDEFGHIJK"])
def test_invalid_reference_customer(value):
    assert "SAP customer number" in errors_of(with_(GERMAN, referenceCustomer=value))["referenceCustomer"]


# --- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [GERMAN, US, JAPANESE])
def test_to_payload_validates_to_the_same_request(payload):
    request = parse_customer_request(payload)
    assert parse_customer_request(request.to_payload()) == request


# --- reference data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iso", "sap"),
    [
        ("de", "D"),
        ("en", "E"),
        ("fr", "F"),
        ("es", "S"),
        ("it", "I"),
        ("ja", "J"),
        ("pt", "P"),
        ("nl", "N"),
        ("zh", "1"),
        ("ru", "R"),
        ("pl", "L"),
        ("cs", "C"),
        ("da", "K"),
        ("sv", "V"),
        ("fi", "U"),
        ("no", "O"),
        ("tr", "T"),
        ("ko", "3"),
        ("hu", "H"),
        ("el", "G"),
        ("he", "B"),
        ("ar", "A"),
        ("th", "2"),
        ("sk", "Q"),
        ("ro", "4"),
        ("sl", "5"),
        ("hr", "6"),
        ("uk", "8"),
        ("bg", "W"),
        ("et", "9"),
        ("lt", "X"),
        ("lv", "Y"),
    ],
)
def test_sap_language_keys(iso, sap):
    assert sap_language_key(iso) == sap


def test_sap_language_key_raises_key_error_for_languages_sap_lacks():
    with pytest.raises(KeyError):
        sap_language_key("sw")


def test_sap_region_codes():
    assert sap_region_code("DE", "BY") == "09"
    assert sap_region_code("DE", "DE-SH") == "01"
    assert sap_region_code("DE", "TH") == "16"
    assert sap_region_code("IN", "AP") == "01"
    assert sap_region_code("MX", "CMX") == "DF"
    assert sap_region_code("MX", "NLE") == "NL"
    assert sap_region_code("US", "CA") == "CA"
    assert sap_region_code("AU", "NSW") == "NSW"
    assert sap_region_code("BR", "SP") == "SP"
    assert sap_region_code("FR", "75") is None


def test_sap_regions_lists_each_countrys_keys():
    assert len(sap_regions("DE")) == 16 and sap_regions("DE")["09"] == "Bayern"
    assert len(sap_regions("MX")) == 32 and sap_regions("MX")["DF"] == "Ciudad de Mexico"
    assert sap_regions("IN")["28"] == "Dadra and Nagar Haveli"
    assert sap_regions("US")["CA"] == "California" and len(sap_regions("CA")) == 13
    assert sap_regions("FR") == {}


@pytest.mark.parametrize(
    ("country_code", "language"),
    [
        ("DE", "de"),
        ("AT", "de"),
        ("CH", "de"),
        ("FR", "fr"),
        ("JP", "ja"),
        ("US", "en"),
        ("GB", "en"),
        ("IN", "en"),
        ("ES", "es"),
        ("MX", "es"),
        ("BR", "pt"),
        ("PT", "pt"),
        ("IT", "it"),
        ("NL", "nl"),
        ("BE", "nl"),
    ],
)
def test_default_language_for_country(country_code, language):
    assert default_language_for_country(country_code) == language
    sap_language_key(language)


@pytest.mark.parametrize("country_code", ["ZZ", "KE"])
def test_a_country_without_a_usual_language_in_the_table_has_none_rather_than_a_guess(country_code):
    assert default_language_for_country(country_code) is None


@pytest.mark.parametrize(
    ("given", "iso"), [("EN", "en"), ("de", "de"), ("E", "en"), ("D", "de"), ("a", "af"), ("A", "ar"), ("1", "zh")]
)
def test_a_language_is_read_as_its_iso_code_or_as_saps_one_character_key(given, iso):
    assert iso_language(given) == iso


@pytest.mark.parametrize("given", ["e", "zz", "eng", "", "Z"])
def test_a_language_sap_has_no_key_for_is_refused(given):
    with pytest.raises(KeyError):
        iso_language(given)


@pytest.mark.parametrize(
    "postal_code",
    [
        "\uff18\uff10\uff13\uff13\uff11",
        "\u0668\u0660\u0663\u0663\u0661",
        "\U0001d7d6\U0001d7ce\U0001d7d1\U0001d7d1\U0001d7cf",
    ],
    ids=["full-width", "arabic-indic", "mathematical-bold"],
)
def test_postal_code_digits_of_other_scripts_become_ascii(postal_code):
    payload = dict(sample("german-account"), postalCode=postal_code)
    assert parse_customer_request(payload).postal_code == "80331"


@pytest.mark.parametrize(("field", "value"), [("companyCode", "\u00df"), ("referenceCustomer", "\u0131")])
def test_organizational_keys_must_be_ascii_before_upper_casing(field, value):
    payload = dict(sample("german-account"), **{field: value})
    with pytest.raises(InvalidRequest) as raised:
        parse_customer_request(payload)
    assert [error.field for error in raised.value.errors] == [field]
