"""`python -m admin list` and `python -m admin sweep`: find accounts by state, and finish abandoned ones.

list --status pending --older-than 10     claims older than ten minutes (a dead worker's?)
list --status needs_review                accounts an operator must resolve
list --since 2026-05-01                   everything changed since (the sync log)
sweep                                     queue a check for every abandoned claim and lost message
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from admin import ExitCode
from shared.bootstrap import EntryPoint, bootstrap
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.listing import MAX_PAGE_SIZE, ListingQuery
from shared.settings import Settings
from shared.usecases import list_accounts as list_ledger
from shared.usecases import sweep_abandoned
from shared.usecases.sweep import abandoned, abandoned_writebacks


def list_accounts(
    settings: Settings,
    statuses: list[str] | None,
    older_than_minutes: int | None,
    limit: int,
    as_json: bool,
    *,
    since: datetime | None = None,
    continuation: str | None = None,
) -> int:
    """Up to `limit` ledger entries, following the ledger's pages; the token to go on with when more
    remain (the same listing as GET /api/customers)."""
    services = bootstrap(EntryPoint.OPERATIONS, settings)
    chosen = tuple(LedgerStatus(status) for status in statuses) if statuses else tuple(LedgerStatus)
    before = services.clock() - timedelta(minutes=older_than_minutes) if older_than_minutes else None
    entries: list[LedgerEntry] = []
    token = continuation
    while len(entries) < limit:
        # Each page asks for what is still wanted, so the token always points right after the last shown.
        page = list_ledger(
            ListingQuery(chosen, since, before, min(limit - len(entries), MAX_PAGE_SIZE), token), services.ledger
        )
        entries.extend(page.entries)
        token = page.continuation
        if token is None:
            break
    if as_json:
        body: dict[str, object] = {"accounts": [entry.to_status_json() for entry in entries]}
        if token is not None:
            body["continuationToken"] = token
        print(json.dumps(body, indent=2))
        return ExitCode.DONE
    if not entries:
        print(
            f"No accounts with status {', '.join(s.value for s in chosen)}"
            + (f" changed since {since.isoformat()}" if since else "")
            + (f" unchanged for {older_than_minutes} minutes." if older_than_minutes else ".")
        )
    else:
        print(f"{'account':18}  {'status':12}  {'customer':10}  {'attempts':>8}  {'updated (UTC)':25}  last error")
        for entry in entries:
            print(
                f"{entry.account_id:18}  {entry.status.value:12}  {entry.customer_number or '-':10}  "
                f"{entry.attempts:>8}  {entry.updated_at.isoformat(timespec='seconds'):25}  "
                f"{(entry.last_error or '-')[:80]}"
            )
    if token is not None:
        print(f"(the first {len(entries)}; more may follow: add --continue {token})")
    return ExitCode.DONE


def sweep(settings: Settings, dry_run: bool) -> int:
    services = bootstrap(EntryPoint.OPERATIONS, settings)
    if dry_run:
        found = abandoned(services)
        for entry in found:
            print(f"{entry.account_id}  {entry.status.value}  updated {entry.updated_at.isoformat(timespec='seconds')}")
        writebacks = abandoned_writebacks(services)
        for entry in writebacks:
            print(
                f"{entry.account_id}  created, write-back pending  "
                f"updated {entry.updated_at.isoformat(timespec='seconds')}"
            )
        print(
            f"{len(found)} abandoned account(s), {len(writebacks)} abandoned write-back(s); "
            "run without --dry-run to queue their checks and write-backs"
        )
        return ExitCode.DONE
    report = sweep_abandoned(services)
    print(f"Queued a check for {len(report.checked)} abandoned account(s).")
    if report.writebacks:
        print(f"Queued the Salesforce write-back again for {len(report.writebacks)} created account(s).")
    if report.without_request:
        print(
            f"{len(report.without_request)} abandoned account(s) hold no request to finish them with "
            f"(the next send from the flow does): {', '.join(report.without_request)}"
        )
        return ExitCode.NOTHING_DONE
    return ExitCode.DONE
