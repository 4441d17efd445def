"""The change path's use case (issue 26) over the simulator's create, an in-memory SAP change side
(tests/support/change_gateway.py) and the in-memory ledger and queue: only owned, changed fields reach SAP, in
order, once; conflicts under both rules; rejections written back; the queue heals what SAP did not take."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.change_mapping import map_customer_change
from shared.core.change_request import parse_change_request
from shared.core.change_rules import ConflictRule
from shared.core.ledger import ChangeStatus, LedgerStatus
from shared.core.models import InvalidRequest
from shared.core.ownership import OWNED_FIELDS, UnknownOwnedField, owned_fields, value_digest
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.validation import parse_customer_request
from shared.sap import SapBusinessRejection, SapMessage, SapTransientError
from shared.usecases import Outcome, RetryOutcome, Services, create_customer, retry_create_customer
from shared.usecases.change import ChangeOutcome, change_customer
from tests.support.change_gateway import InMemoryChangeSap, SteppingClock
from tests.support.samples import sample

T0 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def stamp(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def services(fake_services: Services) -> Services:
    fake_services.sap = InMemoryChangeSap(fake_services.sap)
    fake_services.clock = SteppingClock()
    return fake_services


def created(services: Services, **changes: str) -> str:
    payload = {**sample("german-account"), **changes}
    result = create_customer(parse_customer_request(payload), services)
    assert result.customer_number
    return result.customer_number


def change(seconds: int, **changes: str):
    return parse_change_request({**sample("german-account"), **changes, "systemModstamp": stamp(seconds)})


def drain(services: Services) -> list[RetryOutcome]:
    outcomes = []
    for _ in range(50):
        messages = services.retry_queue.take_all()
        if not messages:
            return outcomes
        # the messages come back once their delays (and any claim window they wait for) have passed
        services.clock.advance(services.windows.queued_overdue_after)
        outcomes.extend(retry_create_customer(message, services) for message in messages)
    raise AssertionError("retry queue did not drain")


def test_a_changed_street_is_sent_alone_and_recorded(services):
    number = created(services)
    sap = services.sap

    result = change_customer(change(10, street="Neue Straße 5"), services)

    assert result.outcome is ChangeOutcome.APPLIED
    assert result.changed_fields == ("street",)
    [sent] = sap.changes
    assert sent.company_data == {"STREET": "Neue Straße 5"}  # nothing else flagged
    assert sent.customer_number == number and (sent.sales_organization, sent.distribution_channel) == ("1000", "10")
    assert sap.records[number]["STREET"] == "Neue Straße 5" and sap.records[number]["CITY"] == "München"
    entry = services.ledger.get(result.account_id)
    assert entry.change_status is ChangeStatus.APPLIED and entry.change_claimed_at is None
    assert entry.change_modstamp == T0 + timedelta(seconds=10)
    assert entry.applied_digests["STREET"] == value_digest(result.account_id, "STREET", "Neue Straße 5")
    assert "Neue Straße 5" not in str(entry.to_status_json()) + str(entry.applied_digests)
    assert entry.to_status_json()["lastChangeStatus"] == "applied"
    assert entry.to_status_json()["lastChangeAt"] is not None


def test_the_same_values_again_are_unchanged_without_a_sap_call(services):
    created(services)

    result = change_customer(change(10), services)

    assert result.outcome is ChangeOutcome.UNCHANGED and result.changed_fields == ()
    assert services.sap.calls["change"] == 0 and services.sap.calls["read"] == 0


def test_out_of_order_b_a_b_applies_b_once_and_never_a(services):
    number = created(services)
    a, b = change(10, city="Augsburg"), change(20, city="Bamberg")

    outcomes = [change_customer(item, services).outcome for item in (b, a, b)]

    assert outcomes == [ChangeOutcome.APPLIED, ChangeOutcome.STALE, ChangeOutcome.STALE]
    assert services.sap.calls["change"] == 1
    assert services.sap.records[number]["CITY"] == "Bamberg"


def test_a_change_for_an_unknown_account_is_not_synced(services):
    assert change_customer(change(10), services).outcome is ChangeOutcome.NOT_SYNCED
    assert services.retry_queue.queued == []


def test_a_change_while_the_create_is_queued_ends_in_one_customer_with_the_newest_values(services, sap_system):
    sap_system.faults.arm("communication_before")
    request = parse_customer_request(sample("german-account"))
    assert create_customer(request, services).outcome is Outcome.QUEUED
    assert services.ledger.get(request.account_id).status is LedgerStatus.QUEUED

    result = change_customer(change(30, street="Neue Straße 5", city="Augsburg", postalCode="86150"), services)

    assert result.outcome is ChangeOutcome.FOLDED
    drain(services)
    entry = services.ledger.get(request.account_id)
    assert entry.status is LedgerStatus.CREATED
    assert len(services.sap.records) == 1
    record = services.sap.records[entry.customer_number]
    assert (record["STREET"], record["CITY"], record["POSTL_COD1"]) == ("Neue Straße 5", "Augsburg", "86150")
    assert entry.change_status is ChangeStatus.APPLIED


def test_salesforce_wins_overwrites_a_value_changed_in_sap_and_logs_the_field_only(services, caplog):
    number = created(services)
    services.sap.edit_in_sap(number, STREET="Von SAP geändert 1")

    with caplog.at_level("WARNING"):
        result = change_customer(change(10, street="Neue Straße 5"), services)

    assert result.outcome is ChangeOutcome.APPLIED and result.conflicts == ("street",)
    assert services.sap.records[number]["STREET"] == "Neue Straße 5"
    [record] = [r for r in caplog.records if "overwritten" in r.getMessage()]
    assert record.fields == ["street"]
    assert "Von SAP" not in caplog.text and "Neue Straße" not in caplog.text


def test_review_holds_the_change_with_both_values_and_sends_nothing(services):
    services.change_conflict = ConflictRule.REVIEW
    number = created(services)
    services.sap.edit_in_sap(number, STREET="Von SAP geändert 1")

    result = change_customer(change(10, street="Neue Straße 5"), services)

    assert result.outcome is ChangeOutcome.NEEDS_REVIEW and result.conflicts == ("street",)
    assert services.sap.calls["change"] == 0
    entry = services.ledger.get(result.account_id)
    status = entry.to_status_json()
    assert status["lastChangeStatus"] == "needs_review"
    assert "changeReview" not in status  # personal data: `admin status` shows it, never the status API
    [field] = entry.change_review["fields"]
    assert (field["field"], field["sap"], field["salesforce"]) == ("street", "Von SAP geändert 1", "Neue Straße 5")
    # once SAP holds what we last sent again (the operator decided), the next change applies
    services.sap.edit_in_sap(number, STREET="Industriestraße 12")
    assert change_customer(change(20, street="Neue Straße 5"), services).outcome is ChangeOutcome.APPLIED


def test_a_rejected_change_is_failed_and_the_next_applies(services):
    number = created(services)
    services.sap.fail_before.append(SapBusinessRejection((SapMessage("E", "AM", "215", "Street is not valid"),)))

    rejected = change_customer(change(10, street="Neue Straße 5"), services)

    assert rejected.outcome is ChangeOutcome.REJECTED and rejected.rejection.number == "215"
    entry = services.ledger.get(rejected.account_id)
    assert entry.change_status is ChangeStatus.FAILED and "Street is not valid" in entry.change_error
    assert entry.status is LedgerStatus.CREATED  # the customer stays synced
    assert services.writeback.failed[rejected.account_id] == ["SAP E AM 215: Street is not valid"]

    applied = change_customer(change(20, street="Neue Straße 7"), services)

    assert applied.outcome is ChangeOutcome.APPLIED
    assert services.sap.records[number]["STREET"] == "Neue Straße 7"
    assert services.ledger.get(applied.account_id).change_error is None
    assert services.writeback.created[applied.account_id] == [number, number]  # Synced again, error cleared


def test_sap_unavailable_queues_the_change_and_the_retry_applies_it(services):
    number = created(services)
    services.sap.fail_before.append(SapTransientError("SAP not reachable (scripted)"))

    result = change_customer(change(10, city="Augsburg"), services)

    assert result.outcome is ChangeOutcome.QUEUED
    assert services.ledger.get(result.account_id).change_status is ChangeStatus.QUEUED
    [queued] = services.retry_queue.queued
    assert queued.message.kind is RetryKind.CHANGE and queued.message.attempt == 1
    assert drain(services) == [RetryOutcome.CHANGED]
    assert services.sap.records[number]["CITY"] == "Augsburg"
    assert services.ledger.get(result.account_id).change_status is ChangeStatus.APPLIED


def test_an_answer_lost_after_the_commit_is_applied_again_harmlessly(services):
    number = created(services)
    lost = []
    services.sap.lose_answer_after_change = lambda change: not lost and not lost.append(1)

    assert change_customer(change(10, city="Augsburg"), services).outcome is ChangeOutcome.QUEUED
    assert drain(services) == [RetryOutcome.CHANGED]
    assert services.sap.records[number]["CITY"] == "Augsburg"
    assert services.sap.calls["change"] == 1  # the retry read SAP: the value was there, nothing sent twice


def test_a_change_message_survives_its_json_round_trip(services):
    created(services)
    services.sap.fail_before.append(SapTransientError("down"))
    change_customer(change(10, city="Augsburg"), services)
    [queued] = services.retry_queue.take_all()

    again = RetryMessage.from_json(queued.to_json())

    assert again.kind is RetryKind.CHANGE and again.payload["systemModstamp"] == "2026-12-07T14:00:10.000Z"
    assert retry_create_customer(again, services) is RetryOutcome.CHANGED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "systemModstamp"),
        ({"systemModstamp": "yesterday"}, "systemModstamp"),
        ({"systemModstamp": "2026-12-07T14:00:00"}, "systemModstamp"),
        ({"systemModstamp": 17}, "systemModstamp"),
        ({"systemModstamp": "2026-12-07T14:00:00Z", "accountId": "001Dn00000ZzZzZIAV"}, "accountId"),
    ],
    ids=["missing", "not a date", "no offset", "not a string", "another account than the URL's"],
)
def test_a_change_request_names_the_field_and_reason(body, field):
    payload = {**sample("german-account"), **body}
    if "accountId" not in body:
        payload.pop("accountId")
    with pytest.raises(InvalidRequest) as raised:
        parse_change_request(payload, "001Dn00000AbCdEIAV")
    assert field in [error.field for error in raised.value.errors]


def test_the_mapping_sends_only_owned_fields_that_differ_never_the_currency():
    from shared.settings import load_settings

    organization = load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization
    request = parse_customer_request({**sample("german-account"), "currencyIsoCode": "USD", "city": "Augsburg"})
    last = map_customer_change(
        parse_customer_request(sample("german-account")), organization, OWNED_FIELDS, None
    ).digests

    mapped = map_customer_change(request, organization, OWNED_FIELDS, last)

    assert mapped.differing == {"CITY": "Augsburg"}
    assert "CURRENCY" not in mapped.owned and "HOUSE_NO" not in mapped.owned and "E_MAIL" not in mapped.owned
    narrowed = map_customer_change(request, organization, owned_fields(("name", "street")), last)
    assert narrowed.differing == {}


def test_an_unknown_owned_field_name_is_refused_naming_it():
    with pytest.raises(UnknownOwnedField, match="currency"):
        owned_fields(("street", "currency"))


def test_a_change_before_the_change_path_sends_every_owned_field(services):
    number = created(services)
    entry = services.ledger.get(change(0).account_id)
    services.ledger.update(dataclasses.replace(entry, applied_digests=None))

    result = change_customer(change(10, city="Augsburg"), services)

    assert result.outcome is ChangeOutcome.APPLIED
    assert set(services.sap.changes[0].company_data) == {"CITY"}  # SAP held the rest already
    assert services.sap.records[number]["CITY"] == "Augsburg"


def test_after_a_lost_answer_a_newer_change_waits_until_the_unit_that_may_still_commit_is_over(services):
    number = created(services)
    lost = []
    services.sap.lose_answer_after_change = lambda change: not lost and not lost.append(1)
    assert change_customer(change(10, city="Augsburg"), services).outcome is ChangeOutcome.QUEUED

    newer = change_customer(change(20, city="Bamberg"), services)

    assert newer.outcome is ChangeOutcome.QUEUED  # the claim is kept for the claim window: SAP is not called
    assert services.sap.calls["change"] == 1
    drain(services)
    assert services.sap.records[number]["CITY"] == "Bamberg"
    entry = services.ledger.get(newer.account_id)
    assert entry.change_status is ChangeStatus.APPLIED and entry.change_claimed_at is None
