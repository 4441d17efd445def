"""docs/settings.md's table is written from the declarations (`python -m devtools.settings_page`): the committed
page is what the writer writes, and the writer refuses rows that disagree with the declarations."""

from __future__ import annotations

import dataclasses

import pytest

from devtools import settings_page
from devtools.settings_page_rows import DECLARED_DEFAULTS, ROWS, Row


def test_the_committed_settings_page_is_what_the_writer_writes_from_the_declarations():
    page = settings_page.PAGE.read_text(encoding="utf-8")
    assert settings_page.with_table(page) == page, "run: python -m devtools.settings_page"
    assert settings_page.main(["--check"]) == 0


def test_the_default_cell_comes_from_the_declaration_unless_the_row_words_it():
    assert settings_page.table_lines([*ROWS, Row(("AGENT_RELAY_URL",), "only this row words nothing")])[-1] == (
        "| `AGENT_RELAY_URL` | | only this row words nothing |"
    )
    retry = next(row for row in ROWS if "RETRY_MAX_ATTEMPTS" in row.names)
    line = next(line for line in settings_page.table_lines() if line.startswith("| `RETRY_MAX_ATTEMPTS`"))
    assert line.split(" | ")[1] == settings_page.declared_defaults(retry.names) == "`8`, `30`, `3600`, `60`"
    sales_areas = next(line for line in settings_page.table_lines() if line.startswith("| `SAP_SALES_AREAS`"))
    assert DECLARED_DEFAULTS not in sales_areas and "IDES: `{" in sales_areas


def test_a_worded_default_cell_without_the_declared_default_is_refused():
    rows = [dataclasses.replace(row, default="none") if "LEDGER_TABLE_NAME" in row.names else row for row in ROWS]
    with pytest.raises(ValueError, match="LEDGER_TABLE_NAME: declared default 'sapcustomerledger'"):
        settings_page.table_lines(rows)


def test_a_setting_the_function_app_reads_must_have_its_row_and_only_one():
    with pytest.raises(ValueError, match="SAP_TRANSPORT: read by the function app, in no row"):
        settings_page.table_lines(ROWS[1:])
    with pytest.raises(ValueError, match="SAP_TRANSPORT: in 2 rows"):
        settings_page.table_lines([*ROWS, ROWS[0]])


def test_a_worded_setting_cell_must_name_every_setting_of_its_row():
    with pytest.raises(ValueError, match="SAP_GROUP: not in its setting cell"):
        settings_page.table_lines(
            [
                *ROWS[:-1],
                dataclasses.replace(
                    ROWS[-1], names=(*ROWS[-1].names, "SAP_GROUP"), names_cell="`SALESFORCE_CA_BUNDLE`"
                ),
            ]
        )


def test_the_prose_around_the_table_is_kept():
    page = "# Settings\n\nIntro.\n\n| setting | default | meaning |\n|---|---|---|\n| `OLD` | | gone |\n\nOutro.\n"
    written = settings_page.with_table(page)
    assert written.startswith("# Settings\n\nIntro.\n\n| setting | default | meaning |\n")
    assert written.endswith("|\n\nOutro.\n") and "`OLD`" not in written
