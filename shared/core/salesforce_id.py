"""Salesforce record Ids: the case-sensitive 15-character form and the 18-character form.

The 18-character form appends three checksum characters that encode which of the first 15
characters are upper case, so that the Id survives case-insensitive systems (SAP search fields,
Excel). We always store and send the 18-character form, so both forms of one account compare equal.
"""

from __future__ import annotations

import re

ACCOUNT_KEY_PREFIX = "001"

_ID_CHARACTERS = re.compile(r"[A-Za-z0-9]+")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class InvalidSalesforceId(ValueError):
    """The value is not a well-formed Salesforce Id (or not one of the expected object)."""

    kind = "rejected"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "invalid Salesforce Id"


def checksum_suffix(id15: str) -> str:
    """The three characters Salesforce appends to a 15-character Id to make it 18 characters."""
    suffix = []
    for start in range(0, 15, 5):
        # Bit i of each 5-character chunk is set when its i-th character is an upper-case letter.
        bits = sum(1 << position for position, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def normalize_salesforce_id(value: str, *, key_prefix: str | None = None) -> str:
    """The 18-character form of a 15- or 18-character Salesforce Id.

    An 18-character Id must carry the checksum suffix that its first 15 characters give (the suffix
    itself is compared case-insensitively, as Salesforce does). With `key_prefix`, the Id must also
    belong to that object (e.g. "001" for Account). Raises InvalidSalesforceId with a message that
    names the problem.
    """
    if not isinstance(value, str):
        raise InvalidSalesforceId("must be a string")
    candidate = value.strip()
    if len(candidate) not in (15, 18):
        raise InvalidSalesforceId(f'"{_shorten(candidate)}" must have 15 or 18 characters, not {len(candidate)}')
    if not _ID_CHARACTERS.fullmatch(candidate) or not candidate.isascii():
        raise InvalidSalesforceId(f'"{candidate}" may contain only the letters A-Z, a-z and the digits 0-9')
    id15 = candidate[:15]
    expected_suffix = checksum_suffix(id15)
    if len(candidate) == 18 and candidate[15:].upper() != expected_suffix:
        raise InvalidSalesforceId(
            f'wrong checksum suffix "{candidate[15:]}"; the 15-character Id {id15} has suffix "{expected_suffix}"'
        )
    if key_prefix is not None and not id15.startswith(key_prefix):
        raise InvalidSalesforceId(
            f'"{candidate}" is not an Account Id: Account Ids start with "{ACCOUNT_KEY_PREFIX}"'
            if key_prefix == ACCOUNT_KEY_PREFIX
            else f'"{candidate}" does not start with the key prefix "{key_prefix}"'
        )
    return id15 + expected_suffix


def normalize_account_id(value: str) -> str:
    """The 18-character form of a Salesforce Account Id (key prefix "001")."""
    return normalize_salesforce_id(value, key_prefix=ACCOUNT_KEY_PREFIX)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
