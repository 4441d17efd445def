"""When the duplicate guard searches SAP before a create, and for customers created since when (pure; the
use cases apply it in shared.usecases.attempts.with_guard, the gateway searches: shared/sap/rfc_guard.py).

The ledger is the memory of every create. Two things can make it forget one:

* an earlier attempt of this account reached SAP and its answer was lost: the entry says so
  (`outcome_unknown`) and the guard searches for customers created since the account was first seen;
* the ledger itself lost entries (restored from a backup, moved to a new storage account, a local
  emulator killed before it saved): an account it no longer knows looks new, and an entry it kept may
  be older than what happened to the account since. Nothing in the ledger can tell such an account
  from a new one, so while `SAP_GUARD_SEARCH_SINCE` is set (the moment from which the ledger may have
  lost writes) the guard searches before EVERY create, for customers created since that moment.

Why a moment and not an unbounded "search always": every create of the product after that moment is
what may be forgotten; customers created before it are remembered (the backup holds them) or were made
by someone else, and a customer with the same name and address made by another user since the window
opened holds the account for review (fail closed). An unbounded window would hold every account whose
customer an older migration or a person made long ago.

    outcome unknown   SAP_GUARD_SEARCH_SINCE   the guard searches for customers created since
    no                unset                    (no search)
    yes               unset                    the account's first sight (entry.created_at)
    no                set                      the setting
    yes               set                      the earlier of the two
"""

from __future__ import annotations

from datetime import datetime


def guard_search_since(
    first_seen: datetime, outcome_unknown: bool, ledger_may_miss_since: datetime | None
) -> datetime | None:
    """The moment from which the guard looks for a customer an earlier create made; None: no search.

    `first_seen`: when the ledger first saw the account (its entry's created_at); `outcome_unknown`: an
    earlier attempt may have reached SAP; `ledger_may_miss_since`: SAP_GUARD_SEARCH_SINCE."""
    since = first_seen if outcome_unknown else None
    if ledger_may_miss_since is not None:
        since = ledger_may_miss_since if since is None else min(since, ledger_may_miss_since)
    return since
