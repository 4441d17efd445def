"""The simple-salesforce write-back against the fake Salesforce, over real HTTPS."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devtools.fake_salesforce import FakeSalesforce, salesforce_id18
from shared.salesforce.port import SalesforceAuthenticationFailed, SalesforceRejected, SalesforceUnavailable
from shared.salesforce.simple_salesforce import SimpleSalesforceWriteBack, writeback_from_settings
from shared.settings import SalesforceAuth, Settings, SettingsError, WriteBackMode
from tests.support.concurrency import run_together

ACCOUNT_ID = salesforce_id18("001Dn00000XyZab")
SYNCED_AT = datetime(2024, 5, 17, 9, 30, 15, 250000, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as server:
        server.add_account(ACCOUNT_ID, Name="Acme Industries", Type="Customer")
        yield server


def _writeback(
    fake: FakeSalesforce, auth: SalesforceAuth = SalesforceAuth.CLIENT_CREDENTIALS, **changes: str | None
) -> SimpleSalesforceWriteBack:
    settings = dataclasses.replace(fake.salesforce_settings(auth), **changes)
    return SimpleSalesforceWriteBack(settings, session=fake.session(), timeout_seconds=5)


@pytest.mark.parametrize("auth", list(SalesforceAuth))
def test_each_auth_mode_logs_in_and_writes_the_customer_number(fake, auth):
    _writeback(fake, auth).record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)

    account = fake.account(ACCOUNT_ID)
    assert account["SAP_Customer_Number__c"] == "0000100042"
    assert account["SAP_Sync_Status__c"] == "Synced"
    assert account["SAP_Sync_Error__c"] is None
    assert account["SAP_Synced_At__c"] == "2024-05-17T09:30:15.250+0000"
    assert fake.token_requests == 1


def test_session_is_reused_across_calls(fake):
    writeback = _writeback(fake)
    writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    assert fake.token_requests == 1
    assert fake.patch_count(ACCOUNT_ID) == 2


def test_expired_session_logs_in_once_more_and_succeeds(fake):
    writeback = _writeback(fake, SalesforceAuth.JWT)
    writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    fake.expire_all_sessions()

    writeback.record_failed(ACCOUNT_ID, "SAP down", SYNCED_AT)

    assert fake.token_requests == 2
    assert fake.patch_count(ACCOUNT_ID) == 2
    assert fake.account(ACCOUNT_ID)["SAP_Sync_Status__c"] == "Failed"


def test_concurrent_calls_on_an_expired_session_share_one_new_login(fake):
    writeback = _writeback(fake)
    writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    fake.expire_all_sessions()

    run_together(*[lambda: writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)] * 6)
    assert fake.token_requests == 2
    assert fake.patch_count(ACCOUNT_ID) == 7


def test_record_failed_truncates_the_error_to_the_field_length(fake):
    long_error = "F2 724: " + "x" * 400
    _writeback(fake).record_failed(ACCOUNT_ID, long_error, SYNCED_AT)

    stored = fake.account(ACCOUNT_ID)["SAP_Sync_Error__c"]
    assert len(stored) == 255
    assert stored.startswith("F2 724: xxx")
    assert stored.endswith("…")
    assert fake.account(ACCOUNT_ID)["SAP_Sync_Status__c"] == "Failed"
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] is None


def test_naive_and_offset_timestamps_are_written_as_utc(fake):
    writeback = _writeback(fake)
    writeback.record_created(ACCOUNT_ID, "1", datetime(2024, 5, 17, 11, 30, tzinfo=timezone(timedelta(hours=2))))
    assert fake.account(ACCOUNT_ID)["SAP_Synced_At__c"] == "2024-05-17T09:30:00.000+0000"
    writeback.record_created(ACCOUNT_ID, "1", datetime(2024, 5, 17, 9, 31))
    assert fake.account(ACCOUNT_ID)["SAP_Synced_At__c"] == "2024-05-17T09:31:00.000+0000"


def test_15_char_id_updates_the_18_char_record(fake):
    _writeback(fake).record_created(ACCOUNT_ID[:15], "0000100042", SYNCED_AT)
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] == "0000100042"
    assert fake.patch_count(ACCOUNT_ID) == 1


def test_unknown_account_is_rejected(fake):
    missing = salesforce_id18("001Dn00000NoSuc")
    with pytest.raises(SalesforceRejected, match="NOT_FOUND"):
        _writeback(fake).record_created(missing, "0000100042", SYNCED_AT)


def test_field_missing_in_the_org_is_rejected(fake):
    fake.drop_field("SAP_Synced_At__c")  # the custom field's metadata was never deployed
    with pytest.raises(SalesforceRejected, match=r"INVALID_FIELD \(SAP_Synced_At__c\)"):
        _writeback(fake).record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] is None


def test_invalid_id_is_rejected_without_a_call(fake):
    with pytest.raises(SalesforceRejected):
        _writeback(fake).record_created("../../limits", "0000100042", SYNCED_AT)
    assert fake.token_requests == 0


def test_503_is_unavailable(fake):
    writeback = _writeback(fake)
    fake.fail_next(1, status=503)
    with pytest.raises(SalesforceUnavailable, match="503"):
        writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)  # heals without a new login
    assert fake.token_requests == 1


def test_unavailable_login_endpoint_is_unavailable_not_an_auth_failure(fake):
    fake.set_unavailable(True)
    with pytest.raises(SalesforceUnavailable):
        _writeback(fake).record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)


def test_stopped_server_is_unavailable(fake):
    writeback = _writeback(fake)
    writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    fake.stop()
    with pytest.raises(SalesforceUnavailable, match="unreachable"):
        writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)


@pytest.mark.parametrize(
    ("auth", "changes"),
    [
        (SalesforceAuth.CLIENT_CREDENTIALS, {"client_secret": "wrong-secret"}),
        (SalesforceAuth.PASSWORD, {"password": "wrong-password"}),
        (SalesforceAuth.JWT, {"username": "someone.else@example.com"}),
    ],
)
def test_bad_credentials_fail_authentication_without_leaking_them(fake, auth, changes, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        _writeback(fake, auth, **changes).record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    secrets = [*changes.values(), fake.credentials.client_secret, fake.credentials.password]
    for secret in secrets:
        assert secret not in str(raised.value)
        assert secret not in caplog.text
    assert fake.patch_count(ACCOUNT_ID) == 0


def test_unusable_private_key_fails_authentication(fake):
    with pytest.raises(SalesforceAuthenticationFailed, match="SALESFORCE_PRIVATE_KEY"):
        _writeback(fake, SalesforceAuth.JWT, private_key="not a key").record_created(
            ACCOUNT_ID, "0000100042", SYNCED_AT
        )


def test_missing_credentials_are_a_settings_error(fake):
    with pytest.raises(SettingsError, match="SALESFORCE_CLIENT_SECRET"):
        _writeback(fake, SalesforceAuth.CLIENT_CREDENTIALS, client_secret=None)


def test_factory_builds_from_settings(fake):
    settings = Settings(writeback=WriteBackMode.FUNCTION, salesforce=fake.salesforce_settings(SalesforceAuth.JWT))
    writeback_from_settings(settings, session=fake.session()).record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] == "0000100042"


def test_salesforce_ca_bundle_setting_trusts_the_fake_for_salesforce_only(fake):
    account_id = fake.add_account("001Dn00000CaBunAAA"[:15], Name="CA Test")
    settings = fake.salesforce_settings(SalesforceAuth.CLIENT_CREDENTIALS)

    with pytest.raises(SalesforceUnavailable):  # the system CAs do not know the fake's certificate
        SimpleSalesforceWriteBack(settings).record_created(account_id, "0000100001", datetime.now(UTC))

    trusting = SimpleSalesforceWriteBack(dataclasses.replace(settings, ca_bundle=str(fake.ca_path)))
    trusting.record_created(account_id, "0000100001", datetime.now(UTC))
    assert fake.account(account_id)["SAP_Customer_Number__c"] == "0000100001"


def test_an_account_missing_in_salesforce_makes_the_write_back_failed_not_pending_forever(fake, fake_services):
    """Salesforce answers 404 for the account: a permanent answer, so write-back ends `failed` with the
    reason in the status (and is not queued again), while the SAP customer stays recorded."""
    from shared.core.ledger import WriteBackStatus
    from shared.core.validation import parse_customer_request
    from shared.usecases import Outcome, create_customer
    from tests.support.samples import sample

    services = dataclasses.replace(fake_services, writeback=_writeback(fake))  # the account was never added
    request = parse_customer_request(sample("german-account"))

    result = create_customer(request, services)

    assert result.outcome is Outcome.CREATED and result.writeback is WriteBackStatus.FAILED
    status = services.ledger.get(request.account_id).to_status_json()
    assert status["status"] == "created" and status["writeBack"] == "failed"
    assert "write-back" in status["lastError"]
    assert services.retry_queue.take_all() == []  # nothing retries a permanent answer


# --- the fake as strict as Salesforce (issue 21) --------------------------------------------------------------


def test_a_status_outside_the_restricted_picklist_is_rejected_naming_field_and_rule_never_the_value(fake):
    fake.set_picklist("SAP_Sync_Status__c", ("Done", "Failed"))  # an admin renamed "Synced"
    with pytest.raises(SalesforceRejected) as raised:
        _writeback(fake).record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    message = str(raised.value)
    assert "400 INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST (SAP_Sync_Status__c)" in message
    assert "Synced" not in message and "bad value" not in message  # the value and Salesforce's text stay out
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] is None  # Salesforce applies none of the update


def test_a_write_back_refused_by_the_picklist_shows_write_back_failed_with_that_reason(fake, fake_services):
    from shared.core.ledger import WriteBackStatus
    from shared.core.validation import parse_customer_request
    from shared.usecases import Outcome, create_customer
    from tests.support.samples import sample

    request = parse_customer_request(sample("german-account"))
    fake.add_account(request.account_id, Name="Acme")
    fake.set_picklist("SAP_Sync_Status__c", ("Done", "Failed"))
    services = dataclasses.replace(fake_services, writeback=_writeback(fake))

    result = create_customer(request, services)

    assert result.outcome is Outcome.CREATED and result.writeback is WriteBackStatus.FAILED
    status = services.ledger.get(request.account_id).to_status_json()
    assert status["status"] == "created" and status["writeBack"] == "failed"
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST (SAP_Sync_Status__c)" in status["lastError"]
    assert "Synced" not in status["lastError"]
    assert services.retry_queue.take_all() == []  # a permanent answer is not retried


def test_403_request_limit_exceeded_is_transient(fake):
    writeback = _writeback(fake)
    fake.fail_next(1, status=403)
    with pytest.raises(SalesforceUnavailable, match="403 REQUEST_LIMIT_EXCEEDED"):
        writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)  # the limit heals; no new login
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] == "0000100042" and fake.token_requests == 1


def test_a_write_back_over_the_request_limit_is_queued_again_not_failed(fake, fake_services):
    from shared.core.ledger import WriteBackStatus
    from shared.core.validation import parse_customer_request
    from shared.usecases import Outcome, create_customer
    from tests.support.samples import sample

    request = parse_customer_request(sample("german-account"))
    fake.add_account(request.account_id, Name="Acme")
    writeback = _writeback(fake)
    writeback.check_login()  # a session first, so that the limit hits the update itself
    fake.fail_next(1, status=403)
    services = dataclasses.replace(fake_services, writeback=writeback)

    result = create_customer(request, services)

    assert result.outcome is Outcome.CREATED and result.writeback is not WriteBackStatus.FAILED
    status = services.ledger.get(request.account_id).to_status_json()
    assert status["writeBack"] in ("pending", "queued") and "REQUEST_LIMIT_EXCEEDED" in status["lastError"]


def test_client_credentials_at_the_generic_login_host_fail_with_salesforces_answer_and_the_fix(fake):
    writeback = _writeback(fake, login_url=fake.generic_login_url)
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        writeback.record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    message = str(raised.value)
    assert "400: invalid_grant: request not supported on this domain" in message
    assert "SALESFORCE_LOGIN_URL" in message and "My Domain" in message
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] is None


def test_the_password_flow_logs_that_salesforce_retires_it(fake, caplog):
    from shared.settings import PASSWORD_FLOW_DEPRECATED

    with caplog.at_level(logging.WARNING, logger="shared.salesforce.connection"):
        _writeback(fake, SalesforceAuth.PASSWORD).record_created(ACCOUNT_ID, "0000100042", SYNCED_AT)
    assert PASSWORD_FLOW_DEPRECATED in [r.getMessage() for r in caplog.records]
    assert fake.account(ACCOUNT_ID)["SAP_Customer_Number__c"] == "0000100042"  # it still works meanwhile
