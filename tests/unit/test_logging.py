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


@pytest.mark.parametrize("key", log.SENSITIVE_KEYS)
def test_every_sensitive_key_is_masked_in_any_case_and_at_the_end_of_a_word(key):
    for text in (f"{key}=v4lue", f"{key.upper()}: v4lue", f'"x_{key}" : "v4lue"', f"{key.title()}\t= v4lue"):
        assert "v4lue" not in log.redact(text), text


def test_the_quick_check_skips_only_text_the_full_pass_would_leave_unchanged():
    """`redact` skips its regular expressions when no key can match; over many generated messages its
    answer must be exactly the full pass's (keys in any case and inside words, quotes, long runs of
    whitespace before the separator, bearer tokens, letters that match ASCII case-insensitively)."""
    import random

    generator = random.Random(14)
    fragments = [
        *log.SENSITIVE_KEYS,
        *(key.upper() for key in log.SENSITIVE_KEYS),
        "user",
        "Id",
        "Duration",
        "=",
        ":",
        " = ",
        ": ",
        '"',
        "'",
        " ",
        "\t",
        " " * 70,
        ",",
        ";",
        "&",
        "}",
        "{",
        "value",
        "42",
        "Bearer",
        "basic ",
        "Basic abc.def",
        "AccountKey=",
        "SharedAccessSignature=sv",
        "pa\u017fsword",
        "\u212aey",
        "Executed 'Functions.CreateSAPCustomer' (Succeeded, Id=1, Duration=3ms)",
        "ß",
        "-",
    ]
    checked = changed = skipped = 0
    for _ in range(20_000):
        text = "".join(generator.choice(fragments) for _ in range(generator.randint(1, 8)))
        expected = log._masked(text)
        assert log.redact(text) == expected, text
        checked += 1
        changed += expected != text
        skipped += not log._may_need_redaction(text)
    # The corpus holds plenty of both: text the full pass masks, and text the quick check lets through.
    assert changed > checked // 10 and skipped > checked // 10
