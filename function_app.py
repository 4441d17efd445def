"""Entry point the Functions host indexes: builds the FunctionApp and registers one blueprint per feature.

Adapters are picked in shared/bootstrap.py (shared with the on-premise agent) and built on first use.
Settings are validated here, at start, so a missing or malformed setting fails indexing with a message
that names it instead of failing the first request.
"""

import os

import azure.functions as func

from functions import customers, health, retry
from shared import bootstrap
from shared.log import configure_logging
from shared.settings import SettingsError

configure_logging()
bootstrap.settings()
if not os.environ.get("RETRY_QUEUE_NAME"):
    # The queue trigger binds to %RETRY_QUEUE_NAME%; without it the host cannot even index the app.
    raise SettingsError("RETRY_QUEUE_NAME: required: RetryCreateSAPCustomer's queue trigger reads it "
                        "(e.g. sap-customer-retry)")

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(customers.bp)
app.register_functions(retry.bp)
app.register_functions(health.bp)
