"""The use cases: plain functions over the ports in `Services` (no transport, storage or HTTP detail).

create_customer          the HTTP path (create.py)
retry_create_customer    the queue path: a retry, check or write-back message (retry.py)
account_status           the ledger's entry for an account (status.py)
create_outcome           the create's answer as the ledger has it now: what a poll gets (status.py)
list_accounts            a page of ledger entries by status and time (listing.py)
resolve_needs_review     an operator's decision on an account held for review (status.py)
sweep_abandoned          finish dead workers' claims and lost messages (sweep.py)
"""

from shared.usecases.create import create_customer
from shared.usecases.listing import list_accounts, listing_json
from shared.usecases.retry import retry_create_customer
from shared.usecases.services import (
    CreateResult,
    Outcome,
    RetryOutcome,
    SapNotReady,
    Services,
    StorageUnavailable,
)
from shared.usecases.status import (
    CannotResolve,
    CustomerHeldByAnotherAccount,
    account_status,
    create_outcome,
    named_by_guard,
    resolve_needs_review,
)
from shared.usecases.sweep import SweepReport, sweep_abandoned

__all__ = [
    "CannotResolve",
    "CreateResult",
    "CustomerHeldByAnotherAccount",
    "Outcome",
    "RetryOutcome",
    "SapNotReady",
    "Services",
    "StorageUnavailable",
    "SweepReport",
    "account_status",
    "create_customer",
    "create_outcome",
    "list_accounts",
    "listing_json",
    "named_by_guard",
    "resolve_needs_review",
    "retry_create_customer",
    "sweep_abandoned",
]
