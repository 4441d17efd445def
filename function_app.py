"""Entry point the Functions host indexes: builds the FunctionApp and registers one blueprint per feature.

Adapters are picked in shared/bootstrap/ (the one composition root, which the on-premise agent and the
operations command use too) and built on first use.
Settings are validated here, at start, so a missing or malformed setting fails indexing with a message
that names it instead of failing the first request.
"""

import azure.functions as func

from functions import changes, customers, health, push, retry, sweep
from shared import bootstrap
from shared.log import configure_logging

configure_logging()
# Application Insights: on only with a connection string or the worker's telemetry setting; OpenTelemetry
# is imported only then (shared/telemetry), so a cold start without it pays nothing.
bootstrap.start_telemetry("function")
bootstrap.check_start_settings()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(customers.bp)
app.register_functions(retry.bp)
app.register_functions(health.bp)
app.register_functions(sweep.bp)
app.register_functions(push.bp)
app.register_functions(changes.bp)
