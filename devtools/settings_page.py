"""docs/settings.md's table, written from the declarations (singer-sdk's shape: meltano/sdk derives a tap's
documentation from the configuration it declares once). `python -m devtools.settings_page` rewrites the table
in place, between the page's prose; `--check` only says whether the page is as this writes it, and
tests/unit/test_settings_page.py fails while the committed page differs.

Each row (settings_page_rows.py) names the settings it explains (declared in shared/settings/declarations.py)
and says what they mean. The setting cell and the default cell come from the declarations (the declared
defaults, in backticks) unless the row words them itself; a worded default cell must still hold every declared
default (DECLARED_DEFAULTS stands for them), and a worded setting cell every name. Every setting the function
app reads is in exactly one row.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from devtools.settings_page_rows import DECLARED_DEFAULTS, ROWS, Row
from shared.settings.declarations import DECLARATIONS, DECLARED, Reader

PAGE = Path(__file__).resolve().parents[1] / "docs" / "settings.md"
HEADER = ("| setting | default | meaning |", "|---|---|---|")


def declared_defaults(names: Sequence[str]) -> str:
    return ", ".join(
        f"`{DECLARED[name].default}`" for name in names if name in DECLARED and DECLARED[name].default is not None
    )


def _named(name: str, cell: str) -> bool:
    # A cell may stand for a family with a wildcard: `AzureWebJobsStorage__*` names every identity setting.
    wildcards = re.findall(r"`([A-Za-z][A-Za-z0-9_]*)\*`", cell)
    return f"`{name}`" in cell or any(name.startswith(prefix) for prefix in wildcards)


def table_lines(rows: Sequence[Row] = ROWS) -> list[str]:
    """The table's lines; ValueError when a row and the declarations disagree."""
    problems: list[str] = []
    seen: list[str] = []
    lines = list(HEADER)
    for row in rows:
        defaults = declared_defaults(row.names)
        default_cell = defaults if row.default is None else row.default.replace(DECLARED_DEFAULTS, defaults)
        names_cell = row.names_cell or ", ".join(f"`{name}`" for name in row.names)
        problems += [
            f"{name}: declared default {DECLARED[name].default!r} not in {default_cell!r}"
            for name in row.names
            if name in DECLARED
            and DECLARED[name].default is not None
            and f"`{DECLARED[name].default}`" not in default_cell
        ]
        problems += [
            f"{name}: not in its setting cell {names_cell!r}" for name in row.names if not _named(name, names_cell)
        ]
        seen += row.names
        lines.append(
            "|" + "|".join(f" {cell} " if cell else " " for cell in (names_cell, default_cell, row.meaning)) + "|"
        )
    app = [setting.name for setting in DECLARATIONS if setting.reader is Reader.APP]
    problems += [f"{name}: read by the function app, in no row" for name in app if name not in seen]
    problems += [f"{name}: in {seen.count(name)} rows" for name in dict.fromkeys(seen) if seen.count(name) > 1]
    if problems:
        raise ValueError("docs/settings.md's rows and the declarations disagree: " + "; ".join(problems))
    return lines


def with_table(page: str, rows: Sequence[Row] = ROWS) -> str:
    """The page with its table (from the header line to the last row) replaced; the prose around it kept."""
    lines = page.splitlines()
    start = lines.index(HEADER[0])
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join([*lines[:start], *table_lines(rows), *lines[end:]]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.settings_page", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether docs/settings.md is up to date")
    args = parser.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    written = with_table(page)
    if written == page:
        return 0
    if args.check:
        print(
            f"{PAGE}: the settings table differs from the declarations; run python -m devtools.settings_page",
            file=sys.stderr,
        )
        return 1
    PAGE.write_text(written, encoding="utf-8")
    print(f"{PAGE}: settings table written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
