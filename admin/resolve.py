"""`python -m admin resolve`: an operator's decision on an account the duplicate guard held for review.

The guard holds an account (status needs_review) when an earlier attempt may have created the SAP
customer and it cannot tell which: several matching customers, or a search that failed. Check in
SAP (XD03 / BAPI_CUSTOMER_GETDETAIL2, the candidates are in `lastError`), then either name the
customer that is the account's (`--customer`), or say that none is and let it be created (`--create`).

`--customer` refuses (exit 2) a number the ledger holds for another account, and warns for one the guard
did not name. `--create` rejects the guard's candidates for good: a later search (should the create's
outcome be unknown again) leaves them out and starts at the resolve.
"""

from __future__ import annotations

import sys

from admin import ExitCode
from shared.bootstrap import EntryPoint, bootstrap
from shared.core.ledger import LedgerStatus
from shared.core.salesforce_id import InvalidSalesforceId, normalize_account_id
from shared.settings import Settings
from shared.usecases import (
    CannotResolve,
    CustomerHeldByAnotherAccount,
    account_status,
    named_by_guard,
    resolve_needs_review,
)


def resolve(settings: Settings, raw_account_id: str, customer_number: str | None, create: bool, confirm: bool) -> int:
    try:
        account_id = normalize_account_id(raw_account_id)
    except InvalidSalesforceId as error:
        print(f"error: ACCOUNT_ID: {error}", file=sys.stderr)
        return ExitCode.USAGE
    if confirm and (sys.stdin is None or not sys.stdin.isatty()):
        print("error: stdin is not a terminal, so nobody can confirm: add --yes", file=sys.stderr)
        return ExitCode.USAGE
    if confirm and not _confirmed(account_id, customer_number):
        print("nothing changed")
        return ExitCode.NOTHING_DONE
    services = bootstrap(EntryPoint.OPERATIONS, settings)
    held = account_status(account_id, services.ledger) if customer_number is not None else None
    try:
        entry = resolve_needs_review(account_id, services, customer_number=customer_number, create=create)
    except CustomerHeldByAnotherAccount as problem:
        # Not this account's to take: a wrong number, or a decision on the other account first.
        print(f"error: --customer: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    except CannotResolve as problem:
        print(f"error: {problem}", file=sys.stderr)
        return ExitCode.NOTHING_DONE
    if held is not None and customer_number is not None and not named_by_guard(held, customer_number):
        print(
            f"warning: SAP customer {entry.customer_number} was not one of the duplicate guard's candidates "
            f"for {account_id} ({', '.join(held.review_candidates) or 'see its lastError'}); recorded as "
            "the operator said",
            file=sys.stderr,
        )
    if entry.status is LedgerStatus.CREATED:
        print(f"{account_id}: SAP customer {entry.customer_number} recorded (write-back: {entry.writeback.value})")
    else:
        print(
            f"{account_id}: queued for creation; the function app's queue trigger creates it "
            f"(follow with: python -m admin status {account_id})"
        )
    return ExitCode.DONE


def _confirmed(account_id: str, customer_number: str | None) -> bool:
    what = f"record SAP customer {customer_number} for" if customer_number else "create a new SAP customer for"
    return input(f"{what} {account_id}? [y/N] ").strip().lower() in ("y", "yes")
