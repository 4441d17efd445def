"""The text rules every property of the CreateSAPCustomer request shares (pure functions, no I/O): a JSON
string or null, trimmed, blank counts as missing, invisible and deceptive characters handled as the request
contract says (shared/core/validation.py's docstring lists the rules; this module applies them), a maximum
length on the cleaned value. The contract (which field, which limit) stays in validation.py; the rules of
one field's kind of value are there and in validation_address.py. Both report a field's problem by raising
InvalidValue, which validation.parse_customer_request turns into that field's FieldError."""

from __future__ import annotations

import re
import unicodedata

# Runs of whitespace: collapsed to one space in a name and in a postal code.
WHITESPACE_RUN = re.compile(r"\s+")
# Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): rejected.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width non-joiner and joiner: spelling in Persian, Indic scripts and emoji sequences; kept in words.
_JOINERS = frozenset("\u200c\u200d")
# Format characters that render visibly (number signs spanning the digits after them): kept as sent.
_VISIBLE_FORMAT = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd")
# Letters that render as nothing (Hangul fillers): stripped like invisible format characters.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# Symbols that render as nothing: allowed, but they do not make a value visible.
_BLANK_SYMBOLS = frozenset("\u2800")


class InvalidValue(Exception):
    """One field's problem; becomes a FieldError for that field. Its text names the rule, never the value."""


def read_text(value: object, *, limit: int | None, multiline: bool, required: bool) -> str | None:
    """The trimmed string, None when missing or blank; InvalidValue for non-strings, bad text, too long.
    `multiline`: line breaks and tabs are content (a Salesforce text area); `required`: a value of only
    invisible characters is reported as required."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"must be a string, not {_json_type(value)}")
    if not value.strip():
        return None
    if value.isascii():
        text = value.strip()
        # Printable ASCII holds no control, invisible or bidi character and shows every non-blank one:
        # the rules below cannot change it (most values are like this; the per-character rules cost).
        if text.isprintable():
            if limit is not None and len(text) > limit:
                raise InvalidValue(f"must be at most {limit} characters long, not {len(text)}")
            return text
    text = _visible_text(value).strip()
    allowed = "\n\r\t" if multiline else ""
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            raise InvalidValue("contains an invalid character (a lone UTF-16 surrogate)")
        if category == "Cc" and char not in allowed:
            raise InvalidValue(f"must not contain control characters (found U+{ord(char):04X})")
        if char in _BIDI_CONTROLS:
            raise InvalidValue(
                f"must not contain bidirectional control characters (found U+{ord(char):04X}): "
                "they make the text display in another order than it is stored"
            )
    if not any(unicodedata.category(char)[0] in "LNPS" and char not in _BLANK_SYMBOLS for char in text):
        invisible = next(char for char in value if not char.isspace())
        required_prefix = "is required: " if required else ""
        raise InvalidValue(
            f"{required_prefix}must contain visible characters (found only invisible ones, e.g. U+{ord(invisible):04X})"
        )
    if limit is not None and len(text) > limit:
        raise InvalidValue(f"must be at most {limit} characters long, not {len(text)}")
    return text


def _visible_text(value: str) -> str:
    """The value without invisible characters (validation.py's docstring: the rule); rejected ones are kept
    for the check."""
    kept = [char for char in value if not _is_invisible(char)]
    text: list[str] = []
    for index, char in enumerate(kept):
        if char in _JOINERS:
            before = text[-1] if text else ""
            after = kept[index + 1] if index + 1 < len(kept) else ""
            after_mark = bool(before) and unicodedata.category(before)[0] == "M"
            if not (_joinable(before) and (_joinable(after) or after_mark)):
                continue
        text.append(char)
    return "".join(text)


def _is_invisible(char: str) -> bool:
    if char in _INVISIBLE_LETTERS:
        return True
    return (
        unicodedata.category(char) == "Cf"
        and char not in _BIDI_CONTROLS
        and char not in _JOINERS
        and char not in _VISIBLE_FORMAT
    )


def _joinable(char: str) -> bool:
    """A character ZWJ/ZWNJ may stand next to: a non-ASCII letter, mark or symbol."""
    return bool(char) and not char.isascii() and unicodedata.category(char)[0] in "LMS"


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
