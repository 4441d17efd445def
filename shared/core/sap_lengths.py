"""How a Unicode SAP system measures a CHAR value: in UTF-16 code units, not Python code points.

A Unicode SAP system stores CHAR fields as UTF-16; a field of length 35 holds 35 code units. A
character outside the Basic Multilingual Plane (most emoji, some CJK extension characters) takes
two units (a surrogate pair), so "🙂" * 20 is 20 characters in Python but 40 units in SAP. The
metadata pyrfc reports (`uc_length`) is in bytes of UTF-16, i.e. twice the units.
"""

from __future__ import annotations


def utf16_units(text: str) -> int:
    """The length of `text` as a Unicode SAP system counts it."""
    if text.isascii():  # most values: one unit per character, without a Python loop (C speed)
        return len(text)
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def longest_prefix_within(text: str, units: int) -> str:
    """The longest prefix of `text` that fits `units` UTF-16 code units; never half a character."""
    if len(text) <= units // 2 or utf16_units(text) <= units:
        return text
    used = 0
    for index, character in enumerate(text):
        used += 2 if ord(character) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text
