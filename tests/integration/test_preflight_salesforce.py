"""The go-live check's Salesforce area against the fake Salesforce over real HTTPS (the composition root's parts:
the simple-salesforce org inspector with the app's own login): a correct org passes every check; each test
breaks exactly one thing in the fake org and sees exactly that check fail, with its fix, and no other."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from devtools.fake_salesforce import ORGANIZATION_ID, USER_ID, FakeSalesforce
from devtools.fake_salesforce_flows import project_flow
from shared.bootstrap.salesforce import salesforce_preflight_parts
from shared.core.preflight import Area, CheckResult, Verdict
from shared.core.preflight_salesforce import Check
from shared.settings import SalesforceAuth, Settings, WriteBackMode
from shared.usecases.preflight.salesforce import check_salesforce

APP_URL = "https://sapsync-prod.azurewebsites.net"
FUNCTION_KEY = "salesforce-function-key-0123456789"
PUSH_URL = f"{APP_URL}/api/salesforce/outbound-messages?code={FUNCTION_KEY}"


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as server:
        # The org as deployed for this app (docs/push.md, "Set it up": SAP_SYNC_PUSH_URL replaced at deploy).
        server.setup.deploy_outbound_message(endpointUrl=PUSH_URL)
        yield server


def settings(
    fake: FakeSalesforce,
    auth: SalesforceAuth = SalesforceAuth.CLIENT_CREDENTIALS,
    *,
    writeback: WriteBackMode = WriteBackMode.FUNCTION,
    push: bool = True,
    **salesforce: object,
) -> Settings:
    configured = replace(
        fake.salesforce_settings(auth),
        organization_id=ORGANIZATION_ID if push else None,
        ca_bundle=fake.ca_path,
        **salesforce,
    )
    return Settings(writeback=writeback, salesforce=configured)


def run(fake: FakeSalesforce, config: Settings, app_url: str | None = APP_URL) -> list[CheckResult]:
    results = check_salesforce(salesforce_preflight_parts(config, app_url=app_url, session=fake.session()))
    assert [result.check for result in results] == list(Check.ALL)
    assert {result.area for result in results} == {Area.SALESFORCE}
    assert all(FUNCTION_KEY not in result.found for result in results)  # the function key is never shown
    assert all(token not in str(result) for result in results for token in fake.issued_tokens())
    return results


def failing(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.check: result for result in results if result.failed}


def only_failure(results: list[CheckResult], check: str) -> CheckResult:
    assert set(failing(results)) == {check}, [(r.check, r.found) for r in results if r.failed]
    return failing(results)[check]


@pytest.mark.parametrize("auth", list(SalesforceAuth))
def test_a_correct_org_passes_every_check_with_each_login_flow(fake, auth):
    results = run(fake, settings(fake, auth))
    assert [(result.check, result.verdict) for result in results] == [(check, Verdict.PASSED) for check in Check.ALL]
    by_check = {result.check: result for result in results}
    assert "integration@sap-sync.example.com" in by_check[Check.INTEGRATION_USER].found
    assert f"{APP_URL}/api/salesforce/outbound-messages" in by_check[Check.OUTBOUND_MESSAGE].found


def test_the_outbound_message_is_found_among_the_orgs_others(fake):
    for number in range(3):
        fake.setup.add_other_outbound_message(
            f"Contact.ERP_Push_{number}", "SAP Customer Sync Push", f"https://erp.example.com/om/{number}"
        )
    by_check = {result.check: result for result in run(fake, settings(fake))}
    assert by_check[Check.OUTBOUND_MESSAGE].verdict is Verdict.PASSED


def test_without_the_push_path_the_outbound_message_is_skipped_and_the_rest_pass(fake):
    fake.setup.delete_outbound_message()
    results = run(fake, settings(fake, push=False))
    assert not failing(results)
    [outbound] = [result for result in results if result.check == Check.OUTBOUND_MESSAGE]
    assert outbound.verdict is Verdict.SKIPPED and "SALESFORCE_ORGANIZATION_ID" in outbound.found


def test_nothing_is_asked_when_the_app_never_calls_salesforce(fake):
    config = Settings(writeback=WriteBackMode.FLOW)
    results = run(fake, config)
    assert {result.verdict for result in results} == {Verdict.SKIPPED}
    assert "never calls Salesforce" in results[0].found
    assert fake.token_requests == 0


def test_a_dropped_field_fails_the_field_check_only(fake):
    fake.drop_field("SAP_Sync_Warnings__c")
    failed = only_failure(run(fake, settings(fake)), Check.ACCOUNT_FIELDS)
    assert "SAP_Sync_Warnings__c is missing" in failed.found
    assert "sf project deploy start --source-dir force-app/main/default/objects" in failed.fix


def test_a_customer_number_field_too_short_for_ten_digits_fails_the_field_check_only(fake):
    fake.setup.set_field("SAP_Customer_Number__c", length=8)
    failed = only_failure(run(fake, settings(fake)), Check.ACCOUNT_FIELDS)
    assert "SAP_Customer_Number__c holds 8 characters, the product needs 10" in failed.found


def test_a_written_field_the_integration_user_cannot_edit_fails_the_field_check_only(fake):
    fake.setup.set_field("SAP_Sync_Error__c", updateable=False)
    failed = only_failure(run(fake, settings(fake)), Check.ACCOUNT_FIELDS)
    assert "SAP_Sync_Error__c is not editable by the integration user" in failed.found
    assert "sf org assign permset --name SAP_Customer_Sync_Integration" in failed.fix


def test_a_read_only_written_field_passes_when_the_flow_writes_back(fake):
    fake.setup.set_field("SAP_Sync_Error__c", updateable=False)
    assert not failing(run(fake, settings(fake, writeback=WriteBackMode.FLOW, push=False)))


def test_a_sync_status_without_failed_fails_the_status_check_only(fake):
    fake.set_picklist("SAP_Sync_Status__c", ("Synced",))
    failed = only_failure(run(fake, settings(fake)), Check.SYNC_STATUS_VALUES)
    assert "missing: Failed" in failed.found and "SAP Sync Status > Values" in failed.fix


def test_a_type_picklist_without_the_configured_customer_value_fails_the_customer_types_check_only(fake):
    fake.setup.set_type_values(("Prospect", "Customer - Direct", "Customer - Channel"))
    failed = only_failure(run(fake, settings(fake)), Check.CUSTOMER_TYPES)
    assert "not in the Type picklist: Customer" in failed.found
    assert "SALESFORCE_CUSTOMER_TYPES" in failed.fix and "Customer - Direct" in failed.fix


def test_the_older_picklists_values_pass_when_configured(fake):
    fake.setup.set_type_values(("Prospect", "Customer - Direct", "Customer - Channel"))
    config = settings(fake, customer_types=("Customer - Direct", "Customer - Channel"))
    assert not failing(run(fake, config))


def test_a_permission_set_not_assigned_fails_the_permission_set_check_only(fake):
    fake.setup.unassign_permission_set(USER_ID, "SAP_Customer_Sync_Integration")
    failed = only_failure(run(fake, settings(fake)), Check.PERMISSION_SET)
    assert "does not hold SAP_Customer_Sync_Integration" in failed.found
    assert (
        "sf org assign permset --name SAP_Customer_Sync_Integration --on-behalf-of integration@sap-sync.example.com"
    ) in failed.fix


def test_an_api_version_the_org_does_not_serve_fails_that_check_and_skips_the_rest(fake):
    fake.setup.set_api_versions(tuple(f"{version}.0" for version in range(55, 61)))
    results = run(fake, settings(fake))
    failed = only_failure(results, Check.API_VERSION)
    assert "SALESFORCE_API_VERSION=61.0" in failed.found and "e.g. 60.0" in failed.fix
    assert {result.verdict for result in results[2:]} == {Verdict.SKIPPED}


def test_a_missing_outbound_message_fails_that_check_only(fake):
    fake.setup.delete_outbound_message()
    failed = only_failure(run(fake, settings(fake)), Check.OUTBOUND_MESSAGE)
    assert "no outbound message Account.SAP_Customer_Sync_Push" in failed.found
    assert "SAP_SYNC_PUSH_URL" in failed.fix


def test_an_outbound_message_pointing_elsewhere_fails_that_check_only(fake):
    fake.setup.deploy_outbound_message(
        endpointUrl=f"https://sapsync-test.azurewebsites.net/api/salesforce/outbound-messages?code={FUNCTION_KEY}"
    )
    failed = only_failure(run(fake, settings(fake)), Check.OUTBOUND_MESSAGE)
    assert "points elsewhere" in failed.found and "sapsync-test.azurewebsites.net" in failed.found


def test_the_projects_placeholder_url_as_deployed_unreplaced_fails_the_outbound_message_check(fake):
    fake.setup.deploy_outbound_message()  # the metadata file as it is: YOUR-FUNCTION-APP, FUNCTION_KEY
    failed = only_failure(run(fake, settings(fake)), Check.OUTBOUND_MESSAGE)
    assert "YOUR-FUNCTION-APP" in failed.found


def test_an_outbound_message_sent_as_an_inactive_user_fails_that_check_only(fake):
    sender = fake.setup.add_user("former.integration@sap-sync.example.com")
    fake.setup.deploy_outbound_message(endpointUrl=PUSH_URL, integration_user_id=sender)
    fake.setup.set_user_active(sender, False)
    failed = only_failure(run(fake, settings(fake)), Check.OUTBOUND_MESSAGE)
    assert "User to Send As) is inactive" in failed.found


def test_an_integration_user_that_may_not_read_setup_fails_the_two_tooling_checks_only(fake):
    # Both read setup through the Tooling API: the outbound message and the change flow (issue 26).
    fake.setup.set_views_setup(False)
    failed = failing(run(fake, settings(fake)))
    assert set(failed) == {Check.OUTBOUND_MESSAGE, Check.CHANGE_TRIGGER}
    assert "INVALID_TYPE" in failed[Check.OUTBOUND_MESSAGE].found
    assert "Setup > Outbound Messages > SAP Customer Sync Push" in failed[Check.OUTBOUND_MESSAGE].fix
    assert "INVALID_TYPE" in failed[Check.CHANGE_TRIGGER].found and "Setup > Flows" in failed[Check.CHANGE_TRIGGER].fix
    assert all("View Setup and Configuration" in result.fix for result in failed.values())


# --- the change trigger (issue 26): each test breaks one thing in the fake org -------------------------------


def test_a_deactivated_change_flow_fails_the_change_trigger_check_only(fake):
    fake.flows.deactivate_flow("SAP_Customer_Sync_Change")
    failed = only_failure(run(fake, settings(fake)), Check.CHANGE_TRIGGER)
    assert "has no active version" in failed.found and "Activate" in failed.fix


def test_a_missing_change_flow_fails_the_change_trigger_check_only(fake):
    fake.flows.delete_flow("SAP_Customer_Sync_Change")
    failed = only_failure(run(fake, settings(fake)), Check.CHANGE_TRIGGER)
    assert "no flow SAP_Customer_Sync_Change" in failed.found and "sf project deploy start" in failed.fix


def test_a_change_flow_version_that_stopped_watching_the_street_fails_the_change_trigger_check_only(fake):
    formula = project_flow("SAP_Customer_Sync_Change")["start"]["filterFormula"]
    narrowed = formula.replace("ISCHANGED({!$Record.BillingStreet}),", "")
    assert narrowed != formula
    fake.flows.change_flow("SAP_Customer_Sync_Change", start={"filterFormula": narrowed})
    failed = only_failure(run(fake, settings(fake)), Check.CHANGE_TRIGGER)
    assert failed.found.endswith("does not watch BillingStreet (ISCHANGED)")


def test_a_change_flow_that_leaves_out_another_user_fails_the_change_trigger_check_only(fake):
    other = fake.setup.add_user("someone.else@sap-sync.example.com")
    fake.flows.set_setting("Integration_User_Id__c", other)
    failed = only_failure(run(fake, settings(fake)), Check.CHANGE_TRIGGER)
    assert f"not the integration user {USER_ID}" in failed.found
    assert f"set Integration_User_Id__c to {USER_ID}" in failed.fix


def test_an_empty_integration_user_in_the_custom_metadata_fails_the_change_trigger_check_only(fake):
    fake.flows.set_setting("Integration_User_Id__c", None)
    failed = only_failure(run(fake, settings(fake)), Check.CHANGE_TRIGGER)
    assert "Integration_User_Id__c is empty or missing" in failed.found


def test_without_the_push_path_the_change_trigger_is_skipped(fake):
    fake.flows.delete_flow("SAP_Customer_Sync_Change")
    results = run(fake, settings(fake, push=False))
    assert not failing(results)
    [change] = [result for result in results if result.check == Check.CHANGE_TRIGGER]
    assert change.verdict is Verdict.SKIPPED and "Power Automate flow sends changes" in change.found


def test_without_the_apps_url_the_outbound_message_check_fails_closed(fake):
    failed = only_failure(run(fake, settings(fake), app_url=None), Check.OUTBOUND_MESSAGE)
    assert "this app's URL was not given" in failed.found and "https://APP.azurewebsites.net" in failed.fix


def test_an_inactive_integration_user_cannot_log_in_and_the_rest_is_skipped(fake):
    fake.setup.set_user_active(USER_ID, False)
    results = run(fake, settings(fake, SalesforceAuth.JWT))
    failed = only_failure(results, Check.LOGIN)
    assert "authentication failure" in failed.found and "active" in failed.fix
    assert {result.verdict for result in results[1:]} == {Verdict.SKIPPED}


def test_a_wrong_client_secret_fails_the_login_with_the_connected_app_fix(fake):
    failed = only_failure(run(fake, settings(fake, client_secret="wrong")), Check.LOGIN)
    assert "invalid_client" in failed.found and "Manage Consumer Details" in failed.fix
    assert "wrong" not in failed.found


def test_a_username_other_than_the_run_as_user_fails_the_integration_user_check_only(fake):
    other = fake.setup.add_user("someone.else@sap-sync.example.com")
    fake.setup.assign_permission_set(other, "SAP_Customer_Sync_Integration")
    config = settings(fake, username="someone.else@sap-sync.example.com")
    failed = only_failure(run(fake, config), Check.INTEGRATION_USER)
    assert "not the user the session acts as" in failed.found


def test_an_unknown_username_fails_the_integration_user_check_and_skips_the_permission_set(fake):
    results = run(fake, settings(fake, username="nobody@sap-sync.example.com"))
    failed = only_failure(results, Check.INTEGRATION_USER)
    assert "SALESFORCE_USERNAME=nobody@sap-sync.example.com is no user of this org" in failed.found
    assert {result.check: result.verdict for result in results}[Check.PERMISSION_SET] is Verdict.SKIPPED


def test_salesforce_unavailable_fails_the_login_as_unavailable(fake):
    fake.set_unavailable(True)
    failed = only_failure(run(fake, settings(fake)), Check.LOGIN)
    assert "503" in failed.found and "status.salesforce.com" in failed.fix


def test_a_failing_call_fails_its_own_check_only(fake):
    """The describe answering 500 fails the field check; the two checks that read it are skipped, the rest pass."""
    results = []
    config = settings(fake)
    parts = salesforce_preflight_parts(config, app_url=APP_URL, session=fake.session())

    class DescribeFails:
        """The org inspector, with the fake failing the one request the describe makes."""

        def __getattr__(self, name):
            call = getattr(parts.org, name)
            if name != "describe_account":
                return call

            def failing_describe():
                fake.fail_next(1, 500)
                return call()

            return failing_describe

    results = check_salesforce(replace(parts, org=DescribeFails()))
    failed = only_failure(results, Check.ACCOUNT_FIELDS)
    assert "500" in failed.found and "UNKNOWN_EXCEPTION" in failed.found
    verdicts = {result.check: result.verdict for result in results}
    assert verdicts[Check.SYNC_STATUS_VALUES] is verdicts[Check.CUSTOMER_TYPES] is Verdict.SKIPPED
    assert verdicts[Check.PERMISSION_SET] is Verdict.PASSED
