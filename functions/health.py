"""Health: GET /api/health (anonymous; no data, only whether the parts answer)."""

from __future__ import annotations

import logging
import time

import azure.functions as func

from functions._http import json_response
from shared import bootstrap
from shared.sap import SapError
from shared.settings import SettingsError

logger = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("Health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """For load balancers and probes: settings valid and adapters built; touches neither SAP nor storage."""
    try:
        config = bootstrap.settings()
        bootstrap.services()
    except SettingsError as error:
        return json_response({"status": "unhealthy", "checks": {"settings": {"ok": False, "error": str(error)}}}, 503)
    return json_response({"status": "healthy", "checks": {"settings": {"ok": True,
                                                                       "sapTransport": config.sap_transport.value}}},
                         200)


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
    except SapError as error:
        return json_response({"status": "unhealthy", "checks": {"sap": {"ok": False, "error": type(error).__name__}}},
                             503)
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return json_response({"status": "healthy", "checks": {"sap": {"ok": True, "ms": elapsed}}}, 200)
