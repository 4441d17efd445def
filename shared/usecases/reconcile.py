"""The reconcile: Salesforce customers without an SAP number that the sync never saw are queued for
creation, exactly once (the rule: shared.core.reconcile).

The accounts come from Salesforce (every result page of the query the flow's condition makes); each is
looked up in the ledger. One the ledger does not know is validated and mapped as the HTTP path would,
then, with `apply`, claimed in the ledger as `queued` (conditional insert, owned by a new retry token)
and its create message put on the retry queue; the function app's queue trigger creates it. Without
`apply` (a dry run) nothing is written and the report says what would be queued. With `apply`, an account
whose request is valid is claimed before it is read (an initial load's accounts are all unknown: two
round trips instead of three); only when the claim conflicts is the entry read and decided on.

An account the ledger knows as `created` is one whose number never reached Salesforce (the query asks for
customers without one): the write-back was off when it was created, gave up, or the number was cleared
since. With `apply`, and the write-back done by the function (SALESFORCE_WRITEBACK=function), its
write-back is queued as the sweep queues an abandoned one (shared.usecases.sweep.queue_write_back): the
entry is first marked `pending` (so the sweep finishes it should the queue refuse, and a `done` entry
does not make the message skip), then the message is queued and the entry marked `queued`. Writing the
same number to the same account again is harmless. The write-back never goes near SAP.

Why the retry queue and not a create here: the operations command never talks to SAP, and the queue
trigger is the one path that already creates with backoff, the duplicate guard and the write-back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.mapping import map_customer_request
from shared.core.models import InvalidRequest
from shared.core.reconcile import ReconcileAction, decide_reconcile
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.salesforce_id import InvalidSalesforceId, normalize_account_id
from shared.core.validation import parse_customer_request
from shared.log import sync_context
from shared.salesforce.port import CustomerAccounts
from shared.storage.port import LedgerConflict, RetryQueueUnavailable
from shared.usecases.reconcile_pacing import QueueWindow, read_ahead
from shared.usecases.reconcile_report import ReconcileReport
from shared.usecases.services import Services, StorageUnavailable, ledger_call, new_retry_token, release
from shared.usecases.sweep import queue_write_back

logger = logging.getLogger(__name__)

RECONCILE_NOTE = "queued by reconcile (Salesforce customer without an SAP number)"

# Before a claim whose answer was lost is sent again (_claim): long enough for a reset connection's pool to
# settle, short beside a load's minutes.
LOST_ANSWER_PAUSE_SECONDS = 0.2

# Accounts looked up and queued at once (storage round trips in flight; the clients pool 32 connections).
WORKERS = 8


class Progress(Protocol):
    """The command's progress bar: accounts handled so far, accounts in the whole result, and whether the
    reconcile is waiting for the queue trigger to make room in its window."""

    def __call__(self, done: int, total: int, waiting_for_queue: bool = False) -> None: ...


def reconcile_customers(
    accounts: CustomerAccounts,
    services: Services,
    *,
    apply: bool,
    progress: Progress | None = None,
    workers: int = WORKERS,
    window: int = 0,
    sleep: Callable[[float], None] = time.sleep,
) -> ReconcileReport:
    """Queue a create for every Salesforce customer without an SAP number that the ledger does not know.
    Raises SalesforceError (login, query), StorageUnavailable (the ledger or the queue; a claim whose
    message could not be queued is released first, so a later run queues it again).

    The accounts are looked up (and queued) on `workers` threads: each is one to three storage round trips
    of its own, and the ledger's conditional insert keeps them apart. The next page is read while this one
    is worked, and the pool is handed the next page's accounts while this page's slowest are still running.
    With `apply` and a `window` (shared.usecases.reconcile_pacing: why), at most that many messages are
    in the retry queue: the reconcile waits for the queue trigger to take them (`sleep`) before it hands on
    more; the report says how long (window_wait_seconds)."""
    report = ReconcileReport(applied=apply, writeback_by_function=services.writeback is not None)
    queue_window = QueueWindow(services.retry_queue, window if apply else 0, sleep=sleep)
    in_flight: set[Future[None]] = set()
    # A few accounts ahead of the threads, so none idles while the loop hands on the next; bounded (memory).
    backlog = max(workers, 1) * 2

    def collect(done: set[Future[None]]) -> None:
        for future in done:
            in_flight.discard(future)
            future.result()  # StorageUnavailable stops the run
            report.seen += 1
            if progress is not None:
                progress(report.seen, max(report.total, report.seen))

    def collect_finished() -> int:
        collect({future for future in in_flight if future.done()})
        return len(in_flight)

    def waiting_for_the_queue() -> None:
        if progress is not None:
            progress(report.seen, max(report.total, report.seen), waiting_for_queue=True)

    pool = ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="reconcile")
    try:
        with read_ahead(accounts.customers_without_sap_number()) as pages:
            # Each account once, even should a page boundary move under a changing result: an account read
            # again moves by less than a page, so the ids of this page and the one before are enough to know.
            # Should one come again from further away, handling it twice is harmless: the ledger's
            # conditional insert keeps it to one claim and one message (the second finds it queued).
            previous_page: set[str] = set()
            for page in pages:
                report.total = max(report.total, page.total_size)
                this_page: set[str] = set()
                for payload in page.requests:
                    account_id = _account_id(payload, report)
                    if account_id is None or account_id in this_page or account_id in previous_page:
                        report.seen += 1
                        continue
                    this_page.add(account_id)
                    if len(in_flight) >= backlog:
                        collect(wait(in_flight, return_when=FIRST_COMPLETED).done)
                    # A full window holds back only accounts that would add a message: one the ledger knows
                    # (a re-run while the queue is still busy) is read here and handed on without a place.
                    if not (queue_window.full(collect_finished) and _known(account_id, services)):
                        queue_window.admit(collect_finished, waiting_for_the_queue)
                    in_flight.add(pool.submit(_reconcile_one, account_id, payload, services, apply, report))
                previous_page = this_page
        while in_flight:
            collect(wait(in_flight, return_when=FIRST_COMPLETED).done)
    finally:
        # On an error (or Ctrl-C) the accounts handed on finish, a few times `workers` at most: a claim and
        # its message stay together; the accounts not handed on are found unknown by a later run.
        pool.shutdown(wait=True)
        report.window_wait_seconds = queue_window.waited_seconds
    report.sort()
    logger.info(
        "reconcile finished",
        extra={
            "applied": apply,
            "seen": report.seen,
            "queued": report.queued.count,
            "writebacks": report.writebacks.count,
            "window_wait_seconds": round(report.window_wait_seconds, 1),
        },
    )
    return report


def _account_id(payload: Mapping[str, Any], report: ReconcileReport) -> str | None:
    raw_id = str(payload.get("accountId") or "")
    try:
        return normalize_account_id(raw_id)
    except InvalidSalesforceId:
        report.invalid.add(raw_id or "(no Id)", ["accountId"])
        return None


def _reconcile_one(
    account_id: str,
    payload: Mapping[str, Any],
    services: Services,
    apply: bool,
    report: ReconcileReport,
) -> None:
    if apply and _claimed_unread(account_id, payload, services):
        report.queued.add(account_id)
        return
    _read_and_decide(account_id, payload, services, apply, report)


def _known(account_id: str, services: Services) -> bool:
    """Whether the ledger's entry says the account gets no create message (one read)."""
    entry = ledger_call(services.ledger.get, account_id)
    return decide_reconcile(entry).action is not ReconcileAction.ENQUEUE


def _claimed_unread(account_id: str, payload: Mapping[str, Any], services: Services) -> bool:
    """An initial load's accounts are all unknown to the ledger: as the create and push paths do, the first
    round tries the conditional insert without reading (two storage round trips instead of three). True when
    the account is claimed and its create queued; False when the payload is one the flow's request would be
    refused for (read first: the entry may be a created one whose write-back is due) or the ledger knows the
    account (the insert conflicts): then it is read and decided as without this shortcut."""
    try:
        request = parse_customer_request(dict(payload))
        map_customer_request(request, services.organization)
    except InvalidRequest:
        return False
    return _claim_and_queue(request.account_id, request.to_payload(), services)


def _read_and_decide(
    account_id: str,
    payload: Mapping[str, Any],
    services: Services,
    apply: bool,
    report: ReconcileReport,
) -> None:
    entry = ledger_call(services.ledger.get, account_id)
    decision = decide_reconcile(entry)
    if (
        decision.action is ReconcileAction.CREATED_NOT_WRITTEN_BACK
        and services.writeback is not None
        and entry is not None
        and entry.customer_number is not None
    ):
        repaired = _queue_write_back(entry, services) if apply else True
        (report.writebacks if repaired else report.taken_meanwhile).add(account_id)
        return
    if decision.action is not ReconcileAction.ENQUEUE:
        report.known(decision.action).add(account_id)
        return
    try:
        # What the HTTP path checks before it claims: a request it would refuse is not queued either.
        request = parse_customer_request(dict(payload))
        map_customer_request(request, services.organization)
    except InvalidRequest as invalid:
        report.invalid.add(account_id, [error.field for error in invalid.errors])
        return
    queued = _claim_and_queue(request.account_id, request.to_payload(), services) if apply else True
    (report.queued if queued else report.taken_meanwhile).add(account_id)


def _queue_write_back(entry: LedgerEntry, services: Services) -> bool:
    """Queue the write-back of a created account's number; False when the entry changed since it was read."""
    with sync_context(account_id=entry.account_id, tracking_id=entry.tracking_id):
        if entry.writeback is not WriteBackStatus.PENDING:
            try:
                entry = ledger_call(
                    services.ledger.update, entry.evolve(writeback=WriteBackStatus.PENDING, updated_at=services.clock())
                )
            except LedgerConflict:
                return False
        queue_write_back(
            entry,
            services,
            "the retry queue is unavailable; the reconcile stopped (the sweep "
            "queues the write-backs it marked pending)",
        )
        logger.info("reconcile: write-back queued")
    return True


def _claim_and_queue(account_id: str, payload: dict[str, str], services: Services) -> bool:
    """Claim the account as `queued` (owned by a new retry token), then queue its create; False when
    another request claimed it first (it owns the account now)."""
    now = services.clock()
    token = new_retry_token()
    entry = LedgerEntry(
        account_id=account_id,
        status=LedgerStatus.QUEUED,
        tracking_id=services.new_tracking_id(),
        created_at=now,
        updated_at=now,
        retry_token=token,
        last_error=RECONCILE_NOTE,
        payload=payload,
    )
    # The request stays in the entry, so should the message be lost the sweep still finishes it.
    claimed = _claim(entry, services)
    if claimed is None:
        return False
    message = RetryMessage(
        kind=RetryKind.CREATE,
        account_id=account_id,
        tracking_id=claimed.tracking_id,
        payload=payload,
        attempt=0,
        first_seen_at=now.isoformat(),
        last_error=RECONCILE_NOTE,
        retry_token=token,
    )
    with sync_context(account_id=account_id, tracking_id=claimed.tracking_id):
        try:
            # The entry is stored first, so the message can carry it: the create claims it unread.
            services.retry_queue.enqueue(message.with_written_entry(claimed), 0)
        except RetryQueueUnavailable:
            release(claimed, services)  # not queued: the next run must find the account unknown again
            raise StorageUnavailable("the retry queue is unavailable; the reconcile stopped") from None
        logger.info("reconcile: create queued")
    return True


def _claim(entry: LedgerEntry, services: Services) -> LedgerEntry | None:
    """The stored QUEUED claim, or None when another request holds the account.

    A claim whose answer is lost (the connection reset or timed out after the insert went out) may or may not
    be stored, and the table client never sends a POST again by itself (azure-core's RetryPolicy retries a
    read error only for the methods in its allowlist, which leaves out POST): seen on Azurite, whose 5-second
    keep-alive can close a pooled connection just as a request is written. One lost answer must not stop an
    initial load, so the insert is sent once more; should that conflict, the entry is read, and one holding
    this claim's retry token (new for every claim) is this insert's own, stored the first time. A second
    failure is storage being away: StorageUnavailable stops the run, as before."""
    try:
        return ledger_call(services.ledger.claim, entry)
    except LedgerConflict:
        return None
    except StorageUnavailable as lost:
        logger.warning("reconcile: the claim's answer was lost (%s); sending it once more", lost)
    time.sleep(LOST_ANSWER_PAUSE_SECONDS)
    try:
        return ledger_call(services.ledger.claim, entry)
    except LedgerConflict:
        stored = ledger_call(services.ledger.get, entry.account_id)
        if stored is not None and stored.status is LedgerStatus.QUEUED and stored.retry_token == entry.retry_token:
            return stored
        return None
