"""The ledger on Azure Table storage: one entity per Salesforce account, ETags for concurrency, and one
reverse entry per SAP customer number. Where each row lives and how an entry becomes an entity (and back)
is shared/storage/table_ledger_entity.py; this module makes the storage calls."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.core.guard import customer_key
from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.listing import LedgerPage, ListingQuery
from shared.storage.clients import (
    PROBE_CALL_OPTIONS,
    describe_storage_error,
    is_missing_container,
    is_storage_unavailable,
    table_service_client,
)
from shared.storage.port import InvalidContinuation, Ledger, LedgerConflict, LedgerUnavailable
from shared.storage.table_ledger_entity import (
    CUSTOMER_PARTITION,
    MAX_ERROR_LENGTH,
    ROW_KEY,
    decode_continuation,
    encode_continuation,
    filter_time,
    from_entity,
    plain_utc,
    to_entity,
)

if TYPE_CHECKING:
    from shared.storage.clients import StorageSettings

logger = logging.getLogger(__name__)

_Result = TypeVar("_Result")

# One listing page asks the table service at most this often: a filter that matches little of a large
# table makes the service answer short (even empty) pages with a continuation (it stops at partition
# boundaries and after 5 s of work); the caller then gets a short page and the token to go on from.
_LISTING_ROUND_TRIPS = 10

# Tables known to exist, per endpoint: create_table runs once per process and table, not per call. A
# table that disappears later (storage restarted empty, someone deleted it) answers TableNotFound;
# the call then creates it again and repeats once (see TableLedger._call).
_ensured_tables: set[tuple[str, str]] = set()
_ensure_lock = threading.Lock()


class TableLedger(Ledger):
    def __init__(self, client: TableClient | TableServiceClient, table_name: str | None = None) -> None:
        if isinstance(client, TableServiceClient):
            if not table_name:
                raise ValueError("table_name is required with a TableServiceClient")
            client = client.get_table_client(table_name)
        self._table = client

    @property
    def table_name(self) -> str:
        return self._table.table_name

    def _ensure_table(self) -> None:
        key = (self._table.url, self._table.table_name)
        if key in _ensured_tables:
            return
        with _ensure_lock:
            if key in _ensured_tables:
                return
            self._create_table()
            _ensured_tables.add(key)

    def _create_table(self) -> None:
        try:
            self._table.create_table()
            logger.info("ledger table %s created", self._table.table_name)
        except ResourceExistsError:
            pass

    def _recreate_table(self) -> None:
        with _ensure_lock:
            logger.warning(
                "ledger table %s is missing (storage restarted empty?); creating it again", self._table.table_name
            )
            self._create_table()
            _ensured_tables.add((self._table.url, self._table.table_name))

    def _call(self, account_id: str, operation: Callable[[], _Result]) -> _Result:
        """Run one storage call. A missing table is created again and the call repeated once. Entity
        outcomes the callers interpret (exists, modified, not found) propagate; every other storage
        error becomes LedgerUnavailable, so callers answer 503 instead of failing with a raw SDK error."""
        try:
            self._ensure_table()
            try:
                return operation()
            except ResourceNotFoundError as error:
                if not is_missing_container(error):
                    raise
                self._recreate_table()
                return operation()
        except (ResourceExistsError, ResourceModifiedError):
            raise
        except ResourceNotFoundError as error:
            if not is_missing_container(error):
                raise
            raise self._unavailable(account_id, error) from error
        except (AzureError, OSError) as error:
            raise self._unavailable(account_id, error) from error

    def _unavailable(self, account_id: str, error: Exception) -> LedgerUnavailable:
        described = describe_storage_error(error)
        if isinstance(error, OSError) or is_storage_unavailable(error):
            logger.warning("ledger storage unavailable for account %s: %s", account_id, described)
        else:  # not an outage the SDK recognises (a 400, a 404 after re-creating the table): say so louder
            logger.error("ledger storage error for account %s: %s", account_id, described)
        return LedgerUnavailable(f"ledger storage unavailable ({described})")

    def probe(self) -> None:
        """One cheap read with short timeouts and no retries, for the health check: returns when the
        table service answers (a missing table counts: it is created on first use); else
        LedgerUnavailable. A point read of a row that never exists needs no more rights than the app has."""
        try:
            self._table.get_entity("__health__", "probe", **PROBE_CALL_OPTIONS)
        except ResourceNotFoundError:
            return  # the expected answer: the service is there (with or without the table)
        except (AzureError, OSError) as error:
            raise LedgerUnavailable(f"ledger storage unavailable ({describe_storage_error(error)})") from error

    def get(self, account_id: str) -> LedgerEntry | None:
        try:
            entity = self._call(account_id, lambda: self._table.get_entity(account_id, ROW_KEY))
        except ResourceNotFoundError:
            return None
        return from_entity(entity, entity.metadata.get("etag"))

    def hold_customer(self, customer_number: str, account_id: str) -> str:
        key = customer_key(customer_number)
        row = {"PartitionKey": CUSTOMER_PARTITION, "RowKey": key, "AccountId": account_id}
        for _ in range(2):
            try:
                self._call(account_id, lambda: self._table.create_entity(row))
                return account_id
            except ResourceExistsError:
                pass
            holder = self._reverse_holder(key)
            if holder is not None:
                return holder
            # The row went away between the insert and the read (only a person deletes one): insert again.
        raise LedgerUnavailable(f"SAP customer {key}: its reverse entry kept changing while it was written")

    def holder_of(self, customer_number: str) -> str | None:
        key = customer_key(customer_number)
        holder = self._reverse_holder(key)
        if holder is not None:
            return holder
        # An account created before reverse entries existed records its number only in its own row. Asked only
        # for a number the guard met that no reverse entry names (its adoptions and candidates: rare, after an
        # unknown outcome), so the scan this costs is rare too; what it finds is back-filled.
        recorded = self._accounts_recording(key)
        return self.hold_customer(key, recorded[0]) if recorded else None

    def _reverse_holder(self, key: str) -> str | None:
        try:
            entity = self._call(key, lambda: self._table.get_entity(CUSTOMER_PARTITION, key))
        except ResourceNotFoundError:
            return None
        return str(entity["AccountId"])

    def _accounts_recording(self, key: str) -> list[str]:
        query = f"RowKey eq '{ROW_KEY}' and CustomerNumber eq @number"

        def scan() -> list[str]:
            entities = self._table.query_entities(query, parameters={"number": key}, select=["PartitionKey"])
            return sorted(str(entity["PartitionKey"]) for entity in entities)

        return self._call(key, scan)

    def find(
        self,
        statuses: Collection[LedgerStatus],
        updated_before: datetime | None = None,
        limit: int = 1000,
        writeback: WriteBackStatus | None = None,
    ) -> list[LedgerEntry]:
        chosen = sorted({LedgerStatus(status).value for status in statuses})
        if not chosen:
            return []
        parameters: dict[str, Any] = {f"s{index}": value for index, value in enumerate(chosen)}
        # The SDK substitutes @names word by word (split on blanks): parentheses stand apart.
        query = "( " + " or ".join(f"Status eq @s{index}" for index in range(len(chosen))) + " )"
        query += f" and RowKey eq '{ROW_KEY}'"
        if updated_before is not None:
            parameters["before"] = filter_time(updated_before)
            query += " and UpdatedAt lt @before"
        if writeback is not None:
            parameters["writeback"] = WriteBackStatus(writeback).value
            query += " and WriteBack eq @writeback"

        def scan() -> list[LedgerEntry]:
            found: list[LedgerEntry] = []
            for entity in self._table.query_entities(query, parameters=parameters, results_per_page=min(limit, 1000)):
                found.append(from_entity(entity, entity.metadata.get("etag")))
                if len(found) >= limit:
                    break
            return found

        return self._call("(query)", scan)

    def list_entries(self, query: ListingQuery) -> LedgerPage:
        position = decode_continuation(query.continuation)
        parameters: dict[str, Any] = {}
        clauses = [f"RowKey eq '{ROW_KEY}'"]
        chosen = sorted({LedgerStatus(status).value for status in query.statuses})
        if not chosen:
            return LedgerPage(())
        if set(chosen) != {status.value for status in LedgerStatus}:
            parameters.update({f"s{index}": value for index, value in enumerate(chosen)})
            # The SDK substitutes @names word by word (split on blanks): parentheses stand apart.
            clauses.append("( " + " or ".join(f"Status eq @s{index}" for index in range(len(chosen))) + " )")
        if query.updated_since is not None:
            parameters["since"] = filter_time(query.updated_since)
            clauses.append("UpdatedAt ge @since")
        if query.updated_before is not None:
            parameters["before"] = filter_time(query.updated_before)
            clauses.append("UpdatedAt lt @before")
        text = " and ".join(clauses)

        def pages() -> LedgerPage:
            found: list[LedgerEntry] = []
            token: dict[str, str] | None = position
            for _ in range(_LISTING_ROUND_TRIPS):
                # `top` is what is still wanted, so the service never returns more than the page can take
                # and its continuation points exactly after the last entry handed out.
                paged = self._table.query_entities(
                    text, parameters=parameters, results_per_page=query.page_size - len(found)
                ).by_page(continuation_token=token)
                try:
                    page = next(paged)
                except StopIteration:
                    return LedgerPage(tuple(found))
                found.extend(from_entity(entity, entity.metadata.get("etag")) for entity in page)
                token = paged.continuation_token  # type: ignore[attr-defined]
                if not token or len(found) >= query.page_size:
                    break
            return LedgerPage(tuple(found), encode_continuation(token) if token else None)

        try:
            return self._call("(listing)", pages)
        except LedgerUnavailable as error:
            cause = error.__cause__
            if position is not None and isinstance(cause, HttpResponseError) and cause.status_code == 400:
                raise InvalidContinuation("the continuation token does not point into this ledger") from None
            raise

    def claim(self, entry: LedgerEntry) -> LedgerEntry:
        try:
            metadata = self._call(entry.account_id, lambda: self._table.create_entity(to_entity(entry)))
        except ResourceExistsError:
            raise LedgerConflict(f"account {entry.account_id} is already claimed") from None
        return self._stored(entry, metadata)

    def update(self, entry: LedgerEntry) -> LedgerEntry:
        if entry.etag is None:
            # An update without an etag would overwrite blindly; it means the entry was never read.
            raise LedgerConflict(f"account {entry.account_id}: update needs the etag of a stored entry")
        etag = entry.etag
        try:
            metadata = self._call(
                entry.account_id,
                lambda: self._table.update_entity(
                    to_entity(entry),
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                ),
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            raise LedgerConflict(f"account {entry.account_id} changed since it was read") from None
        return self._stored(entry, metadata)

    def delete(self, entry: LedgerEntry) -> None:
        # A row that is already gone counts as deleted: the SDK reports no error for a 404 on delete,
        # and releasing a claim only needs the row to be absent afterwards.
        if entry.etag is None:
            raise LedgerConflict(f"account {entry.account_id}: delete needs the etag of a stored entry")
        etag = entry.etag
        try:
            self._call(
                entry.account_id,
                lambda: self._table.delete_entity(
                    entry.account_id, ROW_KEY, etag=etag, match_condition=MatchConditions.IfNotModified
                ),
            )
        except ResourceModifiedError:
            raise LedgerConflict(f"account {entry.account_id} changed since it was read") from None

    @staticmethod
    def _stored(entry: LedgerEntry, metadata: Mapping[str, Any]) -> LedgerEntry:
        return entry.evolve(
            created_at=plain_utc(entry.created_at),
            updated_at=plain_utc(entry.updated_at),
            last_error=entry.last_error[:MAX_ERROR_LENGTH] if entry.last_error is not None else None,
            etag=metadata["etag"],
        )


def table_ledger_from_settings(settings: StorageSettings, **client_options: Any) -> TableLedger:
    """The ledger the app uses: connection string or identity-based connection, see storage_clients.
    client_options override the client defaults (the operations commands use shorter timeouts)."""
    return TableLedger(table_service_client(settings, **client_options), settings.ledger_table_name)
