"""The one composition root: settings in, what an entry point needs out.

`bootstrap(entry, config, ...)` wires each entry point: the function app (function_app.py, through
`services()`), the operations command (`python -m admin`) and the on-premise agent (`python -m agent`,
its SAP gateway only). Its keyword parameters swap one part for a ready-made one (the ledger, the queue,
SAP, Salesforce, telemetry, the clock), as cosmicpython's `bootstrap(...)` does (cosmicpython/code,
src/allocation/bootstrap.py): tests and benchmarks override what they need, the defaults come from the
settings. This is the only module that reads the settings for the adapters and decides which adapter
stands behind each port; the adapters are handed their settings (pyproject.toml, "adapters receive their
settings") and nothing else imports them ("only the root picks adapters").

Adapters are imported inside the functions that build them, never at import, so a cold start pays only
for what the first request needs: importing this module loads the settings and nothing of the use cases,
the adapters or their SDKs (the first request does; bench/cold_start.py measures both,
tests/unit/test_cold_start_imports.py keeps it so), and the agent imports no storage, Salesforce, use
case or Azure package (tests/unit/test_bootstrap.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from shared.bootstrap.entry_points import EntryPoint as EntryPoint
from shared.bootstrap.sap import ManagedIdentity as ManagedIdentity
from shared.bootstrap.sap import build_sap_gateway as build_sap_gateway
from shared.bootstrap.sap import check_relay_settings
from shared.bootstrap.sap import stale_claim_window as stale_claim_window
from shared.settings import (
    PASSWORD_FLOW_DEPRECATED,
    SalesforceAuth,
    SapTransport,
    Settings,
    WriteBackMode,
    load_settings,
    load_simulator_faults,
    load_telemetry_settings,
    require_retry_queue_binding,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from datetime import datetime

    from shared.salesforce.port import AccountWriteBack, CustomerAccounts
    from shared.sap.port import SapGateway
    from shared.storage.port import Ledger, RetryQueue
    from shared.usecases import Services

logger = logging.getLogger(__name__)

# One lock for the first-use work: building the services, and the imports each trigger makes on its
# first run (functions/*.py, `with bootstrap.first_use():`). Two threads importing the same package
# at once can meet in its circular imports (shared.usecases' and shared.sap's __init__ import their
# own submodules) and one of them fails (importlib's _DeadlockError, or a name missing from a
# partially initialised module); under one lock the first requests import one at a time, later ones
# find everything in sys.modules.
_lock = threading.RLock()
_services: Services | None = None
_settings: Settings | None = None


class _FromSettings:
    def __repr__(self) -> str:
        return "FROM_SETTINGS"


FROM_SETTINGS: Any = _FromSettings()  # a part `bootstrap` builds from the settings (a part may be None)


@overload
def bootstrap(
    entry: Literal[EntryPoint.AGENT],
    config: Settings | None = None,
    *,
    sap: SapGateway | None = None,
    sap_pool_size: int | None = None,
) -> SapGateway: ...


@overload
def bootstrap(
    entry: Literal[EntryPoint.FUNCTION_APP, EntryPoint.OPERATIONS] = EntryPoint.FUNCTION_APP,
    config: Settings | None = None,
    *,
    sap: SapGateway | None = None,
    ledger: Ledger | None = None,
    retry_queue: RetryQueue | None = None,
    writeback: AccountWriteBack | None = FROM_SETTINGS,
    instrument: bool | None = None,
    clock: Callable[[], datetime] | None = None,
    sap_pool_size: int | None = None,
) -> Services: ...


def bootstrap(
    entry: EntryPoint = EntryPoint.FUNCTION_APP,
    config: Settings | None = None,
    *,
    sap: SapGateway | None = None,
    ledger: Ledger | None = None,
    retry_queue: RetryQueue | None = None,
    writeback: AccountWriteBack | None = FROM_SETTINGS,
    instrument: bool | None = None,
    clock: Callable[[], datetime] | None = None,
    sap_pool_size: int | None = None,
) -> Services | SapGateway:
    """What `entry` needs, from `config` (default: this process's settings, read once).

    The function app and the operations command get `Services`, the agent its `SapGateway`. Each keyword
    swaps one part: `sap`, `ledger`, `retry_queue`, `writeback` (None: no write-back by the function),
    `instrument` (spans and durations around SAP and the write-back; None: while telemetry is on, for the
    function app), `clock`; `sap_pool_size` overrides SAP_POOL_SIZE (the agent pools one connection per
    unit of work it may run at a time)."""
    config = settings() if config is None else config
    entry = EntryPoint(entry)
    if entry is EntryPoint.AGENT:
        return sap if sap is not None else build_sap_gateway(config, entry, pool_size=sap_pool_size)
    from shared.core.ownership import owned_fields
    from shared.usecases import Services

    app = entry is EntryPoint.FUNCTION_APP
    # The operations command: an operator waits at a terminal, so storage gets short timeouts and one retry.
    storage_options = {} if app else _command_client_options()
    if sap is None:
        sap = build_sap_gateway(config, entry, pool_size=sap_pool_size) if app else _no_sap()
    if ledger is None:
        ledger = _table_ledger(config, **storage_options)
    if retry_queue is None:
        retry_queue = _storage_retry_queue(config, **storage_options)
    if writeback is FROM_SETTINGS:
        writeback = _writeback(config)
    built = Services(
        sap=sap,
        ledger=ledger,
        retry_queue=retry_queue,
        organization=config.sap_organization,
        retry=config.retry,
        writeback=writeback,
        # The app's own window in the operations command too, so it calls abandoned exactly what the app would.
        stale_claim_after=stale_claim_window(config.sap_timeout_seconds),
        customer_types=config.salesforce.customer_types,
        guard_search_since=config.sap_guard_search_since,
        owned_fields=owned_fields(config.changes.owned_fields),
        change_conflict=config.changes.conflict_rule,
        **({"clock": clock} if clock is not None else {}),
    )
    if not app:
        return instrumented(built) if instrument else built
    if instrument is not False:
        built = instrumented(
            built, config.sap_transport.value if config.sap_transport else "none", force=bool(instrument)
        )
    logger.info(
        "services ready", extra={"sap_transport": config.sap_transport.value, "writeback": config.writeback.value}
    )
    if config.sap_guard_search_since is not None:
        # Said at every start, so the search's cost is never a surprise and the setting is not forgotten.
        logger.warning(
            "SAP_GUARD_SEARCH_SINCE=%s: the duplicate guard searches SAP before every create (the "
            "ledger may have lost writes since then); unset it once the accounts of that period have "
            "settled",
            config.sap_guard_search_since.isoformat(),
        )
    return built


def start_telemetry(role: str, environ: Mapping[str, str] | None = None) -> bool:
    """Switch telemetry on for this process ("function" or "agent") if its settings ask for it; True if on
    (shared/telemetry/exporter.py; the agent reads its own AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING)."""
    from shared.telemetry import exporter

    return exporter.start(role, load_telemetry_settings(environ, agent=role == EntryPoint.AGENT))


def _no_sap() -> SapGateway:
    from shared.sap.no_sap import NoSap

    return NoSap()


def _command_client_options() -> dict[str, Any]:
    from shared.storage.clients import COMMAND_CLIENT_OPTIONS

    return COMMAND_CLIENT_OPTIONS


def _table_ledger(config: Settings, **client_options: Any) -> Ledger:
    """The ledger on Azure Table storage (client_options: the operations command's shorter timeouts)."""
    from shared.storage.table_ledger import table_ledger_from_settings as table_ledger

    return table_ledger(config, **client_options)


def _storage_retry_queue(config: Settings, **client_options: Any) -> RetryQueue:
    """The retry queue on Azure Queue storage (client_options: the operations command's shorter timeouts)."""
    from shared.storage.queue import storage_retry_queue_from_settings as storage_retry_queue

    return storage_retry_queue(config, **client_options)


def _writeback(config: Settings) -> AccountWriteBack | None:
    if config.writeback is not WriteBackMode.FUNCTION:
        return None
    from shared.salesforce.simple_salesforce import writeback_from_settings

    return writeback_from_settings(config)


def customer_accounts(config: Settings) -> CustomerAccounts:
    """Salesforce's accounts to reconcile (`python -m admin reconcile`)."""
    from shared.salesforce.simple_salesforce import accounts_from_settings

    return accounts_from_settings(config)


def first_use() -> AbstractContextManager[bool]:
    """The lock the triggers hold while importing what their first run needs (see `_lock`)."""
    return _lock


def settings() -> Settings:
    """The validated settings of this process (read once)."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def check_start_settings() -> Settings:
    """Everything that can be checked without touching the network, at start: a missing or malformed
    setting stops the host with a message naming it, instead of failing the first request. Checks
    only: no adapter is built (that imports the adapters and their SDKs, the first request's cost)."""
    config = settings()
    from shared.storage.clients import require_storage_connection

    require_storage_connection(config)
    require_retry_queue_binding()
    if config.salesforce.auth is SalesforceAuth.PASSWORD:
        logger.warning(PASSWORD_FLOW_DEPRECATED)
    if config.sap_transport is SapTransport.SIMULATOR:
        from shared.sap.simulator_driver import import_simulator_module

        import_simulator_module().FaultPlan.parse(load_simulator_faults())
    elif config.sap_transport is SapTransport.RELAY:
        # load_settings has checked the relay's URL and its key pair; what building the transport
        # would add is only these notes, so they are made here and the transport waits for the first call.
        check_relay_settings(config)
    return config


def services() -> Services:
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = bootstrap(EntryPoint.FUNCTION_APP, settings())
                _freeze_what_the_start_made()
    return _services


_frozen = False


def _freeze_what_the_start_made() -> None:
    """Once per process, after the first request built the services: everything the start made (modules,
    SDK clients, reference data, the worker's own) moves to the collector's permanent generation.

    Those objects live as long as the process, yet every full collection walks them all again: about
    17 ms each with this app's 86,000 tracked objects (bench/README.md, "Overhead"), paid by whichever
    request happens to trigger it. `gc.freeze()` (Python 3.7+) takes them out of every later
    collection. Frozen objects are never collected, so a full collection runs first, once: cyclic
    garbage of the start (or of a build that failed before) is freed, not kept for good. What requests
    running at that moment hold is frozen with the rest and freed by reference counting when they end,
    unless it forms a cycle: a one-time, bounded cost."""
    global _frozen
    if not _frozen:
        import gc

        gc.collect()
        gc.freeze()
        _frozen = True


def reset() -> None:
    """Forget settings and adapters (tests that change the environment call this)."""
    override(None, None)


def override(services: Services | None, settings: Settings | None = None) -> None:
    """Install ready-made services (tests wire fakes or their own simulator this way)."""
    global _services, _settings
    with _lock:
        _services, _settings = services, settings


def instrumented(services: Services, transport: str = "", *, force: bool = False) -> Services:
    """`services` with spans and durations around the SAP and write-back ports and OpenTelemetry's
    metrics port, while telemetry is on (shared/telemetry) or `force`; unchanged otherwise."""
    from shared import telemetry

    if not (force or telemetry.enabled()):
        return services
    from dataclasses import replace

    from shared.instrumented import TimedWriteBack, TracedSapGateway

    if isinstance(services.sap, TracedSapGateway):
        return services
    metrics = telemetry.sync_metrics()
    return replace(
        services,
        metrics=metrics,
        sap=TracedSapGateway(services.sap, metrics, transport),
        writeback=TimedWriteBack(services.writeback, metrics) if services.writeback else None,
    )
