"""The on-premise agent's settings and telemetry's: the relay listener, the proof key, the exporter."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.settings.declarations import DECLARED, SapTransport
from shared.settings.parsers import _proof_key, _relay_base_url, _relay_url, _text
from shared.settings_error import SettingsError


@dataclass(frozen=True)
class RelayListenerSettings:
    """The on-premise agent's side of the hybrid connection (a rule with the Listen right)."""

    url: str  # https://{namespace}/{hybrid connection}
    key_name: str
    key: str = field(repr=False)
    base_url: str | None = None  # ws://host:port of a local relay double instead of wss://{namespace}

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.strip("/")

    @property
    def listen_url(self) -> str:
        base = self.base_url or f"wss://{urlsplit(self.url).netloc}"
        return f"{base}/$hc/{self.path}?sb-hc-action=listen"


def load_relay_listener_settings(environ: Mapping[str, str] | None = None) -> RelayListenerSettings:
    """AGENT_RELAY_URL, AGENT_RELAY_KEY_NAME, AGENT_RELAY_KEY (a Listen rule), AGENT_RELAY_BASE_URL."""
    env = os.environ if environ is None else environ
    values = {name: _text(env, name) for name in ("AGENT_RELAY_URL", "AGENT_RELAY_KEY_NAME", "AGENT_RELAY_KEY")}
    for name, value in values.items():
        if value is None:
            raise SettingsError(f"{name}: required by the on-premise agent")
    url = _relay_url(values["AGENT_RELAY_URL"] or "", "AGENT_RELAY_URL")
    base_url = _relay_base_url(_text(env, "AGENT_RELAY_BASE_URL"), env, ("ws", "wss"), "AGENT_RELAY_BASE_URL")
    return RelayListenerSettings(url, values["AGENT_RELAY_KEY_NAME"] or "", values["AGENT_RELAY_KEY"] or "", base_url)


@dataclass(frozen=True)
class TelemetrySettings:
    """Application Insights through OpenTelemetry (shared/telemetry): off unless a connection string is set.

    `worker_exports`: PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true, with which the Functions Python
    worker itself calls `configure_azure_monitor()` before it imports function_app (Azure/azure-functions-
    python-worker, dispatcher.py `initialize_azure_monitor`); the app then only uses the providers the
    worker set, so there is never a second exporter."""

    connection_string: str | None = field(default=None, repr=False)
    worker_exports: bool = False

    @property
    def enabled(self) -> bool:
        return self.worker_exports or self.connection_string is not None


def _connection_string(env: Mapping[str, str], name: str) -> str | None:
    text = _text(env, name)
    if text is not None and "instrumentationkey=" not in text.lower():
        raise SettingsError(
            f"{name}: not an Application Insights connection string (InstrumentationKey=...;IngestionEndpoint=...)"
        )
    return text


def load_telemetry_settings(environ: Mapping[str, str] | None = None, *, agent: bool = False) -> TelemetrySettings:
    """The function app: APPLICATIONINSIGHTS_CONNECTION_STRING, PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY and,
    for Entra ingestion, APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`Authorization=AAD[;ClientId=<id>]`, read
    by the Azure Monitor exporter itself, checked here so a typo fails at start instead of every export).
    The on-premise agent: AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING (its own, so a developer's shell that
    has the function app's settings does not make a local agent export)."""
    env = os.environ if environ is None else environ
    if agent:
        return TelemetrySettings(
            connection_string=_connection_string(env, "AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING")
        )
    authentication = _text(env, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING")
    if authentication is not None:
        pairs = dict(part.partition("=")[::2] for part in authentication.split(";") if part)
        pairs = {key.strip().lower(): value.strip() for key, value in pairs.items()}
        if pairs.get("authorization") != "AAD" or not set(pairs) <= {"authorization", "clientid"}:
            raise SettingsError(
                "APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' (system-assigned "
                "identity) or 'Authorization=AAD;ClientId=<client id>' (user-assigned)"
            )
    # The worker's own test of the setting (azure_functions_worker/utils/common.py is_true_like).
    worker = (_text(env, "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY") or "").lower() in ("1", "true", "t", "yes", "y")
    return TelemetrySettings(
        connection_string=_connection_string(env, "APPLICATIONINSIGHTS_CONNECTION_STRING"), worker_exports=worker
    )


def load_agent_proof_key(environ: Mapping[str, str] | None = None) -> str | None:
    """The on-premise agent's AGENT_PROOF_KEY (the function app's SAP_AGENT_PROOF_KEY): the key the
    function app's proof on each request must be signed with; None when the agent checks no proof.

    AGENT_PROOF=on requires the key; AGENT_PROOF=off checks no proof (local tests only, logged);
    unset: required when the agent talks to a real SAP (SAP_TRANSPORT=rfc), optional with the simulator
    (checked when given)."""
    env = os.environ if environ is None else environ
    mode = (_text(env, "AGENT_PROOF") or "").lower()
    if mode not in ("", "on", "off"):
        raise SettingsError("AGENT_PROOF: on or off")
    if mode == "off":
        return None
    key = _text(env, "AGENT_PROOF_KEY")
    if key is None:
        if mode == "on" or (_text(env, "SAP_TRANSPORT") or "").lower() != SapTransport.SIMULATOR.value:
            raise SettingsError(
                "AGENT_PROOF_KEY: required by the on-premise agent (the function app's "
                "SAP_AGENT_PROOF_KEY); AGENT_PROOF=off only for local tests"
            )
        return None
    return _proof_key(key, "AGENT_PROOF_KEY")


def load_agent_concurrency(environ: Mapping[str, str] | None = None) -> int:
    """AGENT_CONCURRENCY: SAP units of work at a time (its declared default and minimum)."""
    env = os.environ if environ is None else environ
    declared = DECLARED["AGENT_CONCURRENCY"]
    try:
        concurrency = int(_text(env, "AGENT_CONCURRENCY") or declared.default or "")
    except ValueError:
        raise SettingsError("AGENT_CONCURRENCY: not a whole number") from None
    if concurrency < (declared.minimum or 0):
        raise SettingsError(f"AGENT_CONCURRENCY: at least {declared.minimum:g}")
    return concurrency


def load_answer_deadline(most_seconds: float, environ: Mapping[str, str] | None = None) -> float:
    """AGENT_ANSWER_DEADLINE_SECONDS: shorter than `most_seconds` (its default) for tests that cannot wait;
    longer is refused, since the relay answers 504 after 60 s whatever the agent does."""
    env = os.environ if environ is None else environ
    text = _text(env, "AGENT_ANSWER_DEADLINE_SECONDS")
    if not text:
        return most_seconds
    try:
        seconds = float(text)
    except ValueError:
        raise SettingsError("AGENT_ANSWER_DEADLINE_SECONDS: not a number") from None
    if not 0 < seconds <= most_seconds:
        raise SettingsError(
            f"AGENT_ANSWER_DEADLINE_SECONDS: more than 0 and at most {most_seconds:g} "
            "(the relay answers 504 to a request not answered within 60 s)"
        )
    return seconds


def load_simulator_faults(environ: Mapping[str, str] | None = None) -> str | None:
    """SAP_SIMULATOR_FAULTS as given, for the start check (the simulator parses it)."""
    env = os.environ if environ is None else environ
    return env.get("SAP_SIMULATOR_FAULTS")


def agent_environment(sap_timeout_default_seconds: float, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the agent's loaders read: the process's, with the agent's own default for
    SAP_TIMEOUT_SECONDS (shorter than the function app's: its unit of work must fit the relay's deadline)."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("SAP_TIMEOUT_SECONDS", f"{sap_timeout_default_seconds:g}")
    return env
