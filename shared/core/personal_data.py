"""Keeping the request's personal values out of texts that are stored and shown (pure, no I/O).

SAP's message texts fill their placeholders with what was sent: "Postal code &1 must have length &2"
comes back as "Postal code 1234 must have length 5". Such a text becomes the ledger's lastError, the 422
answer's reason and sapMessage, the account's SAP_Sync_Error__c; the product promises field and rule there,
never the value. So every word of the request's personal fields is masked in it: word by word, because
SAP echoes what the mapping sent (a name cut into lines, a street abbreviated and cut), not the request
as it came.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The request properties that hold personal data (a person's name is the account's name for a sole
# trader): the same list the log redaction masks (shared/log.py SENSITIVE_KEYS: name, street, phone,
# postalcode), plus the city, which with a postal code and a street locates a person.
PERSONAL_FIELDS = ("name", "street", "city", "postalCode", "phone")
MASK = "***"
# Shorter words ("GmbH" stays, "1a" too) are too common to be told apart from SAP's own wording.
_SHORTEST_MASKED = 3
_WORD_SEPARATORS = re.compile(r"[\s,;:/()\"'+]+")


def personal_words(payload: Mapping[str, object]) -> tuple[str, ...]:
    """The words of the payload's personal fields worth masking, longest first (so a word that contains
    another is masked whole)."""
    words = {
        word
        for field in PERSONAL_FIELDS
        if isinstance(value := payload.get(field), str)
        for word in _WORD_SEPARATORS.split(value)
        if len(word) >= _SHORTEST_MASKED
    }
    # The phone as SAP holds it too: E.164 without the "+", and its digits alone.
    phone = payload.get("phone")
    if isinstance(phone, str):
        digits = re.sub(r"\D", "", phone.partition(";ext=")[0])
        if len(digits) >= _SHORTEST_MASKED:
            words.add(digits)
    return tuple(sorted(words, key=len, reverse=True))


def without_personal_values(text: str, payload: Mapping[str, object]) -> str:
    """`text` with every word of the payload's personal fields replaced by ***, case-insensitively."""
    words = personal_words(payload)
    if not words:
        return text
    # Whole words only: a request word "Inc" must not turn SAP's "Incorrect" into "***orrect".
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(word) for word in words) + r")(?!\w)", re.IGNORECASE)
    return pattern.sub(MASK, text)
