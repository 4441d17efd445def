"""Redaction of what slips into a log message (the logs of a whole sync: tests/integration/test_logging.py)."""

from __future__ import annotations

import pytest

from shared import log


@pytest.mark.parametrize(
    "text",
    [
        "login with password=hunter2 failed",
        'payload {"street": "Hauptstr. 1", "phone": "+49 89 1"}',
        "Authorization: Bearer eyJhbGciOi.abc.def",
        "AccountName=dev;AccountKey=Eby8vdM02xNOcqFl==;",
        "client_secret=s3cr3t&grant_type=client_credentials",
    ],
)
def test_redaction_masks_what_slips_into_a_message(text):
    cleaned = log.redact(text)
    for secret in ("hunter2", "Hauptstr. 1", "+49 89 1", "eyJhbGciOi", "Eby8vdM02xNOcqFl", "s3cr3t"):
        assert secret not in cleaned
