"""`python -m devhost [--app-dir DIR] [--port 7071] [--host 127.0.0.1]`: serve a Functions app locally."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from devhost.app_loader import AppLoadError
from devhost.config import HostConfigError
from devhost.host import DEFAULT_POLLING_CAP_SECONDS, DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, LocalHost
from devhost.queue_listener import IN_FLIGHT_VISIBILITY_SECONDS, QueueConnectionError
from devhost.routing import RouteTemplateError

logger = logging.getLogger("devhost")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app-dir", default=".", help="folder with function_app.py and host.json (default: .)")
    parser.add_argument("--port", type=int, default=7071, help="HTTP port (default: 7071, as func start)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--max-polling-interval",
        type=float,
        default=DEFAULT_POLLING_CAP_SECONDS,
        metavar="SECONDS",
        help="cap on host.json queues.maxPollingInterval for local runs (default: %(default)s; 0 = no cap)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for running invocations at shutdown (default: %(default)s)",
    )
    parser.add_argument(
        "--in-flight-visibility",
        type=float,
        default=IN_FLIGHT_VISIBILITY_SECONDS,
        metavar="SECONDS",
        help="how long a queue message being processed stays invisible, renewed every half of it "
        "while it runs; a crashed host's message is visible again within it "
        "(default: %(default)g)",
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


# What every LogRecord has; anything else on a record is a structured field the app passed (extra=...).
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class StructuredFieldsFormatter(logging.Formatter):
    """Appends the structured fields an app attaches to its records (Application Insights would show
    them as customDimensions), so correlation ids are visible in the local console too."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES and v not in (None, "")}
        if not fields:
            return text
        return f"{text}  [{' '.join(f'{key}={value}' for key, value in sorted(fields.items()))}]"


def configure_console_logging(verbose: bool) -> None:
    """Root handler first, so the app's records (root logger, INFO) reach the console as in the real host."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(StructuredFieldsFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    # The Storage SDK logs every request at INFO; the poll loop would drown the app's own lines.
    for noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _serve(local_host: LocalHost) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, local_host.request_stop)
        except (NotImplementedError, RuntimeError):  # Windows event loops have no add_signal_handler
            signal.signal(signum, lambda *_: local_host.request_stop())
    await local_host.serve_until_stopped()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    configure_console_logging(arguments.verbose)
    local_host = LocalHost(
        arguments.app_dir,
        host=arguments.host,
        port=arguments.port,
        polling_cap_seconds=arguments.max_polling_interval or None,
        shutdown_timeout_seconds=arguments.shutdown_timeout,
        in_flight_visibility_seconds=arguments.in_flight_visibility,
    )
    try:
        local_host.load()
        asyncio.run(_serve(local_host))
    except (AppLoadError, HostConfigError, QueueConnectionError, RouteTemplateError, OSError) as error:
        logger.error("cannot start: %s", error, exc_info=isinstance(error, AppLoadError))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
