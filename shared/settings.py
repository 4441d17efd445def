"""Typed settings, read once from the environment.

The names are the app-setting names in Azure (and the keys of local.settings.json), so one table in
docs/settings.md documents every setting, for local runs and cloud deployments alike. Secrets are only
ever read here and are never part of a repr or a log record.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from shared.core.account_fields import DEFAULT_CUSTOMER_TYPES
from shared.core.organisation import SalesArea, SalesAreaSetup, SapOrganisation
from shared.core.reference import iso_language
from shared.core.retry_policy import RetryPolicy

# The Salesforce adapter's settings and the settings error are declared below both the settings and the
# adapters, which read no settings (pyproject.toml); re-exported here ("X as X").
from shared.core.salesforce_org import (
    GENERIC_LOGIN_HOSTS,
    SalesforceAuth,
    SalesforceSettings,
    organization_id,
)
from shared.core.salesforce_org import (
    PASSWORD_FLOW_DEPRECATED as PASSWORD_FLOW_DEPRECATED,
)
from shared.hosting import running_in_azure
from shared.settings_error import SettingsError as SettingsError

_Choice = TypeVar("_Choice", bound=StrEnum)


class SapTransport(StrEnum):
    SIMULATOR = "simulator"
    RFC = "rfc"
    RELAY = "relay"


class WriteBackMode(StrEnum):
    FUNCTION = "function"  # the function writes the SAP number back to Salesforce
    FLOW = "flow"  # the Power Automate flow does it with the HTTP answer
    OFF = "off"


@dataclass(frozen=True)
class SapConnectionSettings:
    """pyrfc logon parameters (application server or message server logon, SNC optional)."""

    parameters: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never show the password
        shown = {k: ("***" if k == "passwd" else v) for k, v in self.parameters.items()}
        return f"SapConnectionSettings({shown})"


@dataclass(frozen=True)
class RetrySettings(RetryPolicy):
    """The retry policy (shared.core.retry_policy) and the queue it works on."""

    queue_name: str = "sap-customer-retry"


@dataclass(frozen=True)
class Settings:
    sap_transport: SapTransport | None = SapTransport.SIMULATOR  # None only where SAP is not needed
    sap_connection: SapConnectionSettings = field(default_factory=SapConnectionSettings)
    sap_organisation: SapOrganisation = field(default_factory=SapOrganisation)
    sap_relay_url: str | None = None
    sap_relay_key_name: str | None = None
    sap_relay_key: str | None = field(default=None, repr=False)
    # Where relay requests actually go when not the namespace itself (tests: the relay double over http).
    sap_relay_base_url: str | None = None
    # A user-assigned managed identity's client id for the relay's Entra token (none: system-assigned).
    sap_relay_client_id: str | None = None
    # The app's own proof for the on-premise agent (HMAC key shared with the agent's AGENT_PROOF_KEY).
    sap_agent_proof_key: str | None = field(default=None, repr=False)
    sap_timeout_seconds: float = 30.0
    # RFC connections kept and reused across requests (rfc and simulator transports); 0: a logon per unit.
    sap_pool_size: int = 0
    # The (ID, NUMBER) messages with which BAPI_CUSTOMER_FIND says "nothing found" on this system.
    sap_find_no_match_messages: tuple[tuple[str, str], ...] = ()
    # SAP_GUARD_SEARCH_SINCE: the moment from which the ledger may have lost writes (restored from a backup,
    # moved, an emulator killed before it saved); while set, the duplicate guard searches SAP before every
    # create for a customer made since then (the rule: shared.core.guard_window).
    sap_guard_search_since: datetime | None = None
    storage_connection: str | None = field(default=None, repr=False)
    ledger_table_name: str = "sapcustomerledger"
    retry: RetrySettings = field(default_factory=RetrySettings)
    writeback: WriteBackMode = WriteBackMode.OFF
    salesforce: SalesforceSettings = field(default_factory=SalesforceSettings)


# pyrfc's own parameter names, keyed by the app-setting that carries each.
_SAP_CONNECTION_SETTINGS = {
    "SAP_ASHOST": "ashost",
    "SAP_SYSNR": "sysnr",
    "SAP_MSHOST": "mshost",
    "SAP_MSSERV": "msserv",
    "SAP_SYSID": "sysid",
    "SAP_GROUP": "group",
    "SAP_SAPROUTER": "saprouter",
    "SAP_CLIENT": "client",
    "SAP_USER": "user",
    "SAP_PASSWORD": "passwd",
    "SAP_LANG": "lang",
    "SAP_SNC_MODE": "snc_mode",
    "SAP_SNC_PARTNERNAME": "snc_partnername",
    "SAP_SNC_QOP": "snc_qop",
    "SAP_SNC_MYNAME": "snc_myname",
    "SAP_SNC_LIB": "snc_lib",
}

# SAP's classic IDES demo organisation, which the simulator's default customising mirrors.
_DEFAULT_SALES_AREAS = (
    '{"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000"},'
    ' "3000/10/00": {"companyCode": "3000", "referenceCustomer": "0000003000"}}'
)


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: '{raw}' is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}: {value} is below the minimum of {minimum}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: '{raw}' is not a number") from None
    if value <= 0:
        raise SettingsError(f"{name}: must be greater than 0")
    return value


def _choice(env: Mapping[str, str], name: str, enum: type[_Choice], default: _Choice | None) -> _Choice | None:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        return enum(raw.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise SettingsError(f"{name}: '{raw}' is not one of {allowed}") from None


def _sales_areas(text: str) -> dict[SalesArea, SalesAreaSetup]:
    """JSON object: {"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000"}, ...}; an
    area may add "language" (as SAP_DEFAULT_LANGUAGE) for its customers whose request has none."""
    name = "SAP_SALES_AREAS"
    try:
        data = json.loads(text)
    except ValueError:
        raise SettingsError(f"{name}: not valid JSON") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{name}: expected a JSON object keyed by SALESORG/CHANNEL/DIVISION")
    areas: dict[SalesArea, SalesAreaSetup] = {}
    for key, setup in data.items():
        if not isinstance(setup, dict) or not set(setup) <= {"companyCode", "referenceCustomer", "language"}:
            raise SettingsError(f"{name}: '{key}' must map to an object with companyCode, referenceCustomer "
                                "and/or language")
        areas[_sales_area(key, name)] = SalesAreaSetup(
            company_code=str(setup["companyCode"]) if setup.get("companyCode") else None,
            reference_customer=str(setup["referenceCustomer"]) if setup.get("referenceCustomer") else None,
            language=_language(str(setup["language"]), f"{name} ('{key}' language)") if setup.get("language")
            else None,
        )
    return areas


def _language(text: str, setting: str) -> str:
    """A language as SAP shows it, ISO 639-1 ("EN", "de") or SAP's one-character key ("E", "D"): stored as
    ISO 639-1, the form the request's `language` has, so the mapping sends LANGU and LANGU_ISO alike."""
    try:
        return iso_language(text)
    except KeyError:
        raise SettingsError(f"{setting}: '{text}' is not a language SAP has a key for; give its ISO 639-1 code "
                            "(e.g. EN, DE) or SAP's one-character key (e.g. E, D)") from None


def load_settings(environ: Mapping[str, str] | None = None, *, sap_required: bool = True) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first one that is wrong.

    `sap_required=False` is for the operations command, which needs storage (and Salesforce for a
    write-back) but never SAP: SAP_TRANSPORT may then be missing."""
    env = os.environ if environ is None else environ

    transport = _choice(env, "SAP_TRANSPORT", SapTransport, None)
    if transport is None and sap_required:
        # No default: a deployed app must say which SAP it talks to, so it can never land on the simulator.
        raise SettingsError("SAP_TRANSPORT: required: rfc (pyrfc in this process), relay (the on-premise "
                            "agent) or simulator (local runs and tests only)")
    if transport is SapTransport.SIMULATOR and running_in_azure(env):
        raise SettingsError("SAP_TRANSPORT: simulator is refused inside an Azure-hosted function app "
                            "(WEBSITE_SITE_NAME is set); use rfc or relay")
    connection = {
        parameter: value
        for setting, parameter in _SAP_CONNECTION_SETTINGS.items()
        if (value := _text(env, setting)) is not None
    }
    if transport is SapTransport.RFC:
        _require_rfc_logon(connection)

    default_area_text = _text(env, "SAP_DEFAULT_SALES_AREA")
    organisation = SapOrganisation(
        default_sales_area=_sales_area(default_area_text, "SAP_DEFAULT_SALES_AREA")
        if default_area_text
        else None,
        sales_areas=_sales_areas(_text(env, "SAP_SALES_AREAS") or _DEFAULT_SALES_AREAS),
        default_language=_language(language_text, "SAP_DEFAULT_LANGUAGE")
        if (language_text := _text(env, "SAP_DEFAULT_LANGUAGE"))
        else None,
    )

    relay_url = _text(env, "SAP_RELAY_URL")
    relay_key_name = _text(env, "SAP_RELAY_KEY_NAME")
    relay_key = _text(env, "SAP_RELAY_KEY")
    relay_base_url = _text(env, "SAP_RELAY_BASE_URL")
    agent_proof_key = _text(env, "SAP_AGENT_PROOF_KEY")
    if transport is SapTransport.RELAY:
        if relay_url is None:
            raise SettingsError("SAP_RELAY_URL: required when SAP_TRANSPORT=relay")
        # Neither: the managed identity sends (Entra token); both: the SAS Send rule; one alone is a mistake.
        if (relay_key_name is None) != (relay_key is None):
            missing = "SAP_RELAY_KEY" if relay_key is None else "SAP_RELAY_KEY_NAME"
            raise SettingsError(f"{missing}: required with the other SAS setting (or set neither to send "
                                "with the managed identity)")
        if agent_proof_key is not None:
            _proof_key(agent_proof_key, "SAP_AGENT_PROOF_KEY")
        relay_url = _relay_url(relay_url or "")
        relay_base_url = _relay_base_url(relay_base_url, env, ("http", "https"))

    retry = RetrySettings(
        queue_name=_queue_name(_text(env, "RETRY_QUEUE_NAME") or RetrySettings.queue_name),
        max_attempts=_integer(env, "RETRY_MAX_ATTEMPTS", RetrySettings.max_attempts, minimum=1),
        # At least a second: a zero delay would retry in a tight loop (and hammer a locked SAP user).
        base_delay_seconds=_integer(env, "RETRY_BASE_DELAY_SECONDS", RetrySettings.base_delay_seconds, minimum=1),
        max_delay_seconds=_integer(env, "RETRY_MAX_DELAY_SECONDS", RetrySettings.max_delay_seconds, minimum=1),
        retry_after_seconds=_integer(env, "RETRY_AFTER_SECONDS", RetrySettings.retry_after_seconds, minimum=1),
    )
    if retry.max_delay_seconds < retry.base_delay_seconds:
        raise SettingsError("RETRY_MAX_DELAY_SECONDS: must not be below RETRY_BASE_DELAY_SECONDS")
    if retry.max_delay_seconds >= 7 * 24 * 3600:
        # A message lives 7 days; Storage refuses a visibility timeout that reaches its expiry.
        raise SettingsError("RETRY_MAX_DELAY_SECONDS: must be below 604800 (7 days, a queue message's lifetime)")

    writeback = _choice(env, "SALESFORCE_WRITEBACK", WriteBackMode, WriteBackMode.OFF)
    salesforce = _salesforce_settings(env, writeback)

    return Settings(
        sap_transport=transport,
        sap_connection=SapConnectionSettings(connection),
        sap_organisation=organisation,
        sap_relay_url=relay_url,
        sap_relay_key_name=relay_key_name,
        sap_relay_key=relay_key,
        sap_relay_base_url=relay_base_url,
        sap_relay_client_id=_text(env, "AZURE_CLIENT_ID"),
        sap_agent_proof_key=agent_proof_key,
        sap_timeout_seconds=_number(env, "SAP_TIMEOUT_SECONDS", 30.0),
        sap_pool_size=_integer(env, "SAP_POOL_SIZE", 0, minimum=0),
        sap_find_no_match_messages=_no_match_messages(env),
        sap_guard_search_since=_guard_search_since(env),
        storage_connection=_storage_connection(_text(env, "AzureWebJobsStorage")),
        ledger_table_name=_text(env, "LEDGER_TABLE_NAME") or "sapcustomerledger",
        retry=retry,
        writeback=writeback,
        salesforce=salesforce,
    )


# Storage's queue naming rules ("Naming Queues and Metadata", learn.microsoft.com): 3 to 63 lowercase
# letters, digits and single dashes, a letter or digit at both ends. 56 at most here, so that the poison
# queue the Functions host adds ("<name>-poison") still fits.
_QUEUE_NAME = re.compile(r"(?=.{3,56}$)[a-z0-9]+(-[a-z0-9]+)*")


def _queue_name(text: str) -> str:
    if not _QUEUE_NAME.fullmatch(text):
        raise SettingsError("RETRY_QUEUE_NAME: a Storage queue name: 3 to 56 lowercase letters, digits and single "
                            "dashes, starting and ending with a letter or digit (56, so that '<name>-poison' "
                            "stays within Storage's 63), e.g. sap-customer-retry")
    return text


def _storage_connection(text: str | None) -> str | None:
    """AzureWebJobsStorage's form, checked at start rather than by the SDK's first call (a traceback).

    What the two SDKs the app uses need (azure-core parse_connection_string, azure-data-tables and
    azure-storage-queue parse_connection_str): Key=Value pairs separated by ';' with no key twice, a
    credential (AccountName with AccountKey, or SharedAccessSignature) and an endpoint for tables and
    for queues (TableEndpoint / QueueEndpoint, or AccountName to derive them); or the Azurite shortcut
    UseDevelopmentStorage=true alone (shared/storage/clients.py expands only that). The message never
    shows the value: it holds the account key."""
    if text is None:
        return None
    name = "AzureWebJobsStorage"
    if text.replace(" ", "").rstrip(";").lower() == "usedevelopmentstorage=true":
        return text
    pairs = [segment.split("=", 1) for segment in text.rstrip(";").split(";")]
    if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
        raise SettingsError(f"{name}: not a storage connection string: expected Key=Value pairs separated by ';' "
                            "(AccountName=...;AccountKey=...;EndpointSuffix=...) or UseDevelopmentStorage=true")
    keys = [key.strip().lower() for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise SettingsError(f"{name}: a key appears twice in the connection string")
    if "usedevelopmentstorage" in keys:
        raise SettingsError(f"{name}: UseDevelopmentStorage=true stands alone (the local emulator's shortcut)")
    if not ({"accountname", "accountkey"} <= set(keys) or "sharedaccesssignature" in keys):
        raise SettingsError(f"{name}: the connection string has no credential: AccountName with AccountKey, "
                            "or SharedAccessSignature")
    for endpoint in ("TableEndpoint", "QueueEndpoint"):
        if endpoint.lower() not in keys and "accountname" not in keys:
            raise SettingsError(f"{name}: the connection string names no {endpoint} and no AccountName to "
                                "derive it from")
    return text


def _guard_search_since(env: Mapping[str, str]) -> datetime | None:
    """SAP_GUARD_SEARCH_SINCE: an ISO 8601 moment with its offset (2026-12-01T08:00:00Z), not in the future."""
    name = "SAP_GUARD_SEARCH_SINCE"
    text = _text(env, name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{name}: '{text}' is not an ISO 8601 date and time, e.g. 2026-12-01T08:00:00Z") from None
    if moment.tzinfo is None:
        raise SettingsError(f"{name}: '{text}' has no offset; give it in UTC with Z (2026-12-01T08:00:00Z) or with "
                            "its offset (+01:00)")
    if moment > datetime.now(UTC):
        raise SettingsError(f"{name}: '{text}' is in the future; give the moment from which the ledger may have "
                            "lost writes (a backup's time, or when the product first ran)")
    return moment.astimezone(UTC)


def _relay_url(text: str, name: str = "SAP_RELAY_URL") -> str:
    """SAP_RELAY_URL: the hybrid connection, https://{namespace}/{hybrid connection name}."""
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/") or parts.query:
        raise SettingsError(f"{name}: '{text}' is not https://{{namespace}}/{{hybrid connection}} "
                            "(e.g. https://contoso.servicebus.windows.net/sap-agent)")
    return f"https://{parts.netloc}/{parts.path.strip('/')}"


def _relay_base_url(text: str | None, env: Mapping[str, str], schemes: tuple[str, ...],
                    name: str = "SAP_RELAY_BASE_URL") -> str | None:
    """SAP_RELAY_BASE_URL: where the relay's requests go instead of the namespace (a local relay double);
    refused in Azure, where the namespace itself is the only relay."""
    if text is None:
        return None
    if running_in_azure(env):
        raise SettingsError(f"{name}: refused inside an Azure-hosted app (it points the relay "
                            "transport at a local relay double); remove it")
    parts = urlsplit(text)
    if parts.scheme not in schemes or not parts.hostname or parts.path.strip("/") or parts.query:
        raise SettingsError(f"{name}: '{text}' is not {' or '.join(schemes)}://host:port "
                            "(e.g. http://127.0.0.1:9352)")
    return text.rstrip("/")


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
    return RelayListenerSettings(url, values["AGENT_RELAY_KEY_NAME"] or "", values["AGENT_RELAY_KEY"] or "",
                                 base_url)


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
        raise SettingsError(f"{name}: not an Application Insights connection string "
                            "(InstrumentationKey=...;IngestionEndpoint=...)")
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
            connection_string=_connection_string(env, "AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING"))
    authentication = _text(env, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING")
    if authentication is not None:
        pairs = dict(part.partition("=")[::2] for part in authentication.split(";") if part)
        pairs = {key.strip().lower(): value.strip() for key, value in pairs.items()}
        if pairs.get("authorization") != "AAD" or not set(pairs) <= {"authorization", "clientid"}:
            raise SettingsError("APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' (system-assigned "
                                "identity) or 'Authorization=AAD;ClientId=<client id>' (user-assigned)")
    # The worker's own test of the setting (azure_functions_worker/utils/common.py is_true_like).
    worker = (_text(env, "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY") or "").lower() in ("1", "true", "t", "yes", "y")
    return TelemetrySettings(connection_string=_connection_string(env, "APPLICATIONINSIGHTS_CONNECTION_STRING"),
                             worker_exports=worker)


MIN_PROOF_KEY_LENGTH = 32


def _proof_key(text: str, name: str) -> str:
    if len(text) < MIN_PROOF_KEY_LENGTH:
        raise SettingsError(f"{name}: at least {MIN_PROOF_KEY_LENGTH} characters (e.g. `openssl rand -base64 48`)")
    return text


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
            raise SettingsError("AGENT_PROOF_KEY: required by the on-premise agent (the function app's "
                                "SAP_AGENT_PROOF_KEY); AGENT_PROOF=off only for local tests")
        return None
    return _proof_key(key, "AGENT_PROOF_KEY")


def _sales_area(text: str, setting: str) -> SalesArea:
    try:
        return SalesArea.parse(text, setting)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _no_match_messages(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """SAP_FIND_NO_MATCH_MESSAGE: "F2 173" or "F2/173", several separated by commas."""
    text = _text(env, "SAP_FIND_NO_MATCH_MESSAGE")
    if text is None:
        return ()
    messages = []
    for item in text.split(","):
        parts = item.replace("/", " ").split()
        if len(parts) != 2 or not parts[1].isdigit() or len(parts[1]) > 3:
            raise SettingsError(f"SAP_FIND_NO_MATCH_MESSAGE: '{item.strip()}' is not 'MESSAGE_CLASS NUMBER' "
                                "(e.g. 'F2 173')")
        messages.append((parts[0].upper(), parts[1].zfill(3)))
    return tuple(messages)


def _require_rfc_logon(connection: Mapping[str, str]) -> None:
    has_application_server = "ashost" in connection and "sysnr" in connection
    has_message_server = "mshost" in connection and ("sysid" in connection or "msserv" in connection)
    if not (has_application_server or has_message_server):
        raise SettingsError(
            "SAP_ASHOST and SAP_SYSNR (application server logon) or SAP_MSHOST with SAP_SYSID and "
            "SAP_GROUP (message server logon): required when SAP_TRANSPORT=rfc"
        )
    for name in ("SAP_CLIENT", "SAP_USER"):
        if _SAP_CONNECTION_SETTINGS[name] not in connection:
            raise SettingsError(f"{name}: required when SAP_TRANSPORT=rfc")
    if "passwd" not in connection and "snc_partnername" not in connection:
        raise SettingsError("SAP_PASSWORD (or SNC via SAP_SNC_PARTNERNAME): required when SAP_TRANSPORT=rfc")


def _organization_id(text: str | None) -> str | None:
    """SALESFORCE_ORGANIZATION_ID: the org's 15- or 18-character Id (Setup > Company Information)."""
    if text is None:
        return None
    try:
        return organization_id(text)
    except ValueError as error:
        raise SettingsError(f"SALESFORCE_ORGANIZATION_ID: {error} (Setup > Company Information > "
                            "Salesforce.com Organization ID, e.g. 00D5g000004XyZ1EAK)") from None


def _customer_types(text: str | None) -> tuple[str, ...]:
    """SALESFORCE_CUSTOMER_TYPES: the Account Type picklist values (API names) that mean "customer",
    comma-separated, e.g. "Customer - Direct,Customer - Channel" (the older default picklist)."""
    if text is None:
        return DEFAULT_CUSTOMER_TYPES
    values = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not values:
        raise SettingsError("SALESFORCE_CUSTOMER_TYPES: no value; give the Account Type values that mean "
                            "customer, comma-separated (e.g. Customer - Direct,Customer - Channel)")
    for value in values:
        # A picklist value's API name is at most 255 characters (Salesforce's picklist limits).
        if len(value) > 255 or any(ord(char) < 32 for char in value):
            raise SettingsError(f"SALESFORCE_CUSTOMER_TYPES: '{value[:40]}' is not an Account Type picklist value")
    return values


def _require_my_domain(login_url: str) -> None:
    """client_credentials is refused at the generic login hosts (GENERIC_LOGIN_HOSTS): fail at start."""
    if (urlsplit(login_url).hostname or "").lower() in GENERIC_LOGIN_HOSTS:
        raise SettingsError(f"SALESFORCE_LOGIN_URL: {login_url} does not take the client credentials flow "
                            "(SALESFORCE_AUTH=client_credentials); set your org's My Domain login URL, e.g. "
                            "https://yourcompany.my.salesforce.com (Setup > My Domain; Salesforce Help 000886201)")


def _salesforce_settings(env: Mapping[str, str], writeback: WriteBackMode | None) -> SalesforceSettings:
    auth = _choice(env, "SALESFORCE_AUTH", SalesforceAuth, None)
    settings = SalesforceSettings(
        auth=auth,
        login_url=(_text(env, "SALESFORCE_LOGIN_URL") or "https://login.salesforce.com").rstrip("/"),
        instance_url=(_text(env, "SALESFORCE_INSTANCE_URL") or "").rstrip("/") or None,
        api_version=_text(env, "SALESFORCE_API_VERSION") or "61.0",
        client_id=_text(env, "SALESFORCE_CLIENT_ID"),
        client_secret=_text(env, "SALESFORCE_CLIENT_SECRET"),
        username=_text(env, "SALESFORCE_USERNAME"),
        password=_text(env, "SALESFORCE_PASSWORD"),
        security_token=_text(env, "SALESFORCE_SECURITY_TOKEN"),
        private_key=_text(env, "SALESFORCE_PRIVATE_KEY"),
        ca_bundle=_text(env, "SALESFORCE_CA_BUNDLE"),
        organization_id=_organization_id(_text(env, "SALESFORCE_ORGANIZATION_ID")),
        customer_types=_customer_types(_text(env, "SALESFORCE_CUSTOMER_TYPES")),
    )
    if auth is SalesforceAuth.CLIENT_CREDENTIALS:
        _require_my_domain(settings.login_url)
    if writeback is not WriteBackMode.FUNCTION:
        return settings
    if auth is None:
        raise SettingsError("SALESFORCE_AUTH: required when SALESFORCE_WRITEBACK=function "
                            "(client_credentials, jwt or password)")
    needed = {
        SalesforceAuth.CLIENT_CREDENTIALS: ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"),
        SalesforceAuth.JWT: ("SALESFORCE_CLIENT_ID", "SALESFORCE_USERNAME", "SALESFORCE_PRIVATE_KEY"),
        # the OAuth username-password flow needs the connected app too
        SalesforceAuth.PASSWORD: ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET", "SALESFORCE_USERNAME",
                                  "SALESFORCE_PASSWORD"),
    }[auth]
    for name in needed:
        if _text(env, name) is None:
            raise SettingsError(f"{name}: required when SALESFORCE_AUTH={auth.value}")
    return settings
