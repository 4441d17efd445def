"""The duplicate storm on S/4HANA: the product's own use cases (create, then the queue's retries) with the ledger
and queue fakes, and the Business Partner gateway over real HTTP to the S/4 double whose lines break before
requests and after committed POSTs. Each account is sent five times at once; at the end there is exactly one
Business Partner per account, carrying its Salesforce Id as external id, and nothing held for review."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from shared import bootstrap
from shared.bootstrap import EntryPoint
from shared.core.ledger import LedgerStatus
from shared.core.salesforce_id import checksum_suffix
from shared.core.validation import parse_customer_request
from shared.settings import load_settings
from shared.usecases import create_customer, retry_create_customer
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue
from tests.support.s4 import S4System, business_partner_gateway
from tests.support.samples import sample

ACCOUNTS = 100
SENDS_PER_ACCOUNT = 5


def account_id(number: int) -> str:
    id15 = f"001Dn0000S4{number:04d}"
    return id15 + checksum_suffix(id15)


def test_a_duplicate_storm_with_lines_breaking_around_the_posts_makes_exactly_one_partner_per_account(double):
    now = [datetime(2026, 12, 7, 9, 0, tzinfo=UTC)]
    services = bootstrap.bootstrap(
        EntryPoint.FUNCTION_APP,
        load_settings({"SAP_TRANSPORT": "simulator"}),
        sap=business_partner_gateway(double, pool_size=8),
        ledger=InMemoryLedger(),
        retry_queue=InMemoryRetryQueue(),
        writeback=None,
        instrument=False,
        clock=lambda: now[0],
    )
    double.faults.seed = 25
    double.faults.probabilities.update(cut_before=0.05, cut_after_commit=0.1)
    requests = [
        parse_customer_request({**sample("german-account"), "accountId": account_id(n)}) for n in range(ACCOUNTS)
    ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        sends = [
            pool.submit(create_customer, request, services) for request in requests for _ in range(SENDS_PER_ACCOUNT)
        ]
        for send in sends:
            send.result()  # every send is answered (created, queued, in progress), none raises

    overdue = timedelta(seconds=services.retry.max_delay_seconds) + 2 * services.stale_claim_after
    for _round in range(40):  # the queue trigger, past every backoff and staleness window each round
        messages = services.retry_queue.take_all()
        if not messages:
            break
        now[0] += overdue
        for message in messages:
            retry_create_customer(message, services)
    assert services.retry_queue.take_all() == [] and services.retry_queue.poison == []

    fired = double.faults.fired
    assert fired.get("cut_before", 0) > 0 and fired.get("cut_after_commit", 0) > 0
    partners = S4System(double).created_customers()
    assert sorted(p.external_id for p in partners) == sorted(r.account_id.upper() for r in requests)
    for request in requests:
        entry = services.ledger.get(request.account_id)
        assert entry is not None and entry.status is LedgerStatus.CREATED, (request.account_id, entry)
        [partner] = [p for p in partners if p.external_id == request.account_id.upper()]
        assert entry.customer_number == partner.number
