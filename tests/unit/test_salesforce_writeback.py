"""The simple-salesforce write-back's rules that need no server (against the fake Salesforce over HTTPS:
tests/integration/test_salesforce_writeback.py)."""

from __future__ import annotations

from shared.salesforce.simple_salesforce import jwt_audience


def test_jwt_audience_follows_salesforce_rules():
    assert jwt_audience("https://acme.my.salesforce.com") == "https://login.salesforce.com"
    assert jwt_audience("https://acme--uat.sandbox.my.salesforce.com") == "https://test.salesforce.com"
    assert jwt_audience("https://test.salesforce.com") == "https://test.salesforce.com"
    assert jwt_audience("https://127.0.0.1:8443/") == "https://127.0.0.1:8443"
