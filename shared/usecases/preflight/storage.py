"""The go-live check's storage area: the ledger table and the retry queue answer with the configured
connection or identity, and nothing is parked in the poison queue.

    check_storage(ledger, retry_queue, parked, ledger_table)   the area's results

Reads only: the ports' probes (a point read of a row that never exists, the queue's properties; a table or
queue that does not exist yet answers too, the app creates it on first use) and the poison queue's
approximate depth (`parked`, which creates nothing). The operations command hands in its own storage clients
(shared.bootstrap, EntryPoint.OPERATIONS): short timeouts and no retries, so storage that is down fails this
area within seconds and the other areas still run.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.core.preflight import Area, CheckResult, failed, passed, skipped
from shared.storage.port import Ledger, LedgerUnavailable, RetryQueue, RetryQueueUnavailable

_AREA = Area.STORAGE
_NETWORK_MARKS = ("connection refused", "timed out", "unknown host", "connection reset", "connection closed")
_ACCESS_MARKS = ("authorization", "authentication", "http 401", "http 403", "clientauthenticationerror")


def check_storage(
    ledger: Ledger, retry_queue: RetryQueue, parked: Callable[[], int], ledger_table: str, queue_name: str
) -> list[CheckResult]:
    results = [
        _probe("ledger_table", f"the ledger table {ledger_table} answers", ledger.probe),
        _probe("retry_queue", f"the retry queue {queue_name} answers", retry_queue.probe),
    ]
    poison_title = f"nothing is parked in the poison queue {queue_name}-poison"
    if results[1].failed:
        results.append(skipped(_AREA, "poison_queue", poison_title, "not reached: the retry queue did not answer"))
        return results
    try:
        depth = parked()
    except RetryQueueUnavailable as error:
        results.append(failed(_AREA, "poison_queue", poison_title, str(error), storage_fix(str(error))))
        return results
    if depth == 0:
        results.append(passed(_AREA, "poison_queue", poison_title, "empty"))
    else:
        results.append(
            failed(
                _AREA,
                "poison_queue",
                poison_title,
                f"about {depth} message(s) parked: creates that ran out of attempts, their accounts not synced",
                "see them with `python -m admin poison list`, fix their cause, then `python -m admin "
                "poison replay --all` (docs/operations.md, Repairing)",
            )
        )
    return results


def _probe(check: str, title: str, probe: Callable[[], None]) -> CheckResult:
    try:
        probe()
    except (LedgerUnavailable, RetryQueueUnavailable) as error:
        return failed(_AREA, check, title, str(error), storage_fix(str(error)))
    return passed(_AREA, check, title, "it answered with the configured connection")


def storage_fix(found: str) -> str:
    """The fix for a storage failure, by what the adapter said (its one-line description, shared/storage/
    clients.py describe_storage_error): the network, the identity's rights, or else both to check."""
    text = found.lower()
    network = (
        "check that this machine reaches the storage account: AzureWebJobsStorage (or "
        "AzureWebJobsStorage__accountName / __tableServiceUri / __queueServiceUri) names the right account "
        "and endpoints, and its firewall or private endpoint lets this machine in; locally, that Azurite "
        "runs on the ports the connection string names (scripts/run starts it)"
    )
    access = (
        "give the identity that runs this (the app's managed identity in Azure, your `az login` in Cloud "
        "Shell) the roles Storage Table Data Contributor and Storage Queue Data Contributor on the account, "
        "or check the account key in AzureWebJobsStorage"
    )
    if any(mark in text for mark in _NETWORK_MARKS):
        return network
    if any(mark in text for mark in _ACCESS_MARKS):
        return access
    return f"{network}; or {access}"
