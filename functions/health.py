"""Health: GET /api/health (anonymous; no data, only whether the parts answer)."""

from __future__ import annotations

import logging
import time
from typing import Any

import azure.functions as func

from functions._http import json_response
from shared import bootstrap
from shared.sap import SapError
from shared.settings import SettingsError
from shared.storage.port import LedgerUnavailable, RetryQueueUnavailable
from shared.usecases import Services

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
    if storage is None:  # adapters without a probe (in-memory fakes in tests): nothing to ask
        return json_response({"status": "healthy", "checks": checks}, 200)
    checks["storage"] = storage
    if not storage["ok"]:
        return json_response({"status": "unhealthy", "storage": "unavailable", "checks": checks}, 503,
                             headers={"Retry-After": str(config.retry.retry_after_seconds)})
    return json_response({"status": "healthy", "storage": "available", "checks": checks}, 200)


def _storage_check(services: Services) -> dict[str, Any] | None:
    """Probe the ledger table and the retry queue; None when neither adapter can be probed."""
    probes = [(name, getattr(port, "probe", None)) for name, port in
              (("ledger", services.ledger), ("retryQueue", services.retry_queue))]
    probes = [(name, probe) for name, probe in probes if callable(probe)]
    if not probes:
        return None
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
        logger.warning("health: storage unavailable (%s)",
                       "; ".join(str(result[name]["error"]) for name, _ in probes if not result[name]["ok"]))
    return result


@bp.function_name("HealthSap")
@bp.route(route="health/sap", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health_sap(req: func.HttpRequest) -> func.HttpResponse:
    """RFC_PING through the configured transport. Behind the function key: every call is an SAP logon,
    and an anonymous caller must not be able to lock the RFC user with a wrong password configured."""
    try:
        services = bootstrap.services()
    except SettingsError as error:
        return json_response({"status": "unhealthy", "checks": {"settings": {"ok": False, "error": str(error)}}}, 503)
    started = time.perf_counter()
    try:
        services.sap.ping()
        # The metadata self-check: every function, parameter and field we send exists in this system.
        services.sap.check_interface()
    except SapError as error:
        sap: dict[str, Any] = {"ok": False, "error": type(error).__name__}
        if error.kind == "misconfigured":  # driver, SDK or interface: the detail names what to fix
            sap["message"] = error.detail
        return json_response({"status": "unhealthy", "checks": {"sap": sap}}, 503)
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return json_response({"status": "healthy", "checks": {"sap": {"ok": True, "ms": elapsed, "interface": "checked"}}},
                         200)
