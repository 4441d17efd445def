"""The deep health check: SAP, storage and Salesforce, each with its status and latency, in bounded time.

    check_dependencies(services)   every dependency at once (GET /api/health/deep)
    check_sap(gateway)             SAP alone, through the configured transport (GET /api/health/sap)

Each check runs on a thread of its own and is waited for at most `timeout_seconds` (all of them
together, since they run at once), so the answer comes in bounded time even when a dependency hangs:
a check still running then is reported failed ("no answer within ...") and finishes in the background.
What a check reports is safe to show: error class names, SAP texts with the SAP system's address masked
(`describe`), storage errors in one line without URLs, OAuth error codes; never a setting's value.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum

from shared.salesforce.port import AccountWriteBack, SalesforceError
from shared.sap import SapError, SapGateway
from shared.storage.port import Ledger, LedgerUnavailable, RetryQueue, RetryQueueUnavailable
from shared.usecases.services import Services, describe

logger = logging.getLogger(__name__)

# How long the deep check waits for its dependencies (all at once): a load balancer's or an operator's
# probe must answer well within its own timeout (Azure Monitor's standard test waits 30 s at most).
DEPENDENCY_TIMEOUT_SECONDS = 8.0

# Checks that hang keep their thread until they end; a small pool bounds how many a burst of probes can
# pile up (a probe beyond that waits its turn and is reported as timed out, never blocks the answer).
_POOL_SIZE = 8
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class CheckStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    NOT_CONFIGURED = "not_configured"  # the app does not use it (e.g. write-back off): nothing to check


@dataclass(frozen=True)
class DependencyHealth:
    status: CheckStatus
    ms: float
    error: str | None = None  # the error's class name, e.g. SapTransientError
    detail: str | None = None  # what went wrong, safe to show
    parts: dict[str, DependencyHealth] = field(default_factory=dict)  # storage: ledger and retry queue

    @property
    def ok(self) -> bool:
        return self.status is not CheckStatus.FAILED

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"status": self.status.value, "ok": self.ok, "ms": self.ms}
        if self.error is not None:
            body["error"] = self.error
        if self.detail is not None:
            body["detail"] = self.detail
        body.update({name: part.to_json() for name, part in self.parts.items()})
        return body


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, DependencyHealth]

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check.ok]

    @property
    def healthy(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, object]:
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "failed": self.failed,
            "checks": {name: check.to_json() for name, check in self.checks.items()},
        }


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="health-check")
        return _pool


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def check_sap(gateway: SapGateway) -> DependencyHealth:
    """RFC_PING through the configured transport, then the metadata self-check (every function,
    parameter and field we send exists in this system; once per process, then from memory). On the
    relay transport a 502/503 from the relay is "no SAP agent listening" (shared/sap/relay.py)."""
    started = time.perf_counter()
    try:
        gateway.ping()
        gateway.check_interface()
    except SapError as error:
        return DependencyHealth(CheckStatus.FAILED, _elapsed_ms(started), type(error).__name__, describe(error))
    except Exception as error:  # a health check reports; it never fails itself
        logger.exception("SAP health check failed unexpectedly")
        return DependencyHealth(CheckStatus.FAILED, _elapsed_ms(started), type(error).__name__)
    return DependencyHealth(CheckStatus.OK, _elapsed_ms(started))


def check_ledger(ledger: Ledger) -> DependencyHealth:
    return _probe(ledger.probe, (LedgerUnavailable,))


def check_retry_queue(queue: RetryQueue) -> DependencyHealth:
    return _probe(queue.probe, (RetryQueueUnavailable,))


def _probe(probe: Callable[[], None], expected: tuple[type[Exception], ...]) -> DependencyHealth:
    started = time.perf_counter()
    try:
        probe()
    except expected as error:  # messages of the storage adapters are one line, without URLs or keys
        return DependencyHealth(CheckStatus.FAILED, _elapsed_ms(started), type(error).__name__, str(error))
    except Exception as error:
        logger.exception("storage probe failed unexpectedly")
        return DependencyHealth(CheckStatus.FAILED, _elapsed_ms(started), type(error).__name__)
    return DependencyHealth(CheckStatus.OK, _elapsed_ms(started))


def check_salesforce(writeback: AccountWriteBack | None) -> DependencyHealth:
    """A real login with the configured OAuth flow and one call on the new session; "not configured"
    when the function app does not write back (SALESFORCE_WRITEBACK is flow or off)."""
    if writeback is None:
        return DependencyHealth(CheckStatus.NOT_CONFIGURED, 0.0)
    started = time.perf_counter()
    try:
        writeback.check_login()
    except SalesforceError as error:  # the adapter's messages carry OAuth codes and statuses, never tokens
        return DependencyHealth(CheckStatus.FAILED, _elapsed_ms(started), type(error).__name__, str(error))
    except Exception as error:
        logger.exception("Salesforce health check failed unexpectedly")
        return DependencyHealth(CheckStatus.FAILED, _elapsed_ms(started), type(error).__name__)
    return DependencyHealth(CheckStatus.OK, _elapsed_ms(started))


def _timed_out(timeout_seconds: float) -> DependencyHealth:
    return DependencyHealth(
        CheckStatus.FAILED, round(timeout_seconds * 1000, 1), "Timeout", f"no answer within {timeout_seconds:g} s"
    )


def run_checks(
    checks: dict[str, Callable[[], DependencyHealth]], timeout_seconds: float = DEPENDENCY_TIMEOUT_SECONDS
) -> dict[str, DependencyHealth]:
    """Run the checks at once; each that has not answered when `timeout_seconds` are up is failed."""
    futures: dict[str, Future[DependencyHealth]] = {name: _executor().submit(check) for name, check in checks.items()}
    wait(futures.values(), timeout=timeout_seconds)
    results: dict[str, DependencyHealth] = {}
    for name, future in futures.items():
        if future.done():
            results[name] = future.result()  # the checks catch their own errors
        else:
            logger.warning("health check %s gave no answer within %s s", name, timeout_seconds)
            results[name] = _timed_out(timeout_seconds)
    return results


def check_dependencies(services: Services, timeout_seconds: float = DEPENDENCY_TIMEOUT_SECONDS) -> HealthReport:
    """SAP, storage (the ledger table and the retry queue) and Salesforce, at once."""
    results = run_checks(
        {
            "sap": lambda: check_sap(services.sap),
            "ledger": lambda: check_ledger(services.ledger),
            "retryQueue": lambda: check_retry_queue(services.retry_queue),
            "salesforce": lambda: check_salesforce(services.writeback),
        },
        timeout_seconds,
    )
    ledger, queue = results.pop("ledger"), results.pop("retryQueue")
    storage_ok = ledger.ok and queue.ok
    failed = ledger if not ledger.ok else queue
    storage = DependencyHealth(
        CheckStatus.OK if storage_ok else CheckStatus.FAILED,
        max(ledger.ms, queue.ms),
        None if storage_ok else failed.error,
        None if storage_ok else failed.detail,
        parts={"ledger": ledger, "retryQueue": queue},
    )
    report = HealthReport({"sap": results["sap"], "storage": storage, "salesforce": results["salesforce"]})
    if not report.healthy:
        logger.warning("deep health: %s failed", ", ".join(report.failed))
    return report
