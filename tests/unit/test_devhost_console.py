"""The local host's console shows the structured fields an app logs (correlation ids)."""

from __future__ import annotations

import logging

from devhost.__main__ import StructuredFieldsFormatter


def _format(**extra: object) -> str:
    record = logging.getLogger("app").makeRecord(
        "app", logging.INFO, __file__, 1, "create started", None, None, extra=extra
    )
    return StructuredFieldsFormatter("%(name)s: %(message)s").format(record)


def test_extra_fields_are_appended_sorted():
    assert _format(tracking_id="t1", account_id="001A") == "app: create started  [account_id=001A tracking_id=t1]"


def test_a_record_without_extras_or_with_blank_ones_is_unchanged():
    assert _format() == "app: create started"
    assert _format(tracking_id="") == "app: create started"
