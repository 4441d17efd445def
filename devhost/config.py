"""What the local host reads from the app directory: host.json, local.settings.json and app settings."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_ROUTE_PREFIX = "api"
# The Functions host caps a queue message batch at 32, the Storage service's own maximum per Get Messages call.
MAX_QUEUE_BATCH_SIZE = 32
# Azurite's well-known development account (published in the Azurite and Storage emulator docs).
DEVELOPMENT_ACCOUNT_NAME = "devstoreaccount1"
DEVELOPMENT_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<hours>\d+):(?P<minutes>\d+):(?P<seconds>\d+(?:\.\d+)?)$")
_APP_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


class HostConfigError(Exception):
    """host.json or local.settings.json cannot be read, or a value in it has the wrong form."""


class AppSettingsError(HostConfigError):
    """function_app.py refused its settings while it was imported (its own start-up check): a message that
    names the setting is all a developer needs, so it is reported as one line, without a traceback."""


def is_settings_error(error: BaseException) -> bool:
    """An app's own settings check: its exception class (or a base) is called ...SettingsError, as the
    Functions apps in this repository name it (shared.settings.SettingsError). The host imports nothing of
    the app to decide this."""
    return any(cls.__name__.endswith("SettingsError") for cls in type(error).__mro__)


@dataclass(frozen=True)
class QueueOptions:
    """extensions.queues of host.json, with the Functions host's defaults."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval_seconds: float = 60.0
    visibility_timeout_seconds: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: str = "base64"


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    queues: QueueOptions = QueueOptions()


def parse_timespan(value: object, setting: str) -> float:
    """Seconds in a .NET TimeSpan ("00:00:30", "1.00:00:00") or a number of milliseconds, as host.json allows."""
    if isinstance(value, bool):
        raise HostConfigError(f"{setting}: expected a time span like 00:00:30, got {value!r}")
    if isinstance(value, int | float):
        return float(value) / 1000.0
    match = _TIMESPAN.match(str(value).strip())
    if not match:
        raise HostConfigError(f"{setting}: expected a time span like 00:00:30, got {value!r}")
    days = int(match["days"] or 0)
    return days * 86400 + int(match["hours"]) * 3600 + int(match["minutes"]) * 60 + float(match["seconds"])


def _positive_int(section: Mapping[str, Any], key: str, default: int, maximum: int | None = None) -> int:
    value = section.get(key.lower(), default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (maximum and value > maximum):
        bound = f" and at most {maximum}" if maximum else ""
        raise HostConfigError(f"extensions.queues.{key}: expected a whole number of at least 1{bound}, got {value!r}")
    return value


def _case_insensitive(section: object) -> dict[str, Any]:
    # The host binds configuration keys case-insensitively ("BatchSize" and "batchSize" both work).
    return {str(k).lower(): v for k, v in section.items()} if isinstance(section, dict) else {}


def read_queue_options(queues: Mapping[str, Any]) -> QueueOptions:
    section = _case_insensitive(queues)
    batch_size = _positive_int(section, "batchSize", 16, MAX_QUEUE_BATCH_SIZE)
    # The host's default is batchSize/2 per vCPU; one local process counts as one.
    new_batch_threshold = section.get("newbatchthreshold", batch_size // 2)
    if isinstance(new_batch_threshold, bool) or not isinstance(new_batch_threshold, int) or new_batch_threshold < 0:
        raise HostConfigError(
            f"extensions.queues.newBatchThreshold: expected a whole number, got {new_batch_threshold!r}"
        )
    encoding = str(section.get("messageencoding", "base64")).lower()
    if encoding not in ("base64", "none"):
        raise HostConfigError(f"extensions.queues.messageEncoding: expected base64 or none, got {encoding!r}")
    max_polling = parse_timespan(section.get("maxpollinginterval", "00:01:00"), "extensions.queues.maxPollingInterval")
    if max_polling < 0.1:
        raise HostConfigError("extensions.queues.maxPollingInterval: must be at least 100 ms, as the host requires")
    return QueueOptions(
        batch_size=batch_size,
        new_batch_threshold=new_batch_threshold,
        max_polling_interval_seconds=max_polling,
        visibility_timeout_seconds=parse_timespan(
            section.get("visibilitytimeout", "00:00:00"), "extensions.queues.visibilityTimeout"
        ),
        max_dequeue_count=_positive_int(section, "maxDequeueCount", 5),
        message_encoding=encoding,
    )


def read_host_config(app_dir: Path) -> HostConfig:
    path = app_dir / "host.json"
    if not path.is_file():
        logger.warning("no host.json in %s: using the host's defaults", app_dir)
        return HostConfig()
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise HostConfigError(f"{path}: {error}") from error
    extensions = _case_insensitive(_case_insensitive(document).get("extensions"))
    http = _case_insensitive(extensions.get("http"))
    route_prefix = http.get("routeprefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(route_prefix, str):
        raise HostConfigError(f"extensions.http.routePrefix: expected a string, got {route_prefix!r}")
    return HostConfig(
        route_prefix=route_prefix.strip("/"),
        queues=read_queue_options(extensions.get("queues") or {}),
    )


def load_local_settings(app_dir: Path, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Copies local.settings.json "Values" into the environment; variables already set win, as in Core Tools.

    Returns the names it set (never the values: they hold connection strings and keys).
    """
    environ = os.environ if environ is None else environ
    path = app_dir / "local.settings.json"
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise HostConfigError(f"{path}: {error}") from error
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise HostConfigError(f'{path}: "Values" must be an object')
    applied = []
    for name, value in values.items():
        if name not in environ and value is not None:
            environ[name] = str(value)
            applied.append(name)
    return applied


def resolve_app_settings(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replaces %NAME% with the app setting NAME, as the host does for binding properties like queueName."""
    environ = os.environ if environ is None else environ

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise HostConfigError(f"app setting {name!r} (referenced as %{name}%) is not set")
        return environ[name]

    return _APP_SETTING_REFERENCE.sub(setting, value)


def disabled_setting_name(function_name: str) -> str:
    """The app setting that disables one function: `AzureWebJobs.<FUNCTION_NAME>.Disabled` ("How to disable
    functions in Azure Functions", learn.microsoft.com/azure/azure-functions/disable-function, source
    MicrosoftDocs/azure-docs articles/azure-functions/disable-function.md; locally it goes in
    local.settings.json "Values" like any setting)."""
    return f"AzureWebJobs.{function_name}.Disabled"


def is_disabled(function_name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the app settings disable this function: its setting is `true` (any case, as .NET's
    bool.Parse reads it). The documentation names `true` and `false` only; whether the host also takes
    `1` is unverified here, so anything else leaves the function enabled (the host's default)."""
    environ = os.environ if environ is None else environ
    return environ.get(disabled_setting_name(function_name), "").strip().lower() == "true"


def development_storage_connection_string(queue_endpoint: str = "http://127.0.0.1:10001") -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEVELOPMENT_ACCOUNT_NAME};"
        f"AccountKey={DEVELOPMENT_ACCOUNT_KEY};QueueEndpoint={queue_endpoint}/{DEVELOPMENT_ACCOUNT_NAME};"
    )
