"""`python -m admin list` and `python -m admin sweep`: find accounts by state, and finish abandoned ones.

    list --status pending --older-than 10     claims older than ten minutes (a dead worker's?)
    list --status needs_review                accounts an operator must resolve
    sweep                                     queue a check for every abandoned claim and lost message
"""

from __future__ import annotations

import json
from datetime import timedelta

from admin import ExitCode
from admin.wiring import operations_services
from shared.core.ledger import LedgerStatus
from shared.settings import Settings
from shared.usecases import sweep_abandoned
from shared.usecases.sweep import abandoned

LIST_LIMIT = 1000


def list_accounts(settings: Settings, statuses: list[str] | None, older_than_minutes: int | None,
                  limit: int, as_json: bool) -> int:
    services = operations_services(settings)
    chosen = [LedgerStatus(status) for status in statuses] if statuses else list(LedgerStatus)
    before = services.clock() - timedelta(minutes=older_than_minutes) if older_than_minutes else None
    entries = services.ledger.find(chosen, before, limit)
    if as_json:
        print(json.dumps({"accounts": [entry.to_status_json() for entry in entries]}, indent=2))
        return ExitCode.DONE
    if not entries:
        print(f"No accounts with status {', '.join(s.value for s in chosen)}"
              + (f" unchanged for {older_than_minutes} minutes." if older_than_minutes else "."))
        return ExitCode.DONE
    print(f"{'account':18}  {'status':12}  {'customer':10}  {'attempts':>8}  {'updated (UTC)':25}  last error")
    for entry in entries:
        print(f"{entry.account_id:18}  {entry.status.value:12}  {entry.customer_number or '-':10}  "
              f"{entry.attempts:>8}  {entry.updated_at.isoformat(timespec='seconds'):25}  "
              f"{(entry.last_error or '-')[:80]}")
    if len(entries) >= limit:
        print(f"(the first {limit}; narrow the filter or raise --max)")
    return ExitCode.DONE


def sweep(settings: Settings, dry_run: bool) -> int:
    services = operations_services(settings)
    if dry_run:
        found = abandoned(services)
        for entry in found:
            print(f"{entry.account_id}  {entry.status.value}  updated {entry.updated_at.isoformat(timespec='seconds')}")
        print(f"{len(found)} abandoned account(s); run without --dry-run to queue their checks")
        return ExitCode.DONE
    report = sweep_abandoned(services)
    print(f"Queued a check for {len(report.checked)} abandoned account(s).")
    if report.without_request:
        print(f"{len(report.without_request)} abandoned account(s) hold no request to finish them with "
              f"(the next send from the flow does): {', '.join(report.without_request)}")
        return ExitCode.NOTHING_DONE
    return ExitCode.DONE
