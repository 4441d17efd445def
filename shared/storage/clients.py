"""Storage service clients from the app settings, connected the same way the Functions host connects.

Two ways, as for the host's own `AzureWebJobsStorage`:
* a connection string (`AzureWebJobsStorage`, read into `settings.storage_connection`), including the
  `UseDevelopmentStorage=true` shortcut for Azurite;
* an identity-based connection: `AzureWebJobsStorage__tableServiceUri` / `__queueServiceUri` (or
  `__accountName`, from which the public-cloud URIs follow), `__credential=managedidentity` and
  `__clientId` for a user-assigned identity. The deployed app uses this: no account key anywhere.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, Any, Protocol

from shared.settings_error import SettingsError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

CONNECTION_SETTING = "AzureWebJobsStorage"


class RetryQueueSettings(Protocol):
    @property
    def queue_name(self) -> str: ...


class StorageIdentitySettings(Protocol):
    """The identity-based connection (AzureWebJobsStorage__*), read by the settings (shared.settings)."""

    @property
    def table_service_uri(self) -> str | None: ...

    @property
    def queue_service_uri(self) -> str | None: ...

    @property
    def credential(self) -> str | None: ...

    @property
    def client_id(self) -> str | None: ...


class StorageSettings(Protocol):
    """What the storage adapters are handed, not read: the composition root passes the app's settings
    (shared.settings.Settings has these fields), tests a `Settings(...)` of their own."""

    @property
    def storage_connection(self) -> str | None: ...  # AzureWebJobsStorage, None: identity-based

    @property
    def storage_identity(self) -> StorageIdentitySettings: ...

    @property
    def ledger_table_name(self) -> str: ...

    @property
    def retry(self) -> RetryQueueSettings: ...


# Azurite's built-in account; the key is public and opens only the local emulator.
_DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)

# The SDK defaults retry for minutes (queues back off 15 s, 18 s, 24 s; tables try 10 times). A caller
# waiting on the HTTP function needs a prompt 503 instead, so storage gets a few quick retries only.
TABLE_CLIENT_DEFAULTS: dict[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.4,
    "retry_backoff_max": 4,
    "connection_timeout": 5,
    "read_timeout": 20,
}
QUEUE_CLIENT_DEFAULTS: dict[str, Any] = {
    "connection_timeout": 5,
    "read_timeout": 20,
}
# Three quick retries, about 2.5 s in all like the table client's: the queue SDK's exponential policy
# (even with a small base) spends 15 s on a refused connection before a request can be answered 503.
_QUEUE_RETRY = {"retry_total": 3, "backoff": 0.8, "random_jitter_range": 0.3}

# Operations commands: an operator waits at a terminal, so storage that does not answer fails within a
# few seconds with one line (a refused connection at once), instead of the app's retries.
COMMAND_CLIENT_OPTIONS: dict[str, Any] = {"connection_timeout": 2, "read_timeout": 10, "retry_total": 1}

# Per-call options of a health probe: one try, short timeouts, so a probe answers in a few seconds.
PROBE_CALL_OPTIONS: dict[str, Any] = {"connection_timeout": 2, "read_timeout": 3, "retry_total": 0}

# Error codes of a table or queue that does not exist (storage restarted empty, or it was deleted).
_MISSING_CONTAINER_CODES = frozenset({"TableNotFound", "QueueNotFound"})


# The Python worker runs up to 32 invocations at once (PYTHON_THREADPOOL_THREAD_COUNT, which infra sets to
# host.json's batchSize + newBatchThreshold + 8: infra/app/api.bicep); with requests' default pool of 10
# connections the rest would open and drop a TCP connection per call.
_POOL_SIZE = 32


def _pooled_transport(connection_timeout: float, read_timeout: float) -> Any:
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    from shared.http_sessions import new_session

    session = new_session()  # the environment read once, not on every request (shared/http_sessions.py)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # A transport given to a client keeps its own timeouts, so they are set here, not as client options.
    return RequestsTransport(
        session=session, session_owner=False, connection_timeout=connection_timeout, read_timeout=read_timeout
    )


def is_storage_unavailable(error: Exception) -> bool:
    """Failures that mean "storage cannot be reached right now" rather than "the request was wrong".

    Authentication failures count: a managed-identity token endpoint that is down, or a role
    assignment still propagating, heal on their own, and the caller must not be told the data was bad.
    """
    # Imported here: the start-up settings check imports this module, and azure.core costs ~20 ms.
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(error, ServiceRequestError | ServiceResponseError | ClientAuthenticationError):
        return True
    if isinstance(error, HttpResponseError):
        status = error.status_code or 0
        return status >= 500 or status in (401, 403, 408, 429)
    return isinstance(error, OSError)


def storage_error_code(error: Exception) -> str | None:
    """The storage error code (x-ms-error-code), e.g. "TableNotFound"; the tables SDK leaves it out of
    some errors (a create_entity on a missing table), so the response header is read too."""
    code = getattr(error, "error_code", None)
    if code:
        return str(getattr(code, "value", code))
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        with contextlib.suppress(Exception):
            return headers.get("x-ms-error-code") or None
    return None


def is_missing_container(error: Exception) -> bool:
    """A 404 because the table or queue itself is missing (not an entity or message): create it, retry."""
    from azure.core.exceptions import ResourceNotFoundError

    return isinstance(error, ResourceNotFoundError) and storage_error_code(error) in _MISSING_CONTAINER_CODES


def describe_storage_error(error: BaseException) -> str:
    """One short line for a log or a terminal: the error's type and, for a refused or timed-out
    connection, why; never the SDK's multi-line text (request ids, URLs, full responses)."""
    kind = type(error).__name__
    code = storage_error_code(error) if isinstance(error, Exception) else None
    text = str(error).lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("connect call failed", "connection refused"),
        ("timed out", "timed out"),
        ("timeout", "timed out"),
        ("name or service not known", "unknown host"),
        ("reset by peer", "connection reset"),
        ("remote end closed", "connection closed"),
        ("connection aborted", "connection closed"),
    ):
        if needle in text:
            return f"{kind} ({reason})"
    if code:
        return f"{kind} ({code})"
    status = getattr(error, "status_code", None)
    return f"{kind} (HTTP {status})" if status else kind


def development_storage_connection_string() -> str:
    return _DEVELOPMENT_STORAGE


def _connection_string(settings: StorageSettings) -> str | None:
    text = settings.storage_connection
    if text is None:
        return None
    if text.replace(" ", "").rstrip(";").lower() == "usedevelopmentstorage=true":
        # Not every SDK expands the shortcut (azure-data-tables ignores the queue/blob parts), so do it here.
        return _DEVELOPMENT_STORAGE
    return text


def service_uri(service: str, settings: StorageSettings) -> str | None:
    """The identity-based endpoint for "table" or "queue", as the Functions host derives it (the settings
    take an explicit AzureWebJobsStorage__{service}ServiceUri, else derive it from __accountName)."""
    identity = settings.storage_identity
    return identity.table_service_uri if service == "table" else identity.queue_service_uri


@functools.cache
def _credential(kind: str | None, client_id: str | None) -> TokenCredential:
    # One credential per process, shared by table and queue clients, so tokens are fetched once.
    # Imported lazily: azure.identity costs start-up time that connection-string runs never need.
    if kind == "managedidentity":
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=client_id)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)


def identity_credential(settings: StorageSettings) -> TokenCredential:
    kind = settings.storage_identity.credential
    return _credential(kind.lower() if kind else None, settings.storage_identity.client_id)


def require_storage_connection(settings: StorageSettings) -> None:
    """SettingsError unless a connection string or identity-based endpoints are configured."""
    if _connection_string(settings) is None and (
        service_uri("table", settings) is None or service_uri("queue", settings) is None
    ):
        raise _missing_connection()


def _missing_connection() -> SettingsError:
    return SettingsError(
        f"{CONNECTION_SETTING}: required (a storage connection string, UseDevelopmentStorage=true for Azurite, "
        f"or an identity-based connection via {CONNECTION_SETTING}__accountName / __tableServiceUri / "
        "__queueServiceUri)"
    )


def table_service_client(settings: StorageSettings, **client_options: Any) -> TableServiceClient:
    from azure.data.tables import TableServiceClient

    options = {**TABLE_CLIENT_DEFAULTS, **client_options}
    return _service_client(TableServiceClient, "table", "endpoint", settings, options)


def queue_service_client(settings: StorageSettings, **client_options: Any) -> QueueServiceClient:
    from azure.storage.queue import LinearRetry, QueueServiceClient

    retry = {
        **_QUEUE_RETRY,
        **({"retry_total": client_options.pop("retry_total")} if "retry_total" in client_options else {}),
    }
    options = {**QUEUE_CLIENT_DEFAULTS, "retry_policy": LinearRetry(**retry), **client_options}
    return _service_client(QueueServiceClient, "queue", "account_url", settings, options)


def _service_client(
    client_class: Any, service: str, endpoint_keyword: str, settings: StorageSettings, options: dict[str, Any]
) -> Any:
    """The table's or the queue's service client, on the pooled transport unless one is given: from the
    connection string, else from the identity-based endpoint (the table SDK names it `endpoint`, the queue SDK
    `account_url`) with the configured credential."""
    options.setdefault("transport", _pooled_transport(options["connection_timeout"], options["read_timeout"]))
    connection = _connection_string(settings)
    if connection is not None:
        return client_class.from_connection_string(connection, **options)
    endpoint = service_uri(service, settings)
    if endpoint is None:
        raise _missing_connection()
    return client_class(**{endpoint_keyword: endpoint}, credential=identity_credential(settings), **options)
