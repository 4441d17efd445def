"""The fake Salesforce speaks what simple-salesforce expects, over real HTTPS."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_errors

from devtools.fake_salesforce import FakeSalesforce, salesforce_id18
from shared.settings import SalesforceAuth

ACCOUNT_18 = salesforce_id18("001Dn00000AbCdE")


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(query_batch_size=2) as server:
        yield server


def _token(fake: FakeSalesforce, **form: str) -> requests.Response:
    return fake.session().post(f"{fake.base_url}/services/oauth2/token", data=form, timeout=5)


def _client(fake: FakeSalesforce) -> Salesforce:
    credentials = fake.credentials
    answer = _token(
        fake, grant_type="client_credentials", client_id=credentials.client_id, client_secret=credentials.client_secret
    ).json()
    return Salesforce(
        instance_url=answer["instance_url"], session_id=answer["access_token"], version="61.0", session=fake.session()
    )


def test_token_answer_has_salesforce_shape(fake):
    credentials = fake.credentials
    response = _token(
        fake, grant_type="client_credentials", client_id=credentials.client_id, client_secret=credentials.client_secret
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["instance_url"] == fake.base_url
    assert {"access_token", "id", "issued_at", "signature"} <= set(answer)


def test_wrong_secret_is_invalid_client(fake):
    response = _token(
        fake, grant_type="client_credentials", client_id=fake.credentials.client_id, client_secret="wrong"
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def test_password_without_security_token_is_authentication_failure(fake):
    credentials = fake.credentials
    response = _token(
        fake,
        grant_type="password",
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        username=credentials.username,
        password=credentials.password,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


@pytest.mark.parametrize(
    ("claims_change", "expected_error"),
    [
        ({}, None),
        ({"exp": int(time.time()) - 60}, "invalid_grant"),
        ({"aud": "https://login.salesforce.com"}, "invalid_grant"),
        ({"iss": "someone-else"}, "invalid_client_id"),
        ({"sub": "other@example.com"}, "invalid_grant"),
    ],
)
def test_jwt_bearer_checks_claims(fake, claims_change, expected_error):
    claims = {
        "iss": fake.credentials.client_id,
        "sub": fake.credentials.username,
        "aud": fake.base_url,
        "exp": int(time.time()) + 120,
        **claims_change,
    }
    assertion = jwt.encode(claims, fake.credentials.private_key_pem, algorithm="RS256")
    response = _token(fake, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion)
    if expected_error is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["error"] == expected_error


def test_jwt_signed_by_another_key_is_refused(fake):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    claims = {
        "iss": fake.credentials.client_id,
        "sub": fake.credentials.username,
        "aud": fake.base_url,
        "exp": int(time.time()) + 120,
    }
    response = _token(
        fake,
        grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion=jwt.encode(claims, other_key, algorithm="RS256"),
    )
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_get_returns_record_with_attributes(fake):
    fake.add_account(ACCOUNT_18, Name="Acme")
    record = _client(fake).Account.get(ACCOUNT_18)
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v61.0/sobjects/Account/{ACCOUNT_18}"}
    assert record["Name"] == "Acme"


def test_unknown_account_is_404_not_found(fake):
    with pytest.raises(sf_errors.SalesforceResourceNotFound) as raised:
        _client(fake).Account.get(ACCOUNT_18)
    assert raised.value.content == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def test_patch_with_15_char_id_updates_the_18_char_record(fake):
    fake.add_account(ACCOUNT_18, Name="Acme")
    status = _client(fake).Account.update(ACCOUNT_18[:15], {"SAP_Customer_Number__c": "0000100001"})
    assert status == 204
    assert fake.account(ACCOUNT_18)["SAP_Customer_Number__c"] == "0000100001"
    assert fake.patch_count(ACCOUNT_18) == 1


def test_patch_of_unknown_field_is_invalid_field(fake):
    fake.add_account(ACCOUNT_18, Name="Acme")
    with pytest.raises(sf_errors.SalesforceMalformedRequest) as raised:
        _client(fake).Account.update(ACCOUNT_18, {"No_Such_Field__c": "x"})
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert raised.value.content[0]["fields"] == ["No_Such_Field__c"]
    assert fake.patch_count(ACCOUNT_18) == 0


def test_expired_session_is_401_invalid_session_id(fake):
    client = _client(fake)
    fake.expire_all_sessions()
    with pytest.raises(sf_errors.SalesforceExpiredSession) as raised:
        client.Account.get(ACCOUNT_18)
    assert raised.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_fail_next_answers_503_then_recovers(fake):
    fake.add_account(ACCOUNT_18, Name="Acme")
    client = _client(fake)
    fake.fail_next(1)
    with pytest.raises(sf_errors.SalesforceGeneralError) as raised:
        client.Account.get(ACCOUNT_18)
    assert raised.value.status == 503
    assert raised.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert client.Account.get(ACCOUNT_18)["Name"] == "Acme"


def test_query_all_follows_next_records_url(fake):
    for number in range(1, 4):
        fake.add_account(f"001Dn0000000{number:03d}", Name=f"Customer {number}", Type="Customer")
    fake.add_account("001Dn0000000999", Name="Prospect", Type="Prospect")
    client = _client(fake)

    first_page = client.query("SELECT Id, Name FROM Account WHERE Type = 'Customer'")
    assert first_page["done"] is False
    assert first_page["totalSize"] == 3
    assert first_page["nextRecordsUrl"].startswith("/services/data/v61.0/query/01g")

    result = client.query_all("SELECT Id, Name FROM Account WHERE Type = 'Customer'")
    assert result["done"] is True
    assert result["totalSize"] == 3
    assert sorted(record["Name"] for record in result["records"]) == ["Customer 1", "Customer 2", "Customer 3"]
    assert all(set(record) == {"attributes", "Id", "Name"} for record in result["records"])


def test_query_supports_and_and_limit(fake):
    fake.add_account("001Dn0000000001", Name="A", Type="Customer", BillingCountryCode="DE")
    fake.add_account("001Dn0000000002", Name="B", Type="Customer", BillingCountryCode="AT")
    fake.add_account("001Dn0000000003", Name="C", Type="Customer", BillingCountryCode="DE")
    client = _client(fake)
    result = client.query("SELECT Name FROM Account WHERE Type = 'customer' AND BillingCountryCode = 'DE' LIMIT 1")
    assert [record["Name"] for record in result["records"]] == ["A"]
    with pytest.raises(sf_errors.SalesforceMalformedRequest) as raised:
        client.query("SELECT Nope FROM Account")
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_stopped_fake_refuses_connections():
    fake = FakeSalesforce().start()
    session, base_url = fake.session(), fake.base_url
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{base_url}/services/data/v61.0/query", timeout=5)


def test_settings_helper_covers_every_auth_mode(fake):
    # What each flow sends besides the client id (that each set logs in: test_salesforce_writeback.py).
    credentials = {
        SalesforceAuth.CLIENT_CREDENTIALS: {"client_secret"},
        SalesforceAuth.JWT: {"username", "private_key"},
        SalesforceAuth.PASSWORD: {"client_secret", "username", "password", "security_token"},
    }
    assert set(credentials) == set(SalesforceAuth)
    for auth in SalesforceAuth:
        settings = fake.salesforce_settings(auth)
        assert settings.auth is auth
        assert settings.login_url == fake.base_url
        assert settings.client_id == fake.credentials.client_id
        given = {
            name
            for name in ("client_secret", "username", "password", "security_token", "private_key")
            if getattr(settings, name) is not None
        }
        assert given == credentials[auth], auth


# --- as strict as Salesforce (issue 21) ---------------------------------------------------------------------


def _client_credentials(fake: FakeSalesforce, base_url: str) -> requests.Response:
    credentials = fake.credentials
    return fake.session().post(
        f"{base_url}/services/oauth2/token",
        timeout=5,
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )


def test_client_credentials_at_the_generic_login_host_are_refused_as_salesforce_refuses_them(fake):
    refused = _client_credentials(fake, fake.generic_login_url)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant", "error_description": "request not supported on this domain"}
    assert _client_credentials(fake, fake.base_url).status_code == 200  # the org's My Domain


@pytest.mark.parametrize("host", ["login.salesforce.com", "test.salesforce.com:443"])
def test_a_host_header_naming_a_generic_login_host_is_refused_too(fake, host):
    credentials = fake.credentials
    refused = fake.session().post(
        f"{fake.base_url}/services/oauth2/token",
        headers={"Host": host},
        timeout=5,
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_the_password_flow_still_works_at_the_generic_login_host(fake):
    credentials = fake.credentials
    answer = fake.session().post(
        f"{fake.generic_login_url}/services/oauth2/token",
        timeout=5,
        data={
            "grant_type": "password",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "username": credentials.username,
            "password": credentials.password + credentials.security_token,
        },
    )
    assert answer.status_code == 200 and answer.json()["access_token"]


def test_a_value_outside_a_restricted_picklist_is_refused_with_salesforces_error(fake):
    fake.add_account(ACCOUNT_18, Name="Acme")
    with pytest.raises(sf_errors.SalesforceMalformedRequest) as raised:
        _client(fake).Account.update(ACCOUNT_18, {"SAP_Sync_Status__c": "Pending"})
    assert raised.value.status == 400
    assert raised.value.content == [
        {
            "message": "SAP Sync Status: bad value for restricted picklist field: Pending",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": ["SAP_Sync_Status__c"],
        }
    ]
    assert fake.account(ACCOUNT_18)["SAP_Sync_Status__c"] is None  # nothing of the update is applied


def test_the_restricted_picklists_are_the_projects_own_metadata(fake):
    import xml.etree.ElementTree as ElementTree

    from devtools.fake_salesforce import ACCOUNT_FIELDS_METADATA

    namespace = {"md": "http://soap.sforce.com/2006/04/metadata"}
    root = ElementTree.parse(ACCOUNT_FIELDS_METADATA / "SAP_Sync_Status__c.field-meta.xml").getroot()
    assert root.findtext("md:valueSet/md:restricted", namespaces=namespace) == "true"
    values = tuple(
        v.findtext("md:fullName", namespaces=namespace)
        for v in root.findall("md:valueSet/md:valueSetDefinition/md:value", namespace)
    )
    assert fake.picklist("SAP_Sync_Status__c") == values == ("Synced", "Failed")
    assert fake.picklist("SAP_Sync_Error__c") is None  # a text field: any value


@pytest.mark.parametrize("value", ["Synced", "Failed", None])
def test_the_picklists_own_values_and_none_are_accepted(fake, value):
    fake.add_account(ACCOUNT_18, Name="Acme", SAP_Sync_Status__c="Synced")
    _client(fake).Account.update(ACCOUNT_18, {"SAP_Sync_Status__c": value})
    assert fake.account(ACCOUNT_18)["SAP_Sync_Status__c"] == value


def test_the_request_limit_is_403_request_limit_exceeded(fake):
    fake.add_account(ACCOUNT_18, Name="Acme")
    client = _client(fake)
    fake.fail_next(1, status=403)
    with pytest.raises(sf_errors.SalesforceRefusedRequest) as raised:
        client.Account.get(ACCOUNT_18)
    assert raised.value.status == 403
    assert raised.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_the_fakes_ids_are_18_characters_with_salesforces_checksum(fake):
    from devtools import fake_salesforce
    from shared.core.salesforce_id import normalize_salesforce_id

    answer = _client_credentials(fake, fake.base_url).json()
    organization_id, user_id = answer["id"].rsplit("/", 2)[1:]
    for value in (organization_id, user_id, fake_salesforce.ORGANIZATION_ID, fake_salesforce.USER_ID):
        assert len(value) == 18 and normalize_salesforce_id(value) == value
    assert organization_id.startswith("00D") and user_id.startswith("005")
    assert answer["access_token"].partition("!")[0] == organization_id[:15]  # a session names the org's 15


def test_query_selects_with_in_and_not_in(fake):
    for number, account_type in enumerate(["Customer - Direct", "Customer - Channel", "Prospect", None]):
        fake.add_account(f"001Dn0000000{number:03d}", Name=f"A{number}", Type=account_type)
    client = _client(fake)
    chosen = client.query_all(
        "SELECT Name FROM Account WHERE Type IN ('Customer - Direct', 'Customer - Channel') ORDER BY Name"
    )
    assert [r["Name"] for r in chosen["records"]] == ["A0", "A1"]
    others = client.query_all(
        "SELECT Name FROM Account WHERE Type NOT IN ('Customer - Direct','Customer - Channel') "
        "AND Name != 'A3' ORDER BY Name"
    )
    assert [r["Name"] for r in others["records"]] == ["A2"]
