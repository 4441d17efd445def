"""The fake Salesforce serves what the go-live check asks the way Salesforce documents it
(devtools/fake_salesforce_setup.py names each source): raw HTTPS requests, no adapter in between."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests

from devtools.fake_salesforce import USER_ID, FakeSalesforce


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as server:
        yield server


def client_credentials_token(fake: FakeSalesforce, session: requests.Session) -> requests.Response:
    """The OAuth client credentials flow's token request with the fake org's connected app."""
    credentials = fake.credentials
    return session.post(
        f"{fake.base_url}/services/oauth2/token",
        timeout=5,
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )


@pytest.fixture
def http(fake: FakeSalesforce) -> requests.Session:
    session = fake.session()
    token = client_credentials_token(fake, session).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def get(fake: FakeSalesforce, http: requests.Session, path: str) -> requests.Response:
    return http.get(f"{fake.base_url}{path}", timeout=5)


def soql(fake: FakeSalesforce, http: requests.Session, query: str, tooling: bool = False) -> requests.Response:
    return get(fake, http, f"/services/data/v61.0/{'tooling/' if tooling else ''}query/?q={quote(query)}")


def test_the_versions_resource_needs_no_login_and_lists_label_url_and_version(fake):
    answer = fake.session().get(f"{fake.base_url}/services/data/", timeout=5).json()
    assert answer[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in answer
    assert answer[-1] == {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}


def test_a_version_the_org_does_not_serve_is_not_found(fake, http):
    fake.setup.set_api_versions(("60.0",))
    response = get(fake, http, "/services/data/v61.0/sobjects/Account/describe/")
    assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"


def test_the_describe_of_account_has_types_lengths_and_picklist_values(fake, http):
    answer = get(fake, http, "/services/data/v61.0/sobjects/Account/describe/").json()
    fields = {field["name"]: field for field in answer["fields"]}
    assert fields["SAP_Customer_Number__c"]["type"] == "string" and fields["SAP_Customer_Number__c"]["length"] == 10
    assert fields["BillingStreet"]["type"] == "textarea"
    assert fields["LastModifiedDate"]["updateable"] is False
    status = fields["SAP_Sync_Status__c"]
    assert status["restrictedPicklist"] is True
    assert [entry["value"] for entry in status["picklistValues"]] == ["Synced", "Failed"]
    assert set(status["picklistValues"][0]) == {"active", "defaultValue", "label", "validFor", "value"}
    assert "Customer" in [entry["value"] for entry in fields["Type"]["picklistValues"]]


def test_a_dropped_field_is_gone_from_the_describe(fake, http):
    fake.drop_field("SAP_Synced_At__c")
    answer = get(fake, http, "/services/data/v61.0/sobjects/Account/describe/").json()
    assert "SAP_Synced_At__c" not in {field["name"] for field in answer["fields"]}


def test_soql_on_user(fake, http):
    answer = soql(fake, http, f"SELECT Id, Username, IsActive FROM User WHERE Id = '{USER_ID[:15]}'").json()
    assert answer["totalSize"] == 1 and answer["done"] is True
    [user] = answer["records"]
    assert user["Username"] == fake.credentials.username and user["IsActive"] is True
    assert user["attributes"]["type"] == "User"


def test_soql_on_permission_set_assignment_nests_the_permission_set(fake, http):
    answer = soql(
        fake, http, f"SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '{USER_ID}'"
    ).json()
    names = [record["PermissionSet"]["Name"] for record in answer["records"]]
    assert "SAP_Customer_Sync_Integration" in names and len(names) == 2  # and the profile's own
    assert answer["records"][0]["PermissionSet"]["attributes"]["type"] == "PermissionSet"
    fake.setup.unassign_permission_set(USER_ID, "SAP_Customer_Sync_Integration")
    answer = soql(
        fake, http, f"SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '{USER_ID}'"
    ).json()
    assert "SAP_Customer_Sync_Integration" not in [record["PermissionSet"]["Name"] for record in answer["records"]]


def test_a_field_the_object_lacks_is_invalid_field(fake, http):
    response = soql(fake, http, "SELECT Id, Nickname FROM User")
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_FIELD"


def test_the_tooling_query_lists_the_outbound_message_and_its_metadata_one_at_a_time(fake, http):
    listed = soql(fake, http, "SELECT Id, Name FROM WorkflowOutboundMessage", tooling=True).json()
    assert listed["entityTypeName"] == "WorkflowOutboundMessage" and listed["size"] == listed["totalSize"] == 1
    [message] = listed["records"]
    detail = soql(
        fake,
        http,
        f"SELECT FullName, IntegrationUserId, Metadata FROM WorkflowOutboundMessage WHERE Id = '{message['Id']}'",
        tooling=True,
    ).json()["records"][0]
    assert detail["FullName"] == "Account.SAP_Customer_Sync_Push"
    assert detail["IntegrationUserId"] == USER_ID
    assert detail["Metadata"]["endpointUrl"].startswith("https://YOUR-FUNCTION-APP.azurewebsites.net/")
    assert "LastModifiedDate" in detail["Metadata"]["fields"]


def test_full_name_or_metadata_of_more_than_one_message_is_refused(fake, http):
    fake.setup.add_other_outbound_message("Contact.ERP_Contact_Push", "ERP Contact Push", "https://erp.example.com/om")
    response = soql(fake, http, "SELECT FullName FROM WorkflowOutboundMessage", tooling=True)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_the_tooling_query_knows_only_its_objects(fake, http):
    response = soql(fake, http, "SELECT Id FROM Account", tooling=True)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_TYPE"


def test_a_deactivated_integration_user_cannot_log_in(fake):
    fake.setup.set_user_active(USER_ID, False)
    response = client_credentials_token(fake, fake.session())
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_userinfo_and_the_user_record_name_the_sessions_user(fake, http):
    info = get(fake, http, "/services/oauth2/userinfo").json()
    assert info["user_id"] == USER_ID and info["preferred_username"] == fake.credentials.username
    user = get(fake, http, f"/services/data/v61.0/sobjects/User/{info['user_id'][:15]}").json()
    assert user["Username"] == fake.credentials.username and user["attributes"]["type"] == "User"
    assert get(fake, http, "/services/data/v61.0/sobjects/User/0055g00000NOBODY").status_code == 404
