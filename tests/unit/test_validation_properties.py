"""Properties of request validation: total on any JSON-like input, idempotent on its own output."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.core.models import CustomerRequest, InvalidRequest
from shared.core.validation import CONTRACT_FIELDS, parse_customer_request

PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as JSON can carry it: control, format (invisible, bidi) characters and lone surrogates included.
any_text = st.text(st.characters(codec=None, categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs"]), max_size=60)
json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)

# Values that are nearly right: real codes and names in odd spellings, so the checks past the type
# test are exercised too.
plausible_text = (
    st.sampled_from(
        [
            "001A000001HZy1T",
            "001A000001HZy1TIAT",
            "001A000001HZy1TAAA",
            "003A000001HZy1T",
            "DE",
            "de",
            "DEU",
            "US",
            "USA",
            "UK",
            "Germany",
            "United States",
            "Bayern",
            "Bavaria",
            "CA",
            "US-CA",
            "DE-BY",
            "JP-13",
            "13",
            "10115",
            "94105-1234",
            "SW1A 1AA",
            "sw1a1aa",
            "+49 30 1234567",
            "030 1234567",
            "(415) 555-2671",
            "EUR",
            "usd",
            "en_US",
            "EN",
            "zh-Hant-TW",
            "1000",
            "10",
            "00",
            "0000001000",
            " ",
            "",
            "x" * 300,
        ]
    )
    | any_text
)
contract_values = st.none() | plausible_text | json_values


def _returns_or_raises_invalid(payload: object) -> None:
    try:
        result = parse_customer_request(payload)
    except InvalidRequest as invalid:
        assert invalid.errors, "an invalid request names at least one problem"
        fields = [error.field for error in invalid.errors]
        assert len(fields) == len(set(fields)), "one FieldError per field"
        assert all(isinstance(error.message, str) and error.message for error in invalid.errors)
    else:
        assert isinstance(result, CustomerRequest)


@PROPERTIES
@given(json_values)
def test_any_json_value_is_accepted_or_rejected_with_field_errors(payload):
    _returns_or_raises_invalid(payload)


@PROPERTIES
@given(st.dictionaries(st.sampled_from(CONTRACT_FIELDS) | any_text, contract_values, max_size=20))
def test_any_object_with_contract_keys_is_accepted_or_rejected_with_field_errors(payload):
    _returns_or_raises_invalid(payload)


# --- valid requests -----------------------------------------------------------------------------

# (country field, value, postal codes, region fields, phones) that each country accepts.
COUNTRIES = [
    ("countryCode", "DE", ["10115", "80802"], [{}, {"state": "Bayern"}, {"stateCode": "DE-NW"}], ["030 1234567"]),
    ("country", "Germany", ["10115"], [{"state": "Bavaria"}], ["+49 89 1234567"]),
    ("countryCode", "USA", ["94105", "94105-1234"], [{"stateCode": "CA"}], ["(415) 555-2671"]),
    ("country", "United States of America", ["10001"], [{"state": "New York"}], ["+1 212 555 0100"]),
    ("country", "UK", ["sw1a1aa", "EC1Y 8SY"], [{}], ["020 7946 0018"]),
    ("countryCode", "JP", ["1000001", "154-0023"], [{"state": "Tokyo"}, {"stateCode": "JP-27"}], ["03-3224-5000"]),
    ("countryCode", "CA", ["h3z2y7"], [{"state": "Quebec"}, {"stateCode": "ON"}], ["+1 613 555 0199"]),
    ("countryCode", "NL", ["1234ab"], [{}], ["020 555 1234"]),
    ("countryCode", "MX", ["06000"], [{"state": "Jalisco"}], ["+52 55 1234 5678"]),
    ("countryCode", "IN", ["400001"], [{"state": "Maharashtra"}], ["+91 22 2345 6789"]),
]
# Characters that show nothing although their category says letter or symbol (Hangul fillers, braille blank).
BLANK_CHARACTERS = "\u115f\u1160\u3164\uffa0\u2800"


def has_visible(text: str) -> bool:
    return any(unicodedata.category(char)[0] in "LNPS" and char not in BLANK_CHARACTERS for char in text)


visible_text = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), min_size=1).filter(
    lambda text: has_visible(text) or not text.strip()
)


@st.composite
def valid_payloads(draw: st.DrawFn) -> dict[str, str]:
    country_field, country, postal_codes, regions, phones = draw(st.sampled_from(COUNTRIES))
    payload = {
        "accountId": draw(st.sampled_from(["001A000001HZy1T", "001A000001HZy1TIAT", "001A0000006Vm9r"])),
        "name": draw(visible_text.map(lambda text: text[:140]).filter(has_visible)),
        country_field: country,
        "city": draw(visible_text.map(lambda text: text[:40]).filter(has_visible)),
        "postalCode": draw(st.sampled_from(postal_codes)),
        **draw(st.sampled_from(regions)),
    }
    optional = {
        "street": visible_text.map(lambda text: text[:255]).filter(lambda text: has_visible(text) or not text.strip()),
        "phone": st.sampled_from(phones),
        "currencyIsoCode": st.sampled_from(["EUR", "usd", "JPY"]),
        "language": st.sampled_from(["de", "EN", "en_US", "ja-JP", "pt-BR"]),
        "companyCode": st.from_regex(r"[A-Za-z0-9]{1,4}", fullmatch=True),
        "salesOrganization": st.from_regex(r"[0-9]{4}", fullmatch=True),
        "distributionChannel": st.from_regex(r"[0-9]{2}", fullmatch=True),
        "division": st.from_regex(r"[0-9]{2}", fullmatch=True),
        "referenceCustomer": st.from_regex(r"[0-9]{1,10}|[A-Z][A-Z0-9]{0,9}", fullmatch=True),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            payload[key] = draw(strategy)
    return payload


@PROPERTIES
@given(valid_payloads())
def test_a_valid_request_validates_to_itself_from_its_payload(payload):
    request = parse_customer_request(payload)
    assert len(request.account_id) == 18
    assert parse_customer_request(request.to_payload()) == request


# --- invisible and deceptive characters ---------------------------------------------------------

# Characters the validator strips wherever they are (zero-width space, word joiner, BOM, soft hyphen,
# LRM, RLM, ALM, a tag character, Hangul filler) and the bidirectional controls it rejects.
STRIPPED = "\u200b\u2060\ufeff\u00ad\u200e\u200f\u061c\U000e0041\u3164"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
TEXT_FIELDS = ("name", "street", "city")


def _insert(draw: st.DrawFn, text: str, alphabet: str, min_size: int = 1) -> str:
    for _ in range(draw(st.integers(min_size, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(alphabet)) + text[at:]
    return text


@st.composite
def payloads_with_invisible_characters(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    payload = draw(valid_payloads())
    changed = dict(payload)
    for field in TEXT_FIELDS:
        if field in changed and has_visible(changed[field]):
            changed[field] = _insert(draw, changed[field], STRIPPED, min_size=0)
    return payload, changed


@PROPERTIES
@given(payloads_with_invisible_characters())
def test_invisible_characters_anywhere_in_a_text_field_change_nothing(payloads):
    payload, changed = payloads
    assert parse_customer_request(changed) == parse_customer_request(payload)


@st.composite
def payloads_with_a_bidi_control(draw: st.DrawFn) -> tuple[dict[str, str], str]:
    payload = draw(valid_payloads())
    field = draw(st.sampled_from([field for field in TEXT_FIELDS if field in payload]))
    payload[field] = _insert(draw, payload[field], BIDI_CONTROLS)
    return payload, field


@PROPERTIES
@given(payloads_with_a_bidi_control())
def test_a_bidi_control_in_a_text_field_is_an_error_naming_that_field(payload_and_field):
    payload, field = payload_and_field
    try:
        parse_customer_request(payload)
    except InvalidRequest as invalid:
        assert field in {error.field for error in invalid.errors}
    else:
        raise AssertionError(f"a bidi control in {field} was accepted")


@st.composite
def payloads_with_format_characters(draw: st.DrawFn) -> dict[str, str]:
    payload = draw(valid_payloads())
    format_characters = draw(st.text(st.characters(categories=["Cf"]), min_size=1, max_size=4))
    for field in TEXT_FIELDS:
        if field in payload and draw(st.booleans()):
            payload[field] = _insert(draw, payload[field], format_characters)
    return payload


# Format characters an accepted request may still hold: joiners inside words, number signs that render.
KEPT_FORMAT = "\u200c\u200d\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"


@PROPERTIES
@given(payloads_with_format_characters())
def test_an_accepted_request_holds_no_invisible_or_bidi_characters_and_a_visible_name(payload):
    try:
        request = parse_customer_request(payload)
    except InvalidRequest as invalid:
        assert {error.field for error in invalid.errors} <= set(TEXT_FIELDS), "only the changed fields"
        return
    for value in request.to_payload().values():
        assert all(unicodedata.category(char) != "Cf" or char in KEPT_FORMAT for char in value), ascii(value)
        assert not set(value) & set(STRIPPED + BIDI_CONTROLS)
    assert has_visible(request.name)
    assert parse_customer_request(request.to_payload()) == request
