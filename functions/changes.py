"""ChangeSAPCustomer (POST /api/customers/{accountId}/changes): a synced account's owned fields to SAP (issue 26).

Its own route beside the create's, not the create answering "already exists, changed": a flow that creates
must never change by accident (a create's resend after a lost answer would otherwise rewrite SAP with
whatever the account holds by then, unordered), a change needs the SystemModstamp a create has no use for,
and the two answer differently (a change of an unknown account is 404 not_synced, never a create). The
body is the create's (docs/api.md) plus `systemModstamp`; the use case is shared/usecases/change.py.

Answers (connector/apiDefinition.swagger.json's ChangeSAPCustomer):
  200 {"accountId","customerNumber","change": applied|unchanged|stale,"changedFields":[...],"warnings":[...]}
  202 {"accountId","change": queued|folded, "retryAfterSeconds"} (Retry-After): SAP unavailable, another
      change of the account at SAP now, or the create still in hand (the change follows it)
  400 invalid_request naming each field and its reason
  404 not_synced: the ledger knows no SAP customer for the account
  409 needs_review: the create is held, or this change met a value changed in SAP (SAP_CHANGE_CONFLICT=review)
  422 sap_rejected with SAP's message (written back to the account's error field too)
  502 sap_failed; 503 configuration or storage
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from functions._http import bad_request, json_response, read_json_object, service_unavailable
from functions._telemetry import invocation
from shared import bootstrap
from shared.log import sync_context
from shared.settings import SettingsError

if TYPE_CHECKING:
    from shared.usecases.change import ChangeResult

logger = logging.getLogger(__name__)

bp = func.Blueprint()

_STATUS = {
    "applied": 200,
    "unchanged": 200,
    "stale": 200,
    "queued": 202,
    "folded": 202,
    "not_synced": 404,
    "needs_review": 409,
    "rejected": 422,
    "failed": 502,
}


@bp.function_name("ChangeSAPCustomer")
@bp.route(route="customers/{accountId}/changes", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@invocation("ChangeSAPCustomer")
def change_sap_customer(req: func.HttpRequest, context: func.Context = None) -> func.HttpResponse:
    with bootstrap.first_use():
        from shared.core.change_request import parse_change_request
        from shared.core.models import FieldError, InvalidRequest
        from shared.core.salesforce_id import InvalidSalesforceId, normalize_account_id
        from shared.usecases import SapNotReady, StorageUnavailable
        from shared.usecases.change import change_customer

    raw_id = req.route_params.get("accountId", "")
    try:
        account_id = normalize_account_id(raw_id)
    except InvalidSalesforceId as error:
        return bad_request(InvalidRequest([FieldError("accountId", str(error))]), raw_id)
    try:
        change = parse_change_request(read_json_object(req), account_id)
        with sync_context(account_id=account_id):
            result = change_customer(change, bootstrap.services())
    except InvalidRequest as invalid:
        return bad_request(invalid, account_id)
    except (SettingsError, SapNotReady, StorageUnavailable) as error:
        if error.kind == SettingsError.kind:
            logger.error("configuration problem: %s", error)
        return service_unavailable(
            error,
            account_id,
            storage_message="Storage is unavailable; the change was not recorded. Send it again later.",
        )
    return _response(result)


def _response(result: ChangeResult) -> func.HttpResponse:
    with bootstrap.first_use():
        from shared.usecases.change import ChangeOutcome

    outcome = result.outcome
    body: dict[str, object] = {"accountId": result.account_id, "change": outcome.value}
    headers: dict[str, str] = {}
    if result.customer_number:
        body["customerNumber"] = result.customer_number
    if outcome in (ChangeOutcome.APPLIED, ChangeOutcome.UNCHANGED, ChangeOutcome.STALE):
        body["changedFields"] = list(result.changed_fields)
        body["warnings"] = [warning.to_json() for warning in result.warnings]
        if result.conflicts:
            body["overwrittenInSap"] = list(result.conflicts)
    elif outcome in (ChangeOutcome.QUEUED, ChangeOutcome.FOLDED):
        body["retryAfterSeconds"] = result.retry_after_seconds
        headers["Retry-After"] = str(result.retry_after_seconds)
        if result.error:
            body["reason"] = result.error
    elif outcome is ChangeOutcome.NOT_SYNCED:
        body["error"] = "not_synced"
        body["message"] = "The ledger holds no SAP customer for this account; create it first (POST /api/customers)."
    elif outcome is ChangeOutcome.NEEDS_REVIEW:
        body["error"] = "needs_review"
        body["message"] = result.error or "The account is held for an operator."
        if result.conflicts:
            body["conflictingFields"] = list(result.conflicts)
    elif outcome is ChangeOutcome.REJECTED:
        body["error"] = "sap_rejected"
        body["reason"] = result.error
        if result.rejection is not None:
            body["sapMessage"] = result.rejection.to_json()
    else:
        body["error"] = "sap_failed"
        body["message"] = result.error
    return json_response(body, _STATUS[outcome.value], headers=headers or None)
