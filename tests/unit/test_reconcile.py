"""The reconcile's rule (a table), its field list against the flow and the Salesforce metadata, and the
use case over in-memory ports: what is queued, what is left alone, what is refused, and what happens
when storage fails half-way. Against the fake Salesforce and Azurite: tests/integration/test_reconcile_command.py."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from admin import ExitCode
from admin.reconcile import _progress_bar, exit_code, summary
from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.reconcile import ReconcileAction, decide_reconcile
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.validation import CONTRACT_FIELDS
from shared.salesforce.port import (
    ACCOUNT_TYPE_FIELD,
    CUSTOMER_NUMBER_FIELD,
    CUSTOMER_TYPE,
    REQUEST_PROPERTY_FIELDS,
    AccountPage,
    CustomerAccounts,
    SalesforceUnavailable,
)
from shared.salesforce.simple_salesforce import CUSTOMERS_WITHOUT_SAP_NUMBER_SOQL, SimpleSalesforceAccounts
from shared.storage.port import LedgerUnavailable
from shared.usecases import RetryOutcome, StorageUnavailable, retry_create_customer
from shared.usecases import reconcile as reconcile_module
from shared.usecases import reconcile_report as reconcile_report_module
from shared.usecases.reconcile import ReconcileReport, reconcile_customers
from shared.usecases.reconcile_pacing import read_ahead
from shared.usecases.reconcile_report import AccountIds
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue, RecordingWriteBack
from tests.support.samples import sample

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 5, 17, 9, 30, tzinfo=UTC)


def entry(status: LedgerStatus) -> LedgerEntry:
    return LedgerEntry(account_id="001Dn00000AbCdEIAV", status=status, tracking_id="t", created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (None, ReconcileAction.ENQUEUE),
        (LedgerStatus.CREATED, ReconcileAction.CREATED_NOT_WRITTEN_BACK),
        (LedgerStatus.PENDING, ReconcileAction.IN_PROGRESS),
        (LedgerStatus.QUEUED, ReconcileAction.IN_PROGRESS),
        (LedgerStatus.NEEDS_REVIEW, ReconcileAction.NEEDS_REVIEW),
        (LedgerStatus.FAILED, ReconcileAction.FAILED),
    ],
)
def test_only_an_account_the_ledger_does_not_know_is_queued(status, action):
    assert decide_reconcile(None if status is None else entry(status)).action is action


# --- one field list: the flow's, the metadata's, the query's ---------------------------------------------

FLOW = json.loads(next((ROOT / "flow" / "solution" / "Workflows").glob("*.json")).read_text(encoding="utf-8"))


def _find(node: object, key: str) -> Iterator[dict]:
    if isinstance(node, dict):
        if key in node:
            yield node[key]
        for value in node.values():
            yield from _find(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _find(value, key)


def test_the_request_is_built_from_the_same_account_fields_as_the_flows():
    [create] = [action for action in _find(FLOW, "Create_SAP_customer") if isinstance(action, dict)]
    flow_fields = {
        name.removeprefix("body/"): value.split("'body/")[1].split("'")[0]
        for name, value in create["inputs"]["parameters"].items()
    }
    assert flow_fields == dict(REQUEST_PROPERTY_FIELDS)
    assert set(REQUEST_PROPERTY_FIELDS) <= set(CONTRACT_FIELDS)


def test_the_query_is_the_flows_condition():
    [condition] = [action for action in _find(FLOW, "Is_a_new_customer_without_SAP_number") if isinstance(action, dict)]
    text = json.dumps(condition["expression"])
    # The flow's customer types are its environment variable sapsync_CustomerTypes, the app's
    # SALESFORCE_CUSTOMER_TYPES: both default to the same list.
    assert f"body/{ACCOUNT_TYPE_FIELD}" in text and "sapsync_CustomerTypes" in text
    [types] = [
        spec
        for spec in _find(FLOW, "parameters")
        if isinstance(spec, dict)
        for spec in spec.values()
        if isinstance(spec, dict) and spec.get("metadata", {}).get("schemaName") == "sapsync_CustomerTypes"
    ]
    assert types["defaultValue"] == CUSTOMER_TYPE
    assert f"body/{CUSTOMER_NUMBER_FIELD}" in text
    # The default SALESFORCE_CUSTOMER_TYPES (tests/unit/test_push_customer_types.py: several values).
    assert (
        f"WHERE {ACCOUNT_TYPE_FIELD} IN ('{CUSTOMER_TYPE}') AND {CUSTOMER_NUMBER_FIELD} = null"
        in CUSTOMERS_WITHOUT_SAP_NUMBER_SOQL
    )


def test_every_custom_field_the_query_reads_is_deployed_by_the_metadata():
    deployed = {
        path.name.removesuffix(".field-meta.xml")
        for path in (ROOT / "salesforce/force-app/main/default/objects/Account/fields").glob("*.xml")
    }
    custom = {field for field in REQUEST_PROPERTY_FIELDS.values() if field.endswith("__c")}
    assert custom and custom <= deployed and CUSTOMER_NUMBER_FIELD in deployed


# --- the use case over in-memory ports -------------------------------------------------------------------


class Accounts(CustomerAccounts):
    def __init__(self, *pages: list[dict]) -> None:
        self.pages = pages

    def customers_without_sap_number(self) -> Iterator[AccountPage]:
        total = sum(len(page) for page in self.pages)
        for page in self.pages:
            yield AccountPage(tuple(page), total)


def _ids(groups: dict[ReconcileAction, AccountIds]) -> dict[ReconcileAction, list[str]]:
    return {action: group.ids for action, group in groups.items()}


def request(number: int, **changes: str | None) -> dict:
    return {**sample("german-account"), "accountId": f"001Dn{number:010d}", "name": f"Kunde {number}", **changes}


def test_a_dry_run_writes_nothing_and_reports_what_it_would_queue(fake_services):
    report = reconcile_customers(Accounts([request(1), request(2)], [request(3)]), fake_services, apply=False)
    assert report.queued.count == 3 and report.seen == 3 and report.total == 3
    assert fake_services.retry_queue.queued == [] and fake_services.ledger.get(report.queued.ids[0]) is None
    assert exit_code(report) == ExitCode.WORK_FOUND


def test_apply_claims_each_account_as_queued_and_queues_its_create(fake_services):
    report = reconcile_customers(Accounts([request(1), request(2)]), fake_services, apply=True)
    messages = fake_services.retry_queue.take_all()
    assert sorted(message.account_id for message in messages) == report.queued.ids
    for message in messages:
        stored = fake_services.ledger.get(message.account_id)
        assert message.kind is RetryKind.CREATE and message.attempt == 0
        assert stored.status is LedgerStatus.QUEUED and stored.retry_token == message.retry_token
        assert stored.payload == message.payload  # the sweep can finish it should the message be lost
    assert exit_code(report) == ExitCode.DONE
    assert reconcile_customers(Accounts([request(1), request(2)]), fake_services, apply=True).queued.ids == []


def test_accounts_the_ledger_knows_are_left_alone_and_counted_while_the_function_does_not_write_back(fake_services):
    # With SALESFORCE_WRITEBACK flow or off nothing here can write a number back: a created account is listed.
    fake_services = dataclasses.replace(fake_services, writeback=None)
    created = reconcile_customers(Accounts([request(1)]), fake_services, apply=True).queued.ids[0]
    stored = fake_services.ledger.get(created)
    fake_services.ledger.update(stored.evolve(status=LedgerStatus.CREATED, customer_number="0000100001"))
    fake_services.retry_queue.take_all()
    report = reconcile_customers(Accounts([request(1), request(2)]), fake_services, apply=True)
    assert _ids(report.skipped) == {ReconcileAction.CREATED_NOT_WRITTEN_BACK: [created]} and report.writebacks.ids == []
    assert report.queued.count == 1 and "created in SAP, number not yet in Salesforce: 1" in summary(report, 10)
    assert "SALESFORCE_WRITEBACK is not function" in summary(report, 10)
    assert [m.kind for m in fake_services.retry_queue.take_all()] == [RetryKind.CREATE]


def _created(fake_services, number: int, writeback: WriteBackStatus) -> str:
    """An account the ledger knows as created with this write-back state (e.g. created while it was off)."""
    account_id = reconcile_customers(Accounts([request(number)]), fake_services, apply=True).queued.ids[0]
    fake_services.retry_queue.take_all()
    stored = fake_services.ledger.get(account_id)
    fake_services.ledger.update(
        stored.evolve(
            status=LedgerStatus.CREATED,
            customer_number=f"{100000 + number:010d}",
            writeback=writeback,
            retry_token=None,
            payload=None,
        )
    )
    return account_id


def test_a_dry_run_reports_the_write_backs_it_would_queue_and_queues_none(fake_services):
    created = _created(fake_services, 1, WriteBackStatus.NOT_NEEDED)
    report = reconcile_customers(Accounts([request(1)]), fake_services, apply=False)
    assert report.writebacks.ids == [created] and report.skipped == {} and report.queued.ids == []
    assert fake_services.retry_queue.queued == []
    assert fake_services.ledger.get(created).writeback is WriteBackStatus.NOT_NEEDED
    assert exit_code(report) == ExitCode.WORK_FOUND
    assert "write-back would be queued (created in SAP, number not yet in Salesforce): 1" in summary(report, 10)
    assert report.to_json()["wouldQueueWriteBacks"] == 1


@pytest.mark.parametrize("state", list(WriteBackStatus))
def test_apply_queues_the_write_back_of_a_created_account_whatever_its_write_back_state(fake_services, state):
    # Salesforce lacks the number (that is what the query asks for), whatever the ledger says about it.
    created = _created(fake_services, 1, state)
    report = reconcile_customers(Accounts([request(1)]), fake_services, apply=True)
    assert report.writebacks.ids == [created] and exit_code(report) == ExitCode.DONE
    [message] = fake_services.retry_queue.take_all()
    assert message.kind is RetryKind.WRITEBACK and message.customer_number == "0000100001"
    assert fake_services.ledger.get(created).writeback is WriteBackStatus.QUEUED
    # The queue trigger's use case then writes it; SAP is not called.
    assert retry_create_customer(message, fake_services) is RetryOutcome.WRITTEN_BACK
    assert fake_services.writeback.created[created] == ["0000100001"]
    assert fake_services.ledger.get(created).writeback is WriteBackStatus.DONE


def test_a_write_back_the_queue_refuses_stays_pending_for_the_sweep(fake_services):
    created = _created(fake_services, 1, WriteBackStatus.NOT_NEEDED)
    fake_services.retry_queue.available = False
    with pytest.raises(StorageUnavailable):
        reconcile_customers(Accounts([request(1)]), fake_services, apply=True)
    assert fake_services.ledger.get(created).writeback is WriteBackStatus.PENDING


def test_an_account_the_flow_would_be_refused_for_is_not_queued_and_named_by_field_only(fake_services):
    report = reconcile_customers(
        Accounts(
            [request(1, city=None, phone="not a phone"), request(2), {"accountId": "not-an-id", "name": "Secret Name"}]
        ),
        fake_services,
        apply=True,
    )
    assert report.queued.count == 1
    assert report.invalid.fields == {"001Dn0000000001IAA": ["city", "phone"], "not-an-id": ["accountId"]}
    shown = json.dumps(report.to_json()) + summary(report, 10)
    assert "Secret Name" not in shown and "not a phone" not in shown
    assert exit_code(report) == ExitCode.NOTHING_DONE


def test_a_queue_failure_releases_the_claim_so_a_later_run_queues_it(fake_services):
    fake_services.retry_queue.available = False
    with pytest.raises(StorageUnavailable):
        reconcile_customers(Accounts([request(1)]), fake_services, apply=True, workers=1)
    assert fake_services.ledger.get("001Dn0000000001IAA") is None
    fake_services.retry_queue.available = True
    assert reconcile_customers(Accounts([request(1)]), fake_services, apply=True).queued.ids == ["001Dn0000000001IAA"]


def test_an_account_claimed_by_another_request_meanwhile_is_not_queued_again(fake_services):
    # The reconcile's claim finds the flow's request holding the account; by the reconcile's read that request
    # has released it (its create never reached SAP), and it claims the account again right after that read.
    ledger = fake_services.ledger
    original_get = ledger.get
    theirs = entry(LedgerStatus.PENDING).evolve(account_id="001Dn0000000001IAA")
    ledger.claim(theirs)

    def get_then_lose_the_race(account_id: str):
        ledger.delete(original_get(account_id))
        found = original_get(account_id)
        ledger.claim(theirs)
        return found

    ledger.get = get_then_lose_the_race
    report = reconcile_customers(Accounts([request(1)]), fake_services, apply=True)
    assert report.queued.ids == [] and report.taken_meanwhile.ids == ["001Dn0000000001IAA"]
    assert fake_services.retry_queue.queued == []


def test_an_account_on_two_pages_is_counted_once(fake_services):
    report = reconcile_customers(Accounts([request(1)], [request(1), request(2)]), fake_services, apply=True)
    assert report.queued.count == 2 and len(fake_services.retry_queue.queued) == 2


def test_the_summary_lists_a_bounded_number_of_ids():
    report = ReconcileReport(
        applied=False, seen=30, total=30, queued=AccountIds(30, [f"001Dn{n:010d}AAA" for n in range(30)])
    )
    text = summary(report, 3)
    assert "would be queued: 30" in text and "and 27 more" in text and "--apply" in text


def test_the_progress_bar_draws_on_a_terminal_once_the_result_is_large():
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with _progress_bar(True, console) as advance:
        for done in range(1, 201):
            advance(done, 200)
    assert "200/200" in screen.getvalue()
    quiet = io.StringIO()
    with _progress_bar(True, Console(file=quiet, force_terminal=False)) as advance:
        assert advance is None  # a pipe or a log file gets the summary only


def test_the_progress_bar_and_the_summary_say_when_the_reconcile_waited_for_the_queue():
    from rich.console import Console

    screen = io.StringIO()
    with _progress_bar(True, Console(file=screen, force_terminal=True, width=120)) as advance:
        advance(10, 200, waiting_for_queue=True)
    assert "waiting for the queue trigger" in screen.getvalue()
    report = ReconcileReport(applied=True, seen=200, total=200, window_wait_seconds=42.4)
    assert "waited 42 s for the queue trigger" in summary(report, 3)
    assert report.to_json()["windowWaitSeconds"] == 42.4


# --- the adapter fails closed on a result it cannot complete ----------------------------------------------


class CannedConnection:
    timeout_seconds = 1.0

    def __init__(self, *answers: dict) -> None:
        self.answers = list(answers)

    def call(self, operation, what):
        answer = self.answers.pop(0)

        class Client:
            def query(self, *args, **kwargs):
                return answer

            def query_more(self, *args, **kwargs):
                return answer

        return operation(Client())


def test_a_result_not_done_without_a_next_page_is_an_error_not_a_short_list():
    connection = CannedConnection({"totalSize": 3, "done": False, "records": [{"Id": "001Dn00000AbCdEIAV"}]})
    pages = SimpleSalesforceAccounts(None, connection=connection).customers_without_sap_number()
    assert len(next(pages).requests) == 1
    with pytest.raises(SalesforceUnavailable):
        next(pages)


# --- claim first: the same outcome for every ledger state, one round trip fewer for an unknown account ----

ACCOUNT = "001Dn0000000001IAA"  # request(1)'s id, normalised


def _known(status: LedgerStatus, writeback: WriteBackStatus = WriteBackStatus.NOT_NEEDED) -> LedgerEntry:
    number = "0000100001" if status is LedgerStatus.CREATED else None
    return entry(status).evolve(account_id=ACCOUNT, customer_number=number, writeback=writeback)


LEDGER_STATES = {
    "unknown": None,
    "queued": _known(LedgerStatus.QUEUED),
    "pending": _known(LedgerStatus.PENDING),
    "needs_review": _known(LedgerStatus.NEEDS_REVIEW),
    "failed": _known(LedgerStatus.FAILED),
    **{f"created, write-back {state.value}": _known(LedgerStatus.CREATED, state) for state in WriteBackStatus},
}


class CountingLedger(InMemoryLedger):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, account_id: str) -> LedgerEntry | None:
        self.reads += 1
        return super().get(account_id)


def _apply_once(fake_services, known: LedgerEntry | None, payload: dict, writeback_by_function: bool):
    services = dataclasses.replace(
        fake_services,
        ledger=CountingLedger(),
        retry_queue=InMemoryRetryQueue(),
        writeback=RecordingWriteBack() if writeback_by_function else None,
    )
    if known is not None:
        services.ledger.claim(known)
    report = reconcile_customers(Accounts([payload]), services, apply=True)
    stored = services.ledger.get(ACCOUNT)
    after = None if stored is None else (stored.status, stored.writeback, stored.customer_number)
    messages = [(m.kind, m.account_id) for m in services.retry_queue.take_all()]
    return report.to_json(), after, messages, services.ledger.reads - 1  # minus the get just above


@pytest.mark.parametrize("writeback_by_function", [True, False], ids=["function writes back", "flow or off"])
@pytest.mark.parametrize("valid", [True, False], ids=["valid", "refused"])
@pytest.mark.parametrize("state", list(LEDGER_STATES))
def test_apply_claims_first_with_the_same_outcome_as_reading_first_for_every_ledger_state(
    fake_services, monkeypatch, state, valid, writeback_by_function
):
    payload = request(1) if valid else request(1, city=None)
    known = LEDGER_STATES[state]
    claiming_first = _apply_once(fake_services, known, payload, writeback_by_function)
    # The path before claim-first: read, decide, then (for an unknown account) claim and queue.
    monkeypatch.setattr(reconcile_module, "_claimed_unread", lambda *args: False)
    reading_first = _apply_once(fake_services, known, payload, writeback_by_function)
    assert claiming_first[:3] == reading_first[:3]
    # An unknown account with a valid request is claimed without reading the ledger; every other is read once.
    assert claiming_first[3] == (0 if known is None and valid else 1)
    assert reading_first[3] == 1


@pytest.mark.parametrize(
    ("state", "group"),
    [
        ("unknown", "queuedAccounts"),
        ("queued", "in_progress"),
        ("pending", "in_progress"),
        ("needs_review", "needs_review"),
        ("failed", "failed"),
        *((f"created, write-back {state.value}", "writeBackAccounts") for state in WriteBackStatus),
    ],
)
def test_apply_reports_each_ledger_state_where_the_reconcile_rule_puts_it(fake_services, state, group):
    report, _, messages, _ = _apply_once(fake_services, LEDGER_STATES[state], request(1), writeback_by_function=True)
    listed = report["knownAccounts"].get(group) if group not in report else report[group]
    assert listed == [ACCOUNT]
    expected = {"queuedAccounts": [RetryKind.CREATE], "writeBackAccounts": [RetryKind.WRITEBACK]}.get(group, [])
    assert [kind for kind, _ in messages] == expected


# --- the next page read while this one is worked; the window -----------------------------------------------


class RecordingAccounts(CustomerAccounts):
    """Pages of `size` accounts, counting how many the query has read; raises `fails_at` page's error."""

    def __init__(self, pages: int, size: int, fails_at: int | None = None) -> None:
        self.pages, self.size, self.fails_at = pages, size, fails_at
        self.read = 0

    def customers_without_sap_number(self) -> Iterator[AccountPage]:
        for number in range(self.pages):
            if number == self.fails_at:
                raise SalesforceUnavailable("503 on queryMore (fake)")
            self.read += 1
            page = [request(number * self.size + n + 1) for n in range(self.size)]
            yield AccountPage(tuple(page), self.pages * self.size)


def test_the_next_page_is_read_while_this_one_is_worked_and_never_more_than_one_ahead():
    accounts = RecordingAccounts(pages=5, size=2)
    read_when_taken = []
    with read_ahead(accounts.customers_without_sap_number()) as pages:
        for taken, _ in enumerate(pages, start=1):
            read_when_taken.append(accounts.read)
            assert accounts.read <= taken + 1  # this page and at most the next one
    assert read_when_taken[-1] == 5 and len(read_when_taken) == 5


def test_the_next_page_is_read_before_this_pages_accounts_are_done(fake_services):
    accounts = RecordingAccounts(pages=2, size=1)
    ledger = fake_services.ledger
    original_claim = ledger.claim
    read_while_claiming = []

    def claim(entry: LedgerEntry) -> LedgerEntry:
        if entry.account_id == "001Dn0000000001IAA":  # page 1's account: hold it until page 2 is read
            for _ in range(1000):
                if accounts.read == 2:
                    break
                threading.Event().wait(0.01)
            read_while_claiming.append(accounts.read)
        return original_claim(entry)

    ledger.claim = claim
    report = reconcile_customers(accounts, fake_services, apply=True)
    assert read_while_claiming == [2] and report.queued.count == 2


def test_a_page_read_error_stops_the_run_after_the_accounts_already_handed_on(fake_services):
    accounts = RecordingAccounts(pages=3, size=3, fails_at=1)
    with pytest.raises(SalesforceUnavailable):
        reconcile_customers(accounts, fake_services, apply=True)
    # Page 1's accounts were claimed and queued together; a later run finds them queued.
    assert len(fake_services.retry_queue.queued) == 3
    assert all(fake_services.ledger.get(m.message.account_id) for m in fake_services.retry_queue.queued)


class DepthRecordingQueue(InMemoryRetryQueue):
    def __init__(self) -> None:
        super().__init__()
        self.deepest = 0
        self.depth_reads = 0
        self.lock = threading.Lock()

    def enqueue(self, message, delay_seconds: int = 0) -> None:
        with self.lock:
            super().enqueue(message, delay_seconds)
            self.deepest = max(self.deepest, len(self.queued))

    def depth(self) -> int:
        with self.lock:
            self.depth_reads += 1
            return super().depth()


def _with_queue(fake_services, queue: InMemoryRetryQueue):
    return dataclasses.replace(fake_services, retry_queue=queue)


@pytest.mark.parametrize("live_messages", [0, 12], ids=["empty queue", "live retries queued"])
def test_the_window_keeps_at_most_n_messages_queued_and_waits_for_the_trigger_to_take_them(
    fake_services, live_messages
):
    queue = DepthRecordingQueue()
    services = _with_queue(fake_services, queue)
    for number in range(live_messages):  # the live traffic's messages count against the window too
        queue.enqueue(dataclasses.replace(_a_message(), account_id=f"live-{number}"))
    queue.deepest = 0  # from here on, every put is the reconcile's
    taken: list = []
    waits = []

    def trigger_takes_some(seconds: float) -> None:  # the reconcile sleeps: the queue trigger works meanwhile
        waits.append(seconds)
        with queue.lock:
            taken.extend(queue.queued[:5])
            del queue.queued[:5]

    progress_calls = []
    report = reconcile_customers(
        RecordingAccounts(pages=4, size=15),
        services,
        apply=True,
        workers=4,
        window=10,
        sleep=trigger_takes_some,
        progress=lambda done, total, waiting_for_queue=False: progress_calls.append(waiting_for_queue),
    )
    assert 0 < queue.deepest <= 10
    assert waits and True in progress_calls  # it waited, and the progress bar was told
    created = [m.message.account_id for m in taken + queue.queued if not m.message.account_id.startswith("live")]
    assert report.queued.count == 60 and sorted(created) == report.queued.ids  # every account once
    assert report.to_json()["windowWaitSeconds"] >= 0


def _a_message() -> RetryMessage:
    return RetryMessage(
        kind=RetryKind.CREATE, account_id="x", tracking_id="t", payload={}, attempt=0, first_seen_at=NOW.isoformat()
    )


def test_without_a_window_or_on_a_dry_run_the_queue_depth_is_never_read(fake_services):
    queue = DepthRecordingQueue()
    services = _with_queue(fake_services, queue)
    reconcile_customers(RecordingAccounts(pages=2, size=5), services, apply=True, window=0)
    reconcile_customers(RecordingAccounts(pages=2, size=5), services, apply=False, window=3)
    assert queue.depth_reads == 0 and len(queue.queued) == 10


def test_the_window_reads_the_depth_once_its_places_are_used_not_once_an_account(fake_services):
    queue = DepthRecordingQueue()
    report = reconcile_customers(
        RecordingAccounts(pages=2, size=50), _with_queue(fake_services, queue), apply=True, window=1000
    )
    assert report.queued.count == 100 and queue.depth_reads == 1


def test_a_queue_that_cannot_tell_its_depth_stops_the_run_as_storage_unavailable(fake_services):
    queue = DepthRecordingQueue()
    queue.available = False
    with pytest.raises(StorageUnavailable):
        reconcile_customers(RecordingAccounts(pages=1, size=3), _with_queue(fake_services, queue), apply=True, window=5)


# --- memory: counts exact, ids kept for at most KEPT_IDS per outcome, ids remembered for two pages ---------


def test_the_report_counts_every_account_but_keeps_the_ids_of_at_most_kept_ids_per_outcome(fake_services, monkeypatch):
    monkeypatch.setattr(reconcile_report_module, "KEPT_IDS", 5)
    refused = [request(100 + n, city=None) for n in range(8)]
    report = reconcile_customers(Accounts([request(n) for n in range(1, 13)] + refused), fake_services, apply=True)
    assert report.queued.count == 12 and len(report.queued.ids) == 5 and report.queued.ids == sorted(report.queued.ids)
    assert len(fake_services.retry_queue.queued) == 12
    shown = report.to_json()
    assert shown["queued"] == 12 and len(shown["queuedAccounts"]) == 5 and shown["accountsListedAtMost"] == 5
    assert shown["invalidCount"] == 8 and len(shown["invalid"]) == 5
    assert "and 6 more (--json lists the first 5)" in summary(report, 2)


def test_an_account_read_again_further_than_a_page_away_is_handled_twice_but_queued_once(fake_services):
    # Only the ids of this page and the one before are remembered; further away, the ledger keeps it to one claim.
    report = reconcile_customers(
        Accounts([request(1)], [request(2)], [request(3), request(1)]), fake_services, apply=True
    )
    assert report.queued.count == 3 and report.seen == 4
    assert _ids(report.skipped) == {ReconcileAction.IN_PROGRESS: ["001Dn0000000001IAA"]}
    assert sorted(m.account_id for m in fake_services.retry_queue.take_all()) == report.queued.ids


class _LostAnswerLedger(InMemoryLedger):
    """The first `lost` claims end in LedgerUnavailable, as the table adapter maps a reset or timed-out
    connection; `stored` says whether such a claim was stored anyway (its answer lost on the way back)."""

    def __init__(self, lost: int, stored: bool) -> None:
        super().__init__()
        self.lost, self.stored, self.claims = lost, stored, 0

    def claim(self, entry: LedgerEntry) -> LedgerEntry:
        self.claims += 1
        if self.claims <= self.lost:
            if self.stored:
                super().claim(entry)
            raise LedgerUnavailable("connection reset")
        return super().claim(entry)


@pytest.mark.parametrize("stored", [True, False], ids=["stored-answer-lost", "not-stored"])
def test_a_claim_whose_answer_was_lost_is_sent_again_and_the_account_queued_once(fake_services, monkeypatch, stored):
    monkeypatch.setattr(reconcile_module, "LOST_ANSWER_PAUSE_SECONDS", 0)
    ledger = _LostAnswerLedger(lost=1, stored=stored)
    services = dataclasses.replace(fake_services, ledger=ledger)
    report = reconcile_customers(Accounts([request(1)]), services, apply=True)
    [message] = services.retry_queue.take_all()
    stored_entry = ledger.get(message.account_id)
    assert report.queued.ids == [message.account_id] and report.taken_meanwhile.count == 0
    assert stored_entry.status is LedgerStatus.QUEUED and stored_entry.retry_token == message.retry_token
    assert ledger.claims == 2


def test_a_claim_lost_twice_stops_the_run_as_storage_unavailable(fake_services, monkeypatch):
    monkeypatch.setattr(reconcile_module, "LOST_ANSWER_PAUSE_SECONDS", 0)
    services = dataclasses.replace(fake_services, ledger=_LostAnswerLedger(lost=2, stored=False))
    with pytest.raises(StorageUnavailable):
        reconcile_customers(Accounts([request(1)]), services, apply=True)
    assert services.retry_queue.take_all() == []


def test_a_conflict_after_a_lost_answer_with_another_claims_token_is_not_taken_for_ours(fake_services, monkeypatch):
    monkeypatch.setattr(reconcile_module, "LOST_ANSWER_PAUSE_SECONDS", 0)

    class _OtherWinsMeanwhile(InMemoryLedger):
        claims = 0

        def claim(self, entry: LedgerEntry) -> LedgerEntry:
            self.claims += 1
            if self.claims == 1:  # lost, not stored; meanwhile another request claims the account
                super().claim(entry.evolve(retry_token="another-request"))
                raise LedgerUnavailable("connection reset")
            return super().claim(entry)

    services = dataclasses.replace(fake_services, ledger=_OtherWinsMeanwhile())
    report = reconcile_customers(Accounts([request(1)]), services, apply=True)
    assert services.retry_queue.take_all() == [] and report.queued.count == 0


class _FakeClock:
    """Sleeping moves the clock: the window's waits take no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_full_window_that_nothing_drains_stops_after_the_idle_limit_naming_the_trigger(fake_services):
    from shared.usecases.reconcile_pacing import QueueTriggerIdle, QueueWindow

    queue, clock = DepthRecordingQueue(), _FakeClock()
    reconcile_customers(Accounts([request(n) for n in range(1, 6)]), _with_queue(fake_services, queue), apply=True)
    window = QueueWindow(queue, 5, sleep=clock.sleep, clock=clock, idle_seconds=60)
    with pytest.raises(QueueTriggerIdle, match="none was taken for 60 s"):
        window.admit(lambda: 0)
    assert 60 <= clock.now < 62 and len(queue.queued) == 5  # what was queued stays queued


def test_a_window_the_trigger_drains_slowly_keeps_waiting_past_the_idle_limit_while_the_depth_goes_down():
    from shared.usecases.reconcile_pacing import QueueWindow

    clock = _FakeClock()

    class SlowlyDrained(DepthRecordingQueue):
        def depth(self) -> int:  # 5 queued, the trigger takes one every 50 s
            return max(5 - int(clock.now // 50), 0)

    window = QueueWindow(SlowlyDrained(), 5, sleep=clock.sleep, clock=clock, idle_seconds=60)
    window.admit(lambda: 3)  # room for one more once the depth is below 2: 200 s, each step within 60 s
    assert 200 <= clock.now < 202


def test_a_rerun_while_the_queue_is_over_the_window_skips_the_known_accounts_without_waiting(fake_services):
    accounts = [request(n) for n in range(1, 13)]
    assert reconcile_customers(Accounts(accounts), fake_services, apply=True, window=0).queued.count == 12

    def never(seconds: float) -> None:
        raise AssertionError("the re-run waited for the queue trigger")

    report = reconcile_customers(Accounts(accounts), fake_services, apply=True, window=5, sleep=never)
    assert report.queued.count == 0 and sum(ids.count for ids in report.skipped.values()) == 12
    assert len(fake_services.retry_queue.queued) == 12  # nothing queued twice


def test_a_full_window_still_holds_back_an_account_the_ledger_does_not_know(fake_services):
    known = [request(n) for n in range(1, 7)]
    reconcile_customers(Accounts(known), fake_services, apply=True, window=0)
    waits: list[float] = []

    def trigger_takes_all(seconds: float) -> None:  # the queue trigger empties the queue while it waits
        waits.append(seconds)
        fake_services.retry_queue.take_all()

    report = reconcile_customers(
        Accounts([*known, request(99)]), fake_services, apply=True, window=5, sleep=trigger_takes_all
    )
    assert report.queued.count == 1 and waits  # the new account waited for a place; the known ones did not
