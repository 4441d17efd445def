"""The ledger as a log: accounts by status and time, a page at a time (GET /api/customers, `admin list`)."""

from __future__ import annotations

from shared.core.listing import LedgerPage, ListingQuery
from shared.storage.port import Ledger
from shared.usecases.services import ledger_call


def list_accounts(query: ListingQuery, ledger: Ledger) -> LedgerPage:
    """One page of ledger entries for the query (only the ledger: a listing needs no SAP connection).
    Raises StorageUnavailable, and InvalidContinuation for a token the ledger did not hand out."""
    return ledger_call(ledger.list_entries, query)


def listing_json(page: LedgerPage) -> dict[str, object]:
    """The page as GET /api/customers and `admin list --json` show it."""
    body: dict[str, object] = {
        "accounts": [entry.to_status_json() for entry in page.entries],
        "count": len(page.entries),
    }
    if page.continuation is not None:
        body["continuationToken"] = page.continuation
    return body
