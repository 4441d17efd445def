"""The SAP and write-back ports with a client span and a duration around every call: decorators the
composition root puts in front of the adapters (shared/bootstrap/), so neither the use cases nor the
adapters know about telemetry. In Application Insights each call is a dependency ("SAP", "Salesforce")
with its duration; the same duration goes to sapsync.sap.duration / sapsync.writeback.duration.

Beside the root, not in shared/telemetry: the SAP adapters use telemetry themselves (rfc.py's span per
RFC call, relay.py's traceparent on the relay request), so these decorators, which import the SAP and
Salesforce ports, would make telemetry import what imports it. Here they sit above sap, salesforce and
telemetry, and only the root imports them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from shared import telemetry
from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.core.models import CustomerCreation, MappingWarning
from shared.log import current_context
from shared.salesforce.port import AccountWriteBack
from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface
from shared.telemetry.port import SyncMetrics

_T = TypeVar("_T")


def _result_of(error: BaseException) -> str:
    kind = getattr(error, "kind", None)
    return kind if isinstance(kind, str) else type(error).__name__


def _correlation() -> dict[str, str]:
    # The ids of the sync in progress (shared.log.sync_context): ids only, never account data.
    return {name: value for name, value in current_context().items() if value}


class TracedSapGateway(SapGateway):
    """Any SapGateway, with a CLIENT span (rpc.system "sap", peer.service "SAP") around each call."""

    def __init__(self, inner: SapGateway, metrics: SyncMetrics, transport: str) -> None:
        self.inner = inner
        self._metrics = metrics
        self._transport = transport

    def __getattr__(self, name: str) -> Any:  # the adapter's extras (close, run_unit, ...)
        return getattr(self.inner, name)

    def _timed(self, operation: str, call: Callable[[], _T], result: Callable[[_T], str]) -> _T:
        attributes = {
            "rpc.system": "sap",
            "rpc.method": operation,
            "peer.service": "SAP",
            "sap.transport": self._transport,
            **_correlation(),
        }
        started = time.perf_counter()
        with telemetry.span(f"SAP {operation}", kind="client", attributes=attributes) as current:
            try:
                value = call()
            except BaseException as error:
                self._metrics.sap_call((time.perf_counter() - started) * 1000, operation, _result_of(error))
                raise
            outcome = result(value)
            if current is not None:
                current.set_attribute("sap.result", outcome)
            self._metrics.sap_call((time.perf_counter() - started) * 1000, operation, outcome)
            return value

    def check_interface(self) -> SapInterface:
        return self._timed("check_interface", self.inner.check_interface, lambda _: "ok")

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        return self._timed(
            "create_customer",
            lambda: self.inner.create_customer(creation),
            lambda created: "adopted" if created.adopted else "created",
        )

    def ping(self) -> None:
        self._timed("ping", self.inner.ping, lambda _: "ok")

    # The change path (issue 26): the same span and duration, under their own operation names.
    def read_customer(self, customer_number: str) -> SapCustomerSnapshot:
        return self._timed("read_customer", lambda: self.inner.read_customer(customer_number), lambda _: "read")

    def change_customer(self, change: CustomerChange) -> SapCustomerChanged:
        return self._timed("change_customer", lambda: self.inner.change_customer(change), lambda _: "changed")


class TimedWriteBack(AccountWriteBack):
    """Any AccountWriteBack, with a CLIENT span (peer.service "Salesforce") around each call."""

    def __init__(self, inner: AccountWriteBack, metrics: SyncMetrics) -> None:
        self.inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _timed(self, operation: str, call: Callable[[], None]) -> None:
        attributes = {
            "peer.service": "Salesforce",
            "rpc.system": "salesforce",
            "rpc.method": operation,
            **_correlation(),
        }
        started = time.perf_counter()
        with telemetry.span(f"Salesforce {operation}", kind="client", attributes=attributes):
            try:
                call()
            except BaseException as error:
                self._metrics.writeback((time.perf_counter() - started) * 1000, operation, type(error).__name__)
                raise
            self._metrics.writeback((time.perf_counter() - started) * 1000, operation, "ok")

    def record_created(
        self, account_id: str, customer_number: str, synced_at: datetime, warnings: Sequence[MappingWarning] = ()
    ) -> None:
        self._timed(
            "record_created", lambda: self.inner.record_created(account_id, customer_number, synced_at, warnings)
        )

    def record_failed(self, account_id: str, error: str, synced_at: datetime) -> None:
        self._timed("record_failed", lambda: self.inner.record_failed(account_id, error, synced_at))

    def check_login(self) -> None:
        # The health check's login is not a write-back: passed through, not timed as one.
        self.inner.check_login()
