"""The fake Salesforce's parts that need no server (its HTTPS side: tests/integration/test_fake_salesforce.py)."""

from __future__ import annotations

import pytest

from devtools.fake_salesforce import salesforce_id18


def test_id18_matches_salesforce_checksum():
    # Published example pair from Salesforce's documentation of case-safe Ids.
    assert salesforce_id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert salesforce_id18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
    with pytest.raises(ValueError):
        salesforce_id18("not-an-id")
