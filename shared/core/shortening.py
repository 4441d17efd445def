"""Fitting free text into SAP's fixed-width CHAR fields without losing it silently: a name spread over
the four name lines without losing a character, a street and a city shortened by documented rules.

Pure functions, no I/O. Widths count UTF-16 code units, as a Unicode SAP system does (sap_lengths.py);
the mapping passes the widths the live system allows. The defaults are KNA1's (see mapping.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.core.sap_lengths import longest_prefix_within, utf16_units

# KNA1's widths (NAME1..4, STRAS, ORT01: 35 characters), the defaults when no live length is given.
NAME_WIDTH = 35
NAME_LINES = 4
STREET_WIDTH = 35
CITY_WIDTH = 35


# --------------------------------------------------------------------------- names


def split_name_with_separators(
    name: str, width: int = NAME_WIDTH, lines: int = NAME_LINES
) -> tuple[list[str], list[str]]:
    """The name as at most `lines` parts of at most `width` UTF-16 units, and what each break consumed.

    `separators[i]` is what was taken out between `parts[i]` and `parts[i + 1]`: " " when the break
    fell on a space, "" when a word was cut, so `join_name(parts, separators) == name` always.

    Rule: fill lines word by word; a word longer than `width` starts a new line and is cut every
    `width` units. If that needs more than `lines` lines, cut the whole name every `width` units
    instead; a space that falls on such a cut is consumed as the break, so no part starts or ends
    with a blank (SAP would drop a trailing one). A cut never splits a character.
    Raises ValueError if even that does not fit (the name is longer than width x lines).
    """
    parts, separators = _split_on_words(name, width)
    if len(parts) > lines:
        parts, separators = _split_hard(name, width)
    if len(parts) > lines:
        raise ValueError(f"a name of {utf16_units(name)} units does not fit {lines} lines of {width}")
    return parts, separators


def split_name(name: str, width: int = NAME_WIDTH, lines: int = NAME_LINES) -> list[str]:
    """The name over SAP's name lines (NAME, NAME_2, ...); see split_name_with_separators for the rule."""
    return split_name_with_separators(name, width, lines)[0]


def join_name(parts: Sequence[str], separators: Sequence[str]) -> str:
    """The inverse of split_name_with_separators: the name exactly as it was before the split."""
    if len(separators) != max(len(parts) - 1, 0):
        raise ValueError("expected one separator between each two parts")
    joined = parts[0] if parts else ""
    for separator, part in zip(separators, parts[1:], strict=True):
        joined += separator + part
    return joined


def _pieces(word: str, width: int) -> list[str]:
    """The word cut into pieces of at most `width` units (one piece when it fits)."""
    pieces: list[str] = []
    while word:
        piece = longest_prefix_within(word, width) or word[0]
        pieces.append(piece)
        word = word[len(piece) :]
    return pieces or [""]


def _split_on_words(name: str, width: int) -> tuple[list[str], list[str]]:
    parts: list[str] = []
    separators: list[str] = []
    current: str | None = None
    for word in name.split(" "):
        for piece_index, piece in enumerate(_pieces(word, width)):
            if current is None:
                current = piece
            elif piece_index == 0 and utf16_units(current) + 1 + utf16_units(piece) <= width:
                current = f"{current} {piece}"
            else:
                parts.append(current)
                # A new word consumed the space before it; the rest of a cut word consumed nothing.
                separators.append(" " if piece_index == 0 else "")
                current = piece
    parts.append(current or "")
    return parts, separators


def _split_hard(name: str, width: int) -> tuple[list[str], list[str]]:
    parts: list[str] = []
    separators: list[str] = []
    position = 0
    while True:
        chunk = longest_prefix_within(name[position:], width) or name[position : position + 1]
        position += len(chunk)
        if position >= len(name):
            parts.append(chunk)
            return parts, separators
        separator = ""
        if name[position] == " ":
            separator = " "
            position += 1
        elif chunk.endswith(" "):
            separator = " "
            chunk = chunk[:-1]
        parts.append(chunk)
        separators.append(separator)


# --------------------------------------------------------------------------- street and city

# Applied word-wise to a street that does not fit, before anything is cut. Postal-service
# abbreviations that a carrier and a reader both recognise; directions (North, West) are left
# alone because they are as often part of a street's proper name.
_STREET_ABBREVIATIONS = {
    "street": "St.",
    "avenue": "Ave.",
    "boulevard": "Blvd.",
    "road": "Rd.",
    "drive": "Dr.",
    "lane": "Ln.",
    "court": "Ct.",
    "place": "Pl.",
    "square": "Sq.",
    "highway": "Hwy.",
    "parkway": "Pkwy.",
    "suite": "Ste.",
    "building": "Bldg.",
    "floor": "Fl.",
    "apartment": "Apt.",
    "straße": "Str.",
    "strasse": "Str.",
}
# Whole words only, never followed by a dot already ("Street." must not become "St..").
_ABBREVIATION_PATTERN = re.compile(
    r"\b(" + "|".join(sorted(_STREET_ABBREVIATIONS, key=len, reverse=True)) + r")\b(?!\.)", re.IGNORECASE
)
# German compounds carry the street type as a suffix: Bahnhofstraße -> Bahnhofstr.
_GERMAN_STREET_SUFFIX = re.compile(r"(?<=\w)(stra(?:ß|ss)e)\b(?!\.)", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def shorten_street(street: str, width: int = STREET_WIDTH) -> tuple[str, bool]:
    """The street as SAP's one-line STREET field holds it, and whether it had to be shortened.

    Rule: lines become one line joined by ", " (always: STREET has one line); if that is longer than
    `width`, the street types in _STREET_ABBREVIATIONS are abbreviated; if still too long, it is cut
    at the last word boundary that fits (a single word longer than `width` is cut at `width`).
    """
    lines = [" ".join(line.split()) for line in _LINE_BREAK.split(street)]
    one_line = ", ".join(line for line in lines if line)
    if utf16_units(one_line) <= width:
        return one_line, False
    abbreviated = _ABBREVIATION_PATTERN.sub(lambda match: _STREET_ABBREVIATIONS[match.group(1).lower()], one_line)
    abbreviated = _GERMAN_STREET_SUFFIX.sub(lambda match: match.group(1)[:3] + ".", abbreviated)
    return _cut_at_word_boundary(abbreviated, width), True


def shorten_city(city: str, width: int = CITY_WIDTH) -> tuple[str, bool]:
    """The city cut at the last word boundary that fits `width`, and whether it had to be cut."""
    one_line = " ".join(city.split())
    if utf16_units(one_line) <= width:
        return one_line, False
    return _cut_at_word_boundary(one_line, width), True


def _cut_at_word_boundary(text: str, width: int) -> str:
    if utf16_units(text) <= width:
        return text
    fitting = longest_prefix_within(text, width)
    # A space just after the part that fits is a word boundary too.
    boundary = len(fitting) if text[len(fitting) : len(fitting) + 1] == " " else fitting.rfind(" ")
    cut = text[:boundary] if boundary > 0 else fitting
    # "Main St. 1, Building 5," reads better without the dangling separator.
    return cut.rstrip(" ,;-/") or fitting
