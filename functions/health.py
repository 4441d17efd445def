"""Health: GET /api/health (anonymous, cheap: settings and storage), GET /api/health/sap (SAP through the
configured transport) and GET /api/health/deep (SAP, storage and Salesforce at once, in bounded time);
the last two behind the function key. No data, only whether the parts answer and how fast."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import azure.functions as func

from functions._http import json_response
from shared import bootstrap
from shared.settings import SettingsError

if TYPE_CHECKING:
    from shared.usecases import Services

# The use cases and their ports are imported by each function when it first runs, not with the
# blueprint: indexing needs only the decorators (cold start, bench/cold_start.py). Under
# bootstrap.first_use(), so that first runs at the same time import one after the other.

logger = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("Health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """For load balancers and probes: settings valid, adapters built, and storage answering (one cheap
    call each to the ledger table and the retry queue, short timeouts, no retries). Never SAP: that is
    /api/health/sap, behind the function key."""
    try:
        config = bootstrap.settings()
        services = bootstrap.services()
    except SettingsError as error:
        return json_response({"status": "unhealthy", "checks": {"settings": {"ok": False, "error": str(error)}}}, 503)
    checks: dict[str, Any] = {"settings": {"ok": True, "sapTransport": config.sap_transport.value}}
    storage = _storage_check(services)
    checks["storage"] = storage
    if not storage["ok"]:
        return json_response(
            {"status": "unhealthy", "storage": "unavailable", "checks": checks},
            503,
            headers={"Retry-After": str(config.retry.retry_after_seconds)},
        )
    return json_response({"status": "healthy", "storage": "available", "checks": checks}, 200)


def _storage_check(services: Services) -> dict[str, Any]:
    """Probe the ledger table and the retry queue."""
    with bootstrap.first_use():
        from shared.storage.port import LedgerUnavailable, RetryQueueUnavailable

    probes = [("ledger", services.ledger.probe), ("retryQueue", services.retry_queue.probe)]
    result: dict[str, Any] = {"ok": True}
    for name, probe in probes:
        started = time.perf_counter()
        try:
            probe()
        except (LedgerUnavailable, RetryQueueUnavailable) as error:
            result["ok"] = False
            result[name] = {"ok": False, "error": str(error)}
            continue
        except Exception as error:  # a probe must answer 503, never fail the health endpoint itself
            logger.exception("storage probe %s failed", name)
            result["ok"] = False
            result[name] = {"ok": False, "error": type(error).__name__}
            continue
        result[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if not result["ok"]:
        logger.warning(
            "health: storage unavailable (%s)",
            "; ".join(str(result[name]["error"]) for name, _ in probes if not result[name]["ok"]),
        )
    return result


def _settings_problem(error: SettingsError) -> func.HttpResponse:
    return json_response(
        {
            "status": "unhealthy",
            "failed": ["settings"],
            "checks": {"settings": {"status": "failed", "ok": False, "error": str(error)}},
        },
        503,
    )


@bp.function_name("HealthSap")
@bp.route(route="health/sap", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health_sap(req: func.HttpRequest) -> func.HttpResponse:
    """RFC_PING and the metadata self-check through the configured transport, in bounded time. Behind
    the function key: every call is an SAP logon, and an anonymous caller must not be able to lock the
    RFC user with a wrong password configured."""
    with bootstrap.first_use():
        from shared.usecases.health import DEPENDENCY_TIMEOUT_SECONDS, check_sap, run_checks

    try:
        services = bootstrap.services()
    except SettingsError as error:
        return _settings_problem(error)
    sap = run_checks({"sap": lambda: check_sap(services.sap)}, DEPENDENCY_TIMEOUT_SECONDS)["sap"]
    body = sap.to_json()
    if sap.ok:
        body["interface"] = "checked"
    return json_response(
        {"status": "healthy" if sap.ok else "unhealthy", "failed": [] if sap.ok else ["sap"], "checks": {"sap": body}},
        200 if sap.ok else 503,
    )


@bp.function_name("HealthDeep")
@bp.route(route="health/deep", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health_deep(req: func.HttpRequest) -> func.HttpResponse:
    """SAP (through the configured transport), storage (the ledger table and the retry queue) and
    Salesforce (a real login, when the function app writes back), at once: each with its status and
    latency; 200 when all are fine, 503 naming what failed. Behind the function key, like health/sap:
    it logs on to SAP and to Salesforce."""
    with bootstrap.first_use():
        from shared.usecases.health import check_dependencies

    try:
        services = bootstrap.services()
    except SettingsError as error:
        return _settings_problem(error)
    report = check_dependencies(services)
    return json_response(report.to_json(), 200 if report.healthy else 503)
