"""Structured logging with correlation ids, and a guard that keeps personal data and secrets out.

Every record logged inside `sync_context(account_id=..., tracking_id=..., invocation_id=...)` carries
those ids as attributes (`account_id`, `tracking_id`, `invocation_id`: the Functions host's id of the
invocation, set by functions/_telemetry.py); OpenTelemetry's logging handler turns such attributes into
customDimensions in Application Insights, and adds the trace's operation_Id. Modules log with
`logging.getLogger(__name__)` and pass only ids, codes and counts.
`RedactingFilter` is the safety net for what slips through: it masks secrets and the values of
fields that hold personal data (street, phone, name, ...).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator

_CONTEXT: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("sync_context", default={})  # noqa: B039

CORRELATION_FIELDS = ("account_id", "tracking_id", "invocation_id")

# key=value, "key": "value" and key: value forms of secrets and personal data
_SENSITIVE_KEYS = (
    r"passw(?:or)?d|passwd|secret|token|access_token|refresh_token|api[_-]?key|sig|signature|"
    r"sharedaccesskey|accountkey|private_key|authorization|client_secret|"
    r"street|phone|tel1_numbr|postalcode|postl_cod1|name|name_2|name_3|name_4|e_mail|email"
)
_KEY_VALUE = re.compile(
    rf"""(?ix)
    (?P<key>["']?(?:{_SENSITIVE_KEYS})["']?\s*[:=]\s*)
    (?P<value>"[^"]*"|'[^']*'|[^\s,;&}}]+)
    """
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+")
_CONNECTION_KEY = re.compile(r"(?i)(AccountKey|SharedAccessKey|SharedAccessSignature)=([^;\s]+)")


def redact(text: str) -> str:
    text = _CONNECTION_KEY.sub(lambda m: f"{m.group(1)}=***", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    return _KEY_VALUE.sub(lambda m: f"{m.group('key')}***", text)


@contextlib.contextmanager
def sync_context(**ids: str | None) -> Iterator[None]:
    """Attach correlation ids (account_id, tracking_id, invocation_id) to every record logged inside."""
    merged = {**_CONTEXT.get(), **{k: v for k, v in ids.items() if v}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, str]:
    return dict(_CONTEXT.get())


class CorrelationFilter(logging.Filter):
    """Copies the current correlation ids onto the record (blank when outside a sync)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _CONTEXT.get()
        for name in CORRELATION_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name, ""))
        return True


class RedactingFilter(logging.Filter):
    """Masks secrets and personal data in the formatted message before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_INSTALLED = False


def configure_logging(level: int = logging.INFO) -> None:
    """Install both filters on the root logger's handlers (idempotent; called by the composition root).

    Filters on handlers, not loggers, so records from every module (and library) pass through them.
    """
    global _INSTALLED
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(name)s [account=%(account_id)s tracking=%(tracking_id)s] "
            "%(message)s",
        )
    for handler in root.handlers:
        if not any(isinstance(f, CorrelationFilter) for f in handler.filters):
            handler.addFilter(CorrelationFilter())
            handler.addFilter(RedactingFilter())
    # Azure SDKs log full HTTP requests at INFO; keep them to warnings.
    for noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _INSTALLED = True
