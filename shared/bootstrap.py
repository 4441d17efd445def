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
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, overload

from shared.settings import (
    PASSWORD_FLOW_DEPRECATED,
    SalesforceAuth,
    SapTransport,
    Settings,
    SettingsError,
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

    from azure.core.credentials import AccessToken

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


class EntryPoint(StrEnum):
    """Who is being wired; each entry point needs its own part of the product."""

    FUNCTION_APP = "function"  # function_app.py: every port, SAP by SAP_TRANSPORT, spans while telemetry is on
    OPERATIONS = "admin"  # python -m admin: the ledger, the queue, Salesforce; never SAP; short storage timeouts
    AGENT = "agent"  # python -m agent: its SAP gateway only (rfc or simulator, never the relay)


class _FromSettings:
    def __repr__(self) -> str:
        return "FROM_SETTINGS"


FROM_SETTINGS: Any = _FromSettings()  # a part `bootstrap` builds from the settings (a part may be None)


@overload
def bootstrap(entry: Literal[EntryPoint.AGENT], config: Settings | None = None, *, sap: SapGateway | None = None,
              sap_pool_size: int | None = None) -> SapGateway: ...


@overload
def bootstrap(entry: Literal[EntryPoint.FUNCTION_APP, EntryPoint.OPERATIONS] = EntryPoint.FUNCTION_APP,
              config: Settings | None = None, *, sap: SapGateway | None = None, ledger: Ledger | None = None,
              retry_queue: RetryQueue | None = None, writeback: AccountWriteBack | None = FROM_SETTINGS,
              instrument: bool | None = None, clock: Callable[[], datetime] | None = None,
              sap_pool_size: int | None = None) -> Services: ...


def bootstrap(entry: EntryPoint = EntryPoint.FUNCTION_APP, config: Settings | None = None, *,
              sap: SapGateway | None = None, ledger: Ledger | None = None, retry_queue: RetryQueue | None = None,
              writeback: AccountWriteBack | None = FROM_SETTINGS, instrument: bool | None = None,
              clock: Callable[[], datetime] | None = None, sap_pool_size: int | None = None) -> Services | SapGateway:
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
        organisation=config.sap_organisation,
        retry=config.retry,
        writeback=writeback,
        # The app's own window in the operations command too, so it calls abandoned exactly what the app would.
        stale_claim_after=stale_claim_window(config.sap_timeout_seconds),
        customer_types=config.salesforce.customer_types,
        guard_search_since=config.sap_guard_search_since,
        **({"clock": clock} if clock is not None else {}),
    )
    if not app:
        return instrumented(built) if instrument else built
    if instrument is not False:
        built = instrumented(built, config.sap_transport.value if config.sap_transport else "none",
                             force=bool(instrument))
    logger.info("services ready", extra={"sap_transport": config.sap_transport.value,
                                         "writeback": config.writeback.value})
    if config.sap_guard_search_since is not None:
        # Said at every start, so the search's cost is never a surprise and the setting is not forgotten.
        logger.warning("SAP_GUARD_SEARCH_SINCE=%s: the duplicate guard searches SAP before every create (the "
                       "ledger may have lost writes since then); unset it once the accounts of that period have "
                       "settled", config.sap_guard_search_since.isoformat())
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
        _check_relay_settings(config)
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


# In the app, the SAP adapter's per-call record is DEBUG: each outcome has its own record at INFO (created,
# rejected, held, queued: shared/usecases/attempts.py) and the dependency span times the call. One record
# fewer per sync, each ingested and billed by Application Insights. The agent keeps its INFO line.
_SAP_CALL_LOG_LEVEL = {EntryPoint.FUNCTION_APP: logging.DEBUG, EntryPoint.AGENT: logging.INFO}


def build_sap_gateway(config: Settings, entry: EntryPoint = EntryPoint.FUNCTION_APP, *,
                      pool_size: int | None = None) -> SapGateway:
    """The SAP gateway SAP_TRANSPORT names, with `pool_size` pooled RFC connections (default SAP_POOL_SIZE;
    0: a logon per unit of work). The agent's is the rfc adapter on pyrfc or on the simulator, never the
    relay (it is the relay's other end)."""
    from shared.sap.rfc import RfcSapGateway

    agent = entry is EntryPoint.AGENT
    pool_size = config.sap_pool_size if pool_size is None else pool_size
    if config.sap_transport is SapTransport.SIMULATOR:
        from shared.sap.simulator_driver import import_simulator_module

        simulator = import_simulator_module()
        system = simulator.configure_default_system_from_environment()
        if agent:
            state_file = getattr(system, "state_file", None)
            logging.getLogger("agent").info(
                "SAP: the simulator, its database %s", f"in {state_file} (shared with every process that names "
                "it)" if state_file else "in this process's memory (gone when the agent stops)")
        return RfcSapGateway(config.sap_connection.parameters, rfc_module=simulator,
                             timeout_seconds=config.sap_timeout_seconds,
                             no_match_messages=config.sap_find_no_match_messages or simulator.NO_MATCH_MESSAGES,
                             pool_size=pool_size, call_log_level=_SAP_CALL_LOG_LEVEL[entry])
    if config.sap_transport is SapTransport.RFC:
        if not config.sap_find_no_match_messages and not agent:
            logger.warning("SAP_FIND_NO_MATCH_MESSAGE is not set: an account whose create outcome is unknown "
                           "will be held for review instead of searched (see docs/sap.md)")
        return RfcSapGateway(config.sap_connection.parameters, rfc_module=None,
                             timeout_seconds=config.sap_timeout_seconds,
                             no_match_messages=config.sap_find_no_match_messages,
                             pool_size=pool_size, call_log_level=_SAP_CALL_LOG_LEVEL[entry])
    if agent:
        raise SettingsError("SAP_TRANSPORT: the agent talks to SAP itself: rfc or simulator, not relay")
    from shared.sap.relay import RELAY_RESPONSE_LIMIT_SECONDS, RelaySapGateway

    relay_url = _check_relay_settings(config)
    # Wait for the relay's own answer: the agent answers every request within its deadline (agent/api.py,
    # under the relay's 60 s) or the relay answers 504, so no unit of the agent is still running when this
    # attempt gives up, whatever SAP_TIMEOUT_SECONDS either side has.
    read_timeout = RELAY_RESPONSE_LIMIT_SECONDS + 5
    if stale_claim_window(config.sap_timeout_seconds).total_seconds() < read_timeout:
        # The agent may run a unit up to its answer deadline (50 s) after the request arrived: a claim
        # taken over sooner (its worker died) could start a second unit beside it.
        logger.warning("SAP_TIMEOUT_SECONDS=%g makes the claim window %d s, shorter than the relay's answer "
                       "limit: a claim of a worker that died may be taken over while the agent still runs its "
                       "unit; keep SAP_TIMEOUT_SECONDS at 12 or more with relay (local tests excepted)",
                       config.sap_timeout_seconds, stale_claim_window(config.sap_timeout_seconds).total_seconds())
    return RelaySapGateway(relay_url, config.sap_relay_key_name, config.sap_relay_key,
                           credential=None if config.sap_relay_key else ManagedIdentity(config.sap_relay_client_id),
                           proof_key=config.sap_agent_proof_key,
                           base_url=config.sap_relay_base_url, read_timeout_seconds=read_timeout)


def _check_relay_settings(config: Settings) -> str:
    """The relay transport's URL, and what its settings mean for the logs: at start and when built."""
    if not config.sap_relay_url:
        raise SettingsError("SAP_RELAY_URL: required when SAP_TRANSPORT=relay")
    if not config.sap_relay_key:
        logger.info("relay: sending with the managed identity (Entra token for the Azure Relay Sender role)")
    if not config.sap_agent_proof_key:
        logger.warning("SAP_AGENT_PROOF_KEY is not set: requests carry no proof for the agent, which refuses "
                       "them unless it runs with AGENT_PROOF=off (see agent/README.md)")
    return config.sap_relay_url


class ManagedIdentity:
    """The function app's managed identity for the relay's Entra token (`client_id`: a user-assigned
    identity's AZURE_CLIENT_ID; none: the system-assigned one, or locally the developer's az login):
    azure-identity's DefaultAzureCredential, imported on the first token, not with function_app (cold
    start is measured by scripts/bench)."""

    def __init__(self, client_id: str | None = None) -> None:
        self.client_id = client_id
        self._credential: Any = None

    def get_token(self, *scopes: str, **options: Any) -> AccessToken:
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential(managed_identity_client_id=self.client_id)
        return self._credential.get_token(*scopes, **options)


def stale_claim_window(sap_timeout_seconds: float) -> timedelta:
    """A claim is stale once the SAP unit it guards must have ended (the gateway's own bound on one
    unit), plus a little for the ledger write that follows."""
    from shared.sap.rfc import RfcSapGateway

    return timedelta(seconds=max(10.0, RfcSapGateway.longest_unit_seconds(sap_timeout_seconds) + 5))


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
    return replace(services, metrics=metrics, sap=TracedSapGateway(services.sap, metrics, transport),
                   writeback=TimedWriteBack(services.writeback, metrics) if services.writeback else None)
