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
    checks: dict[str, dict[str, object]] = {}
    try:
        config = bootstrap.settings()
        services = bootstrap.services()
    except SettingsError as error:
        return json_response({"status": "unhealthy", "checks": {"settings": {"ok": False, "error": str(error)}}}, 503)
    checks["settings"] = {"ok": True, "sapTransport": config.sap_transport.value}
    # SAP is only pinged on request: a probe every few seconds should not open RFC sessions.
    if req.params.get("sap", "").lower() in ("1", "true", "yes"):
        started = time.perf_counter()
        try:
            services.sap.ping()
            checks["sap"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
        except SapError as error:
            checks["sap"] = {"ok": False, "error": type(error).__name__}
    healthy = all(check["ok"] for check in checks.values())
    return json_response({"status": "healthy" if healthy else "unhealthy", "checks": checks}, 200 if healthy else 503)
