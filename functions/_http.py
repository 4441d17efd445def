"""HTTP plumbing shared by the HTTP blueprints: reading a JSON body safely, writing JSON answers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import azure.functions as func

from shared import bootstrap
from shared.core.models import FieldError, InvalidRequest
from shared.settings import SettingsError
from shared.settings.declarations import MISCONFIGURED_RETRY_AFTER_SECONDS

if TYPE_CHECKING:
    from shared.usecases import SapNotReady, StorageUnavailable

# Salesforce accounts are small; anything near this is not a CreateSAPCustomer request.
MAX_BODY_BYTES = 64 * 1024


def json_response(body: dict[str, Any], status_code: int, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status_code,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


def bad_request(error: InvalidRequest, account_id: str | None = None) -> func.HttpResponse:
    """400 `invalid_request` naming every field and its reason; `account_id` as the request sent it, if known."""
    return json_response(
        {
            "accountId": account_id,
            "error": "invalid_request",
            "message": "The request has invalid fields; see errors.",
            "errors": [e.to_json() for e in error.errors],
        },
        400,
    )


def configuration_problem(error: Exception, account_id: str | None = None) -> func.HttpResponse:
    """A setting is missing or malformed (normally caught at start): 503, naming the setting."""
    return json_response(
        {"accountId": account_id, "error": "configuration", "message": f"The function app is misconfigured: {error}"},
        503,
        headers={"Retry-After": str(MISCONFIGURED_RETRY_AFTER_SECONDS)},
    )


def storage_unavailable(message: str, retry_after_seconds: int, account_id: str | None = None) -> func.HttpResponse:
    """Storage (ledger table or retry queue) cannot be reached: 503 with a JSON body and Retry-After."""
    return json_response(
        {"accountId": account_id, "error": "unavailable", "message": message},
        503,
        headers={"Retry-After": str(retry_after_seconds)},
    )


def service_unavailable(
    error: SettingsError | StorageUnavailable | SapNotReady,
    account_id: str | None = None,
    *,
    storage_message: str = "Storage is unavailable.",
) -> func.HttpResponse:
    """503 for a request no change of its own heals, by the class's `kind`, the caller's move
    (shared/sap/errors.py's table): misconfigured (a setting, the SAP side) is `configuration`, named, with
    the misconfigured Retry-After; transient (storage) is `unavailable` with `storage_message` and
    RETRY_AFTER_SECONDS."""
    if error.kind == SettingsError.kind:
        return configuration_problem(error, account_id)
    return storage_unavailable(storage_message, bootstrap.settings().retry.retry_after_seconds, account_id)


def read_json_object(request: func.HttpRequest) -> object:
    """The parsed body; InvalidRequest for a wrong content type, an oversized body, bad UTF-8 or bad JSON."""
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        problem = f"must be application/json, not '{content_type or 'missing'}'"
        raise InvalidRequest([FieldError("Content-Type", problem)])
    body = request.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest([FieldError("body", f"is {len(body)} bytes; the limit is {MAX_BODY_BYTES} bytes")])
    if not body.strip():
        raise InvalidRequest([FieldError("body", "is empty; expected a JSON object")])
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidRequest([FieldError("body", f"is not UTF-8 (byte {error.start})")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            [FieldError("body", f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")]
        ) from None
    except RecursionError:
        raise InvalidRequest([FieldError("body", "is nested too deeply")]) from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits (CPython's conversion limit)
        raise InvalidRequest([FieldError("body", f"is not acceptable JSON: {str(error)[:120]}")]) from None
