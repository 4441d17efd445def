"""Structured logging with correlation ids, and a guard that keeps personal data and secrets out.

Every record logged inside `sync_context(account_id=..., tracking_id=..., invocation_id=...)` carries
those ids as attributes (`account_id`, `tracking_id`, `invocation_id`: the Functions host's id of the
invocation, set by functions/_telemetry.py); OpenTelemetry's logging handler turns such attributes into
customDimensions in Application Insights, and adds the trace's operation_Id. Modules log with
`logging.getLogger(__name__)` and pass only ids, codes and counts.
`RedactingFilter` is the safety net for what slips through: it masks secrets and the values of
fields that hold personal data (street, phone, name, ...) in every record but the Functions worker's own
(WORKER_LOGGERS): those are Microsoft's system records ("Function Name: CreateSAPCustomer, ..."), which the
host needs legible and which carry no data of ours.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator

_CONTEXT: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("sync_context", default={})  # noqa: B039

CORRELATION_FIELDS = ("account_id", "tracking_id", "invocation_id")

# The names whose values are masked, lower case. They match case-insensitively and also at the end of a
# longer word ("username", "x-api-key"): what is masked is what follows the name and a ':' or '='.
SENSITIVE_KEYS = (
    "password",
    "passwd",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "api-key",
    "apikey",
    "sig",
    "signature",
    "sharedaccesskey",
    "accountkey",
    "private_key",
    "authorization",
    "client_secret",
    "street",
    "phone",
    "tel1_numbr",
    "postalcode",
    "postl_cod1",
    "name",
    "name_2",
    "name_3",
    "name_4",
    "e_mail",
    "email",
)
# key=value, "key": "value" and key: value forms of secrets and personal data. Not a parser's position
# ("unclosed token: line 1, column 1083", expat's message form): a value is never "line N, column N".
_KEY_VALUE = re.compile(
    rf"""(?ix)
    (?P<key>["']?(?:{"|".join(re.escape(key) for key in SENSITIVE_KEYS)})["']?\s*[:=]\s*)
    (?!line\s\d+,\scolumn\s\d+)
    (?P<value>"[^"]*"|'[^']*'|[^\s,;&}}]+)
    """
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+")
# Its names end in sensitive keys ("accountkey", "sharedaccesskey", "signature") followed by "=".
_CONNECTION_KEY = re.compile(r"(?i)(AccountKey|SharedAccessKey|SharedAccessSignature)=([^;\s]+)")
_SEPARATOR = re.compile(r"[:=]")
_LONGEST_KEY = max(len(key) for key in SENSITIVE_KEYS)
# How far before a separator a key is looked for; whitespace between key and separator is allowed.
_KEY_WINDOW = 64


def _may_need_redaction(text: str) -> bool:
    """False only when none of the three patterns can match: every record passes through `redact`, and
    the key-value pattern alone costs about a microsecond per character (it tries every key at every
    position), while most messages ("create started", the host's "Executed ...") hold no key at all.

    Exact, not a heuristic: `_KEY_VALUE` and `_CONNECTION_KEY` need a key right before a ':' or '='
    (after optional whitespace and one quote), `_BEARER` needs "bearer" or "basic". Text that is not
    ASCII always gets the full pass: case-insensitive matching lets some other letters stand for ASCII
    ones (KELVIN SIGN for "k", LONG S for "s", dotted and dotless I for "i").
    """
    if not text.isascii():
        return True
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        return True
    for separator in _SEPARATOR.finditer(lowered):
        end = separator.start()
        before = lowered[max(0, end - _KEY_WINDOW) : end].rstrip()
        if before.endswith(("'", '"')):
            before = before[:-1]
        if before.endswith(SENSITIVE_KEYS):
            return True
        if end > _KEY_WINDOW and len(before) <= _LONGEST_KEY:
            return True  # a long run of whitespace: the key may start before the window
    return False


def redact(text: str) -> str:
    """The text with secrets and personal data masked."""
    return _masked(text) if _may_need_redaction(text) else text


def _masked(text: str) -> str:
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


# The loggers of Microsoft's Python workers, whose records the worker sends to the host as its own
# ("System" category), exactly as the workers tell them apart (`is_system_log_category`: a name starting
# with one of these): Azure/azure-functions-python-worker azure_functions_worker/logging.py
# (SYSTEM_LOG_PREFIX 'azure_functions_worker', SYSTEM_ERROR_LOG_PREFIX 'azure_functions_worker_errors',
# SDK_LOG_PREFIX 'azure.functions'), proxy_worker/logging.py for Python 3.13+ ('proxy_worker'), and the
# azure-functions-runtime 1.3.0 library the proxy worker loads (azure_functions_runtime/logging.py:
# 'azure.functions'). The app never logs under these names (its loggers are its modules' names).
WORKER_LOGGERS = ("azure_functions_worker", "proxy_worker", "azure.functions")


def is_worker_record(record: logging.LogRecord) -> bool:
    return record.name.startswith(WORKER_LOGGERS)


class RedactingFilter(logging.Filter):
    """Masks secrets and personal data in the formatted message before any handler sees it; the Functions
    worker's own records (WORKER_LOGGERS) pass untouched, since `name` is a sensitive key and the worker's
    "Function Name: X" would read "Function Name: ***" (issue 20 item 6)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if is_worker_record(record):
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_INSTALLED = False


def configure_logging(level: int = logging.INFO) -> None:
    """Install both filters on the root logger's handlers (idempotent; called by the composition root).

    Filters on handlers, not loggers, so records from every module (and library) pass through them; in
    Azure that includes the worker's own handler to the host, whose system records the redaction leaves
    as they are (RedactingFilter, WORKER_LOGGERS).
    """
    global _INSTALLED
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(name)s [account=%(account_id)s tracking=%(tracking_id)s] %(message)s",
        )
    for handler in root.handlers:
        if not any(isinstance(f, CorrelationFilter) for f in handler.filters):
            handler.addFilter(CorrelationFilter())
            handler.addFilter(RedactingFilter())
    # Azure SDKs log full HTTP requests at INFO; keep them to warnings.
    for noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _INSTALLED = True
