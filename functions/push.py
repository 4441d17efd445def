"""ReceiveSalesforceOutboundMessage (POST /api/salesforce/outbound-messages): the push path.

Salesforce's outbound message (salesforce/force-app/.../workflows/Account.workflow-meta.xml, sent by the
record-triggered flow SAP_Customer_Sync_Push) posts a SOAP `notifications` call here. Two checks
authenticate the sender: the function key (auth level FUNCTION; Salesforce cannot set headers, so
the endpoint URL carries it as `?code=`) and the message's OrganizationId against
SALESFORCE_ORGANIZATION_ID. The work is queued, never done here (shared.usecases.push), so the answer
comes in milliseconds whatever SAP does.

Answers (Salesforce retries anything but an acknowledgement, for up to 24 hours, so each non-200 is
chosen to make a retry the right thing):
  200 Ack true      every notification queued, ignored (a copy, a late one) or rejected as invalid data
  400 SOAP Fault    not a readable outbound message (the fault names the problem); nothing accepted
  403 SOAP Fault    another org's message
  503 SOAP Fault    storage unavailable (Retry-After), or no org configured: Salesforce sends it again
A Fault goes with a 4xx/5xx status as Microsoft's Salesforce receiver answers (aspnet/WebHooks
SalesforceResultCreator: FaultResponse.xml with 400); Salesforce's acknowledgement is only
`notificationsResponse` with Ack true.
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared import bootstrap
from shared.settings import SettingsError
from shared.settings.declarations import MISCONFIGURED_RETRY_AFTER_SECONDS

# The SOAP parsing, the use case and its ports are imported when the function first runs, not with the
# blueprint: indexing needs only the decorators (cold start, bench/cold_start.py). Under
# bootstrap.first_use(), so that first runs at the same time import one after the other.

logger = logging.getLogger(__name__)

bp = func.Blueprint()

_SOAP_XML = "text/xml"  # SOAP 1.1's media type, what Salesforce sends and reads
# The endpoint's own body bound (shared/core/outbound_message.py MAX_MESSAGE_BYTES; a literal here so that
# indexing imports no SOAP code; a test keeps the two equal), declared on the trigger for the local host,
# which refuses larger bodies early (devhost/http_server.py ROUTE_BODY_LIMIT_FIELD); Azure's host ignores it.
_MESSAGE_BODY_BYTES = 1024 * 1024


def _soap(body: bytes, status_code: int, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(body, status_code=status_code, mimetype=_SOAP_XML, charset="utf-8", headers=headers)


@bp.function_name("ReceiveSalesforceOutboundMessage")
@bp.route(
    route="salesforce/outbound-messages",
    methods=["POST"],
    auth_level=func.AuthLevel.FUNCTION,
    trigger_extra_fields={"maxRequestBodyBytes": _MESSAGE_BODY_BYTES},
)
def receive_salesforce_outbound_message(req: func.HttpRequest) -> func.HttpResponse:
    with bootstrap.first_use():
        from shared.core.outbound_message import (
            MalformedOutboundMessage,
            acknowledgement,
            fault,
            parse_outbound_message,
        )
        from shared.usecases import StorageUnavailable
        from shared.usecases.push import ForeignOrganization, PushNotConfigured, receive_outbound_message

    try:
        message = parse_outbound_message(req.get_body() or b"")
    except MalformedOutboundMessage as error:
        logger.warning("outbound message refused: %s", error)
        return _soap(fault("Client", f"Not a Salesforce outbound message: {error}"), 400)
    try:
        config = bootstrap.settings()
        receive_outbound_message(message, config.salesforce.organization_id, bootstrap.services())
    except ForeignOrganization:
        return _soap(fault("Client", "OrganizationId is not the organization this endpoint serves"), 403)
    except (PushNotConfigured, SettingsError) as error:
        logger.error("push path not configured: %s", error)
        return _soap(
            fault(
                "Server",
                "The function app is not configured for outbound messages; "
                "the message is kept by Salesforce and sent again",
            ),
            503,
            {"Retry-After": str(MISCONFIGURED_RETRY_AFTER_SECONDS)},
        )
    except StorageUnavailable:
        retry_after = str(bootstrap.settings().retry.retry_after_seconds)
        return _soap(
            fault("Server", "Storage is unavailable; send the message again later"), 503, {"Retry-After": retry_after}
        )
    return _soap(acknowledgement(), 200)
