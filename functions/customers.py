"""CreateSAPCustomer (POST /api/customers), GetSAPCustomerCreateOutcome (GET
/api/customers/{accountId}/outcome: the Location of its 202, which the flow engine polls),
GetSAPCustomerSyncStatus (GET /api/customers/{accountId}) and ListSAPCustomerSyncs (GET
/api/customers?status=&since=&pageSize=&continuationToken=: the ledger as a log).

The function names are the connector's operation ids (connector/apiDefinition.swagger.json): one name
per operation, in the swagger, the host's logs and the telemetry alike."""

from __future__ import annotations

import functools
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import azure.functions as func

from functions._http import (
    bad_request,
    json_response,
    read_json_object,
    service_unavailable,
)
from functions._telemetry import invocation
from shared import bootstrap
from shared.log import sync_context
from shared.settings import SettingsError

if TYPE_CHECKING:
    from shared.core.ledger import LedgerEntry
    from shared.usecases import CreateResult, Outcome

# The validation, the use cases and their ports are imported by each function when it first runs, not
# with the blueprint: indexing needs only the decorators (cold start, bench/cold_start.py). Under
# bootstrap.first_use(), so that first runs at the same time import one after the other.

logger = logging.getLogger(__name__)

bp = func.Blueprint()


@functools.cache
def _status_codes() -> dict[Outcome, int]:
    with bootstrap.first_use():
        from shared.usecases import Outcome

    return {
        Outcome.CREATED: 201,
        Outcome.ALREADY_EXISTS: 200,
        Outcome.QUEUED: 202,
        Outcome.IN_PROGRESS: 202,
        Outcome.REJECTED: 422,
        Outcome.FAILED: 502,
        # Held for an operator: a final answer, not a 202. The flow engine follows a 202's Location until
        # the answer is not 202 (flow/README.md), and a held account may wait days for `admin resolve`;
        # 409: the account's state, not the request, stops the create.
        Outcome.NEEDS_REVIEW: 409,
    }


@bp.function_name("CreateSAPCustomer")
@bp.route(route="customers", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@invocation("CreateSAPCustomer", counts_invalid_requests=True)
# `context` exactly func.Context (the worker checks); None where a test calls the function directly.
def create_sap_customer(req: func.HttpRequest, context: func.Context = None) -> func.HttpResponse:
    with bootstrap.first_use():
        from shared.core.models import InvalidRequest
        from shared.core.validation import parse_customer_request
        from shared.usecases import SapNotReady, StorageUnavailable, create_customer

    account_id: str | None = None
    try:
        payload = read_json_object(req)
        if isinstance(payload, dict) and isinstance(payload.get("accountId"), str):
            account_id = payload["accountId"]
        request = parse_customer_request(payload)
        account_id = request.account_id
        with sync_context(account_id=account_id):
            result = create_customer(request, bootstrap.services())
    except InvalidRequest as invalid:  # the body (read_json_object) or its fields (parse_customer_request)
        return bad_request(invalid, account_id)
    except (SettingsError, SapNotReady, StorageUnavailable) as error:
        if error.kind == SettingsError.kind:
            logger.error("configuration problem: %s", error)
        return service_unavailable(
            error,
            account_id,
            storage_message="Storage is unavailable; the request was not recorded. Send it again later.",
        )
    return _create_response(result, req)


def _create_response(result: CreateResult, req: func.HttpRequest) -> func.HttpResponse:
    with bootstrap.first_use():
        from shared.usecases import Outcome

    body: dict[str, object] = {
        "accountId": result.account_id,
        "status": result.outcome.value,
        "trackingId": result.tracking_id,
    }
    headers: dict[str, str] = {}
    if result.customer_number:
        body["customerNumber"] = result.customer_number
    if result.outcome in (Outcome.CREATED, Outcome.ALREADY_EXISTS):
        # Always there, [] when SAP returned none: a flow reads it without first testing that it exists.
        body["messages"] = [m.to_json() for m in result.messages]
    elif result.messages:
        body["messages"] = [m.to_json() for m in result.messages]
    if result.warnings:
        body["warnings"] = [w.to_json() for w in result.warnings]
    if result.outcome in (Outcome.CREATED, Outcome.ALREADY_EXISTS):
        body["writeBack"] = result.writeback.value
    if result.outcome in (Outcome.QUEUED, Outcome.IN_PROGRESS):
        body["retryAfterSeconds"] = result.retry_after_seconds
        headers["Retry-After"] = str(result.retry_after_seconds)
        headers["Location"] = outcome_url(req, result.account_id)
        if result.error:
            body["reason"] = result.error
    if result.outcome is Outcome.REJECTED:
        body["error"] = "sap_rejected"
        # One line, the same whether SAP rejected the first attempt or a retry (then only the ledger's
        # text is left): what the flow writes to SAP_Sync_Error__c.
        body["reason"] = result.error
        if result.rejection is not None:
            body["sapMessage"] = result.rejection.to_json()
    if result.outcome is Outcome.NEEDS_REVIEW:
        body["error"] = "needs_review"
        body["message"] = (
            "An earlier attempt may have created this customer in SAP and the duplicate guard "
            "cannot tell which; an operator resolves it. Nothing more is created automatically."
        )
        if result.error:
            body["reason"] = result.error
    if result.outcome is Outcome.FAILED:
        body["error"] = "sap_failed"
        body["message"] = result.error
    return json_response(body, _status_codes()[result.outcome], headers=headers or None)


# A host name or address with an optional port (RFC 3986 reg-name / IPv4 / bracketed IPv6): a forwarded
# host that is anything else (a list, a path, a header injection) is ignored, never reflected.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def outcome_url(req: func.HttpRequest, account_id: str) -> str:
    """The absolute URL of the account's create outcome (GetSAPCustomerCreateOutcome): a 202's Location.

    Absolute, because the engine that runs cloud flows and logic apps wants "the absolute path to a URL"
    in the Location of a 202 (MicrosoftDocs azure-docs articles/logic-apps/logic-apps-create-api-app.md,
    "Perform long-running tasks with the asynchronous pattern"). Built from the URL the request came to,
    as the Functions host gives it (the local host, devhost/http_server.py: aiohttp's request.url, from the
    Host header), or from X-Forwarded-Host / X-Forwarded-Proto when a proxy in front set them (Front
    Door, API Management, App Service's front end). Unverified here: which of those headers Azure's front
    end sets for this app; either way the answer names the host the caller reached. A host of another
    form than a host name, address and port is not used.
    """
    url = urlsplit(req.url)
    forwarded_host = (req.headers.get("X-Forwarded-Host") or "").split(",")[0].strip()
    forwarded_proto = (req.headers.get("X-Forwarded-Proto") or "").split(",")[0].strip().lower()
    host = forwarded_host if _HOST.fullmatch(forwarded_host) else url.netloc
    scheme = forwarded_proto if forwarded_proto in ("http", "https") else (url.scheme or "https")
    # The route prefix is host.json's routePrefix ("api"); account_id is the normalised 18-character Id.
    path = f"/api/customers/{account_id}/outcome"
    if not _HOST.fullmatch(host):
        return path  # no usable host at all: relative, and the caller's poll fails visibly
    return f"{scheme}://{host}{path}"


def _account_id_or_bad_request(req: func.HttpRequest) -> str | func.HttpResponse:
    with bootstrap.first_use():
        from shared.core.models import FieldError, InvalidRequest
        from shared.core.salesforce_id import InvalidSalesforceId, normalize_account_id

    raw_id = req.route_params.get("accountId", "")
    try:
        # An Account's Id (key prefix 001), as the create's accountId: the ledger holds nothing else.
        return normalize_account_id(raw_id)
    except InvalidSalesforceId as error:
        return bad_request(InvalidRequest([FieldError("accountId", str(error))]), raw_id)


def _not_found(account_id: str) -> func.HttpResponse:
    return json_response(
        {"accountId": account_id, "error": "not_found", "message": "No create request is known for this account."}, 404
    )


def _ledger_entry_or_answer(req: func.HttpRequest) -> LedgerEntry | func.HttpResponse:
    """The ledger's entry for the route's account, or the answer when there is none to read: 400 for a
    malformed id, 404 for an unknown account, 503 while settings or storage fail."""
    with bootstrap.first_use():
        from shared.usecases import StorageUnavailable, account_status

    account_id = _account_id_or_bad_request(req)
    if isinstance(account_id, func.HttpResponse):
        return account_id
    try:
        entry = account_status(account_id, bootstrap.services().ledger)
    except (SettingsError, StorageUnavailable) as error:
        return service_unavailable(error, account_id)
    return _not_found(account_id) if entry is None else entry


@bp.function_name("GetSAPCustomerCreateOutcome")
@bp.route(route="customers/{accountId}/outcome", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_sap_customer_create_outcome(req: func.HttpRequest) -> func.HttpResponse:
    """What the flow engine polls after a 202: 202 (Location, Retry-After) while the account is pending or
    queued, then the create's own final answer and status code: 201 with the number, 422 with SAP's
    reason, 502, or 409 held for review. GetSAPCustomerSyncStatus stays the plain 200 record for admins,
    scripts and the docs."""
    with bootstrap.first_use():
        from shared.usecases import create_outcome

    entry = _ledger_entry_or_answer(req)
    if isinstance(entry, func.HttpResponse):
        return entry
    return _create_response(create_outcome(entry, bootstrap.settings().retry.retry_after_seconds), req)


@bp.function_name("GetSAPCustomerSyncStatus")
@bp.route(route="customers/{accountId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_sap_customer_sync_status(req: func.HttpRequest) -> func.HttpResponse:
    entry = _ledger_entry_or_answer(req)
    if isinstance(entry, func.HttpResponse):
        return entry
    return json_response(entry.to_status_json(), 200)


@bp.function_name("ListSAPCustomerSyncs")
@bp.route(route="customers", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_sap_customer_syncs(req: func.HttpRequest) -> func.HttpResponse:
    """The ledger's entries by status and time, a page at a time, in account-id order (Table storage's
    own order: it cannot sort by time). Follow `continuationToken` until an answer has none."""
    with bootstrap.first_use():
        from shared.core.listing import parse_listing_query
        from shared.core.models import FieldError, InvalidRequest
        from shared.storage.port import InvalidContinuation
        from shared.usecases import StorageUnavailable, list_accounts, listing_json

    try:
        query = parse_listing_query(
            req.params.get("status"),
            req.params.get("since"),
            req.params.get("pageSize"),
            req.params.get("continuationToken"),
        )
        page = list_accounts(query, bootstrap.services().ledger)
    except InvalidRequest as invalid:
        return bad_request(invalid)
    except InvalidContinuation as error:
        return bad_request(InvalidRequest([FieldError("continuationToken", str(error))]))
    except (SettingsError, StorageUnavailable) as error:
        return service_unavailable(error)
    return json_response(listing_json(page), 200)
