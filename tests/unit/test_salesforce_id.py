"""Salesforce Id normalisation: 15 -> 18 characters, checksum and Account key prefix."""

from __future__ import annotations

import pytest

from shared.core.salesforce_id import (
    InvalidSalesforceId,
    checksum_suffix,
    normalize_account_id,
    normalize_salesforce_id,
)


def reference_suffix(id15: str) -> str:
    """Salesforce's published algorithm, written out independently of the implementation."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        flags = "".join("1" if c.isupper() else "0" for c in reversed(chunk))
        out += alphabet[int(flags, 2)]
    return out


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("001A000001HZy1T", "001A000001HZy1TIAT"),
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("0010000000aaaaa", "0010000000aaaaaAAA"),
        ("001AAAAAAAAAAAA", "001AAAAAAAAAAAAY55"),
    ],
)
def test_fifteen_character_ids_get_salesforce_suffix(id15, id18):
    assert checksum_suffix(id15) == reference_suffix(id15) == id18[15:]
    assert normalize_salesforce_id(id15) == id18


def test_eighteen_character_id_with_correct_suffix_is_kept():
    assert normalize_salesforce_id("001A000001HZy1TIAT") == "001A000001HZy1TIAT"


def test_suffix_is_compared_case_insensitively_and_returned_upper_case():
    assert normalize_salesforce_id("001A000001HZy1Tiat") == "001A000001HZy1TIAT"


def test_wrong_suffix_is_rejected_naming_the_right_one():
    with pytest.raises(InvalidSalesforceId) as caught:
        normalize_salesforce_id("001A000001HZy1TAAA")
    assert str(caught.value) == ('wrong checksum suffix "AAA"; the 15-character Id 001A000001HZy1T has suffix "IAT"')


def test_changed_case_in_the_first_fifteen_characters_breaks_the_checksum():
    with pytest.raises(InvalidSalesforceId, match="checksum"):
        normalize_salesforce_id("001a000001hzy1tIAT")


@pytest.mark.parametrize("value", ["", "001A000001HZy1", "001A000001HZy1TIA", "001A000001HZy1TIAT0"])
def test_lengths_other_than_15_or_18_are_rejected(value):
    with pytest.raises(InvalidSalesforceId, match="15 or 18 characters"):
        normalize_salesforce_id(value)


@pytest.mark.parametrize("value", ["001A000001HZy1-", "001A000001HZy1ä", "001A000001HZ y1"])
def test_only_ascii_letters_and_digits_are_allowed(value):
    with pytest.raises(InvalidSalesforceId, match="A-Z, a-z and the digits 0-9"):
        normalize_salesforce_id(value)


def test_surrounding_whitespace_is_ignored():
    assert normalize_salesforce_id("  001A000001HZy1T\n") == "001A000001HZy1TIAT"


def test_account_ids_must_start_with_001():
    with pytest.raises(InvalidSalesforceId, match='Account Ids start with "001"'):
        normalize_account_id("003A000001HZy1T")  # a Contact Id
    assert normalize_account_id("001A000001HZy1T") == "001A000001HZy1TIAT"


def test_invalid_salesforce_id_is_a_value_error():
    assert issubclass(InvalidSalesforceId, ValueError)
