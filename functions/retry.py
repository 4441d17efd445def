"""RetryCreateSAPCustomer: the queue trigger that finishes what the HTTP path could not."""

from __future__ import annotations

import logging

import azure.functions as func

from functions._telemetry import invocation
from shared import bootstrap

# The retry message, the use case and its ports are imported when the function first runs, not with
# the blueprint: indexing needs only the decorators (cold start, bench/cold_start.py). Under
# bootstrap.first_use(), so that first runs at the same time import one after the other.

logger = logging.getLogger(__name__)

bp = func.Blueprint()


# The queue name is an app setting (%...% is resolved by the host); the default is in local.settings.
@bp.function_name("RetryCreateSAPCustomer")
@bp.queue_trigger(arg_name="msg", queue_name="%RETRY_QUEUE_NAME%", connection="AzureWebJobsStorage")
@invocation("RetryCreateSAPCustomer")
# `context` exactly func.Context (the worker checks); None where a test calls the function directly.
def retry_create_sap_customer(msg: func.QueueMessage, context: func.Context = None) -> None:
    with bootstrap.first_use():
        from shared.core.retry_message import InvalidRetryMessage, RetryMessage
        from shared.usecases import retry_create_customer

    try:
        message = RetryMessage.from_json(msg.get_body())
    except InvalidRetryMessage as error:
        # Not ours or a version we cannot read: raising lets the host park it in the poison queue
        # after maxDequeueCount, where the replay command shows it.
        logger.error("unreadable retry message %s: %s", msg.id, error)
        raise
    outcome = retry_create_customer(message, bootstrap.services())
    logger.info(
        "retry message handled: %s",
        outcome.value,
        extra={"dequeue_count": msg.dequeue_count, "attempt": message.attempt},
    )
