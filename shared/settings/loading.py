"""Loading: the function app's settings read once from the environment into typed values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.core.organization import SapOrganization
from shared.core.retry_policy import RetryPolicy
from shared.core.salesforce_org import SalesforceAuth, SalesforceSettings
from shared.hosting import running_in_azure
from shared.settings.changes import ChangeSettings, load_change_settings
from shared.settings.declarations import DECLARED, SapTransport, WriteBackMode
from shared.settings.parsers import (
    _choice,
    _customer_types,
    _guard_search_since,
    _integer,
    _language,
    _no_match_messages,
    _number,
    _organization_id,
    _proof_key,
    _queue_name,
    _relay_base_url,
    _relay_url,
    _require_my_domain,
    _sales_area,
    _sales_areas,
    _storage_connection,
    _text,
    _with_default,
)
from shared.settings.s4 import ODataSettings, load_odata_settings
from shared.settings_error import SettingsError

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


@dataclass(frozen=True)
class SapConnectionSettings:
    """pyrfc logon parameters (application server or message server logon, SNC optional)."""

    parameters: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never show the password
        shown = {k: ("***" if k == "passwd" else v) for k, v in self.parameters.items()}
        return f"SapConnectionSettings({shown})"


@dataclass(frozen=True)
class StorageIdentity:
    """The identity-based storage connection (AzureWebJobsStorage__*), as the Functions host reads it: an
    explicit service URI, else one derived from the account name."""

    table_service_uri: str | None = None
    queue_service_uri: str | None = None
    credential: str | None = None  # "managedidentity"; otherwise the default credential chain
    client_id: str | None = None  # a user-assigned identity's


def _storage_identity(env: Mapping[str, str]) -> StorageIdentity:
    account = _text(env, "AzureWebJobsStorage__accountName")
    return StorageIdentity(
        table_service_uri=_text(env, "AzureWebJobsStorage__tableServiceUri")
        or (f"https://{account}.table.core.windows.net" if account else None),
        queue_service_uri=_text(env, "AzureWebJobsStorage__queueServiceUri")
        or (f"https://{account}.queue.core.windows.net" if account else None),
        credential=_text(env, "AzureWebJobsStorage__credential"),
        client_id=_text(env, "AzureWebJobsStorage__clientId"),
    )


@dataclass(frozen=True)
class RetrySettings(RetryPolicy):
    """The retry policy (shared.core.retry_policy) and the queue it works on."""

    queue_name: str = DECLARED["RETRY_QUEUE_NAME"].default or ""


@dataclass(frozen=True)
class Settings:
    sap_transport: SapTransport | None = SapTransport.SIMULATOR  # None only where SAP is not needed
    sap_connection: SapConnectionSettings = field(default_factory=SapConnectionSettings)
    sap_organization: SapOrganization = field(default_factory=SapOrganization)
    sap_relay_url: str | None = None
    sap_relay_key_name: str | None = None
    sap_relay_key: str | None = field(default=None, repr=False)
    # Where relay requests actually go when not the namespace itself (tests: the relay double over http).
    sap_relay_base_url: str | None = None
    # A user-assigned managed identity's client id for the relay's Entra token (none: system-assigned).
    sap_relay_client_id: str | None = None
    # The app's own proof for the on-premise agent (HMAC key shared with the agent's AGENT_PROOF_KEY).
    sap_agent_proof_key: str | None = field(default=None, repr=False)
    sap_timeout_seconds: float = float(DECLARED["SAP_TIMEOUT_SECONDS"].default or 0)
    # RFC connections kept and reused across requests (rfc and simulator transports); 0: a logon per unit.
    sap_pool_size: int = int(DECLARED["SAP_POOL_SIZE"].default or 0)
    # The (ID, NUMBER) messages with which BAPI_CUSTOMER_FIND says "nothing found" on this system.
    sap_find_no_match_messages: tuple[tuple[str, str], ...] = ()
    # SAP_GUARD_SEARCH_SINCE: the moment from which the ledger may have lost writes (restored from a backup,
    # moved, an emulator killed before it saved); while set, the duplicate guard searches SAP before every
    # create for a customer made since then (the rule: shared.core.guard_window).
    sap_guard_search_since: datetime | None = None
    storage_connection: str | None = field(default=None, repr=False)
    storage_identity: StorageIdentity = field(default_factory=StorageIdentity)
    ledger_table_name: str = DECLARED["LEDGER_TABLE_NAME"].default or ""
    retry: RetrySettings = field(default_factory=RetrySettings)
    writeback: WriteBackMode = WriteBackMode.OFF
    salesforce: SalesforceSettings = field(default_factory=SalesforceSettings)
    # SAP_TRANSPORT=odata: S/4HANA's API_BUSINESS_PARTNER (shared/settings/s4.py); None with any other transport.
    sap_odata: ODataSettings | None = None
    # The change path (issue 26): SAP_CHANGE_CONFLICT and SALESFORCE_OWNED_FIELDS.
    changes: ChangeSettings = field(default_factory=ChangeSettings)


def load_settings(environ: Mapping[str, str] | None = None, *, sap_required: bool = True) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first one that is wrong.

    `sap_required=False` is for the operations command, which needs storage (and Salesforce for a
    write-back) but never SAP: SAP_TRANSPORT may then be missing."""
    env = os.environ if environ is None else environ

    transport = _choice(env, "SAP_TRANSPORT", SapTransport, None)
    if transport is None and sap_required:
        # No default: a deployed app must say which SAP it talks to, so it can never land on the simulator.
        raise SettingsError(
            "SAP_TRANSPORT: required: rfc (pyrfc in this process), relay (the on-premise "
            "agent), odata (S/4HANA's Business Partner service) or simulator (local runs and tests only)"
        )
    if transport is SapTransport.SIMULATOR and running_in_azure(env):
        raise SettingsError(
            "SAP_TRANSPORT: simulator is refused inside an Azure-hosted function app "
            "(WEBSITE_SITE_NAME is set); use rfc, relay or odata"
        )
    connection = {
        parameter: value
        for setting, parameter in _SAP_CONNECTION_SETTINGS.items()
        if (value := _text(env, setting)) is not None
    }
    if transport is SapTransport.RFC:
        _require_rfc_logon(connection)

    default_area_text = _text(env, "SAP_DEFAULT_SALES_AREA")
    organization = SapOrganization(
        default_sales_area=_sales_area(default_area_text, "SAP_DEFAULT_SALES_AREA") if default_area_text else None,
        sales_areas=_sales_areas(_with_default(env, "SAP_SALES_AREAS")),
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
            raise SettingsError(
                f"{missing}: required with the other SAS setting (or set neither to send with the managed identity)"
            )
        if agent_proof_key is not None:
            _proof_key(agent_proof_key, "SAP_AGENT_PROOF_KEY")
        relay_url = _relay_url(relay_url or "")
        relay_base_url = _relay_base_url(relay_base_url, env, ("http", "https"))

    retry = RetrySettings(
        queue_name=_queue_name(_with_default(env, "RETRY_QUEUE_NAME")),
        max_attempts=_integer(env, "RETRY_MAX_ATTEMPTS"),
        # At least a second: a zero delay would retry in a tight loop (and hammer a locked SAP user).
        base_delay_seconds=_integer(env, "RETRY_BASE_DELAY_SECONDS"),
        max_delay_seconds=_integer(env, "RETRY_MAX_DELAY_SECONDS"),
        retry_after_seconds=_integer(env, "RETRY_AFTER_SECONDS"),
    )
    if retry.max_delay_seconds < retry.base_delay_seconds:
        raise SettingsError("RETRY_MAX_DELAY_SECONDS: must not be below RETRY_BASE_DELAY_SECONDS")
    if retry.max_delay_seconds >= 7 * 24 * 3600:
        # A message lives 7 days; Storage refuses a visibility timeout that reaches its expiry.
        raise SettingsError("RETRY_MAX_DELAY_SECONDS: must be below 604800 (7 days, a queue message's lifetime)")

    writeback = _choice(
        env, "SALESFORCE_WRITEBACK", WriteBackMode, WriteBackMode(DECLARED["SALESFORCE_WRITEBACK"].default or "")
    )
    salesforce = _salesforce_settings(env, writeback)

    return Settings(
        sap_transport=transport,
        sap_connection=SapConnectionSettings(connection),
        sap_organization=organization,
        sap_relay_url=relay_url,
        sap_relay_key_name=relay_key_name,
        sap_relay_key=relay_key,
        sap_relay_base_url=relay_base_url,
        sap_relay_client_id=_text(env, "AZURE_CLIENT_ID"),
        sap_agent_proof_key=agent_proof_key,
        sap_timeout_seconds=_number(env, "SAP_TIMEOUT_SECONDS"),
        sap_pool_size=_integer(env, "SAP_POOL_SIZE"),
        sap_find_no_match_messages=_no_match_messages(env),
        sap_guard_search_since=_guard_search_since(env),
        storage_connection=_storage_connection(_text(env, "AzureWebJobsStorage")),
        storage_identity=_storage_identity(env),
        ledger_table_name=_with_default(env, "LEDGER_TABLE_NAME"),
        retry=retry,
        writeback=writeback,
        salesforce=salesforce,
        sap_odata=load_odata_settings(env, transport is SapTransport.ODATA),
        changes=load_change_settings(env),
    )


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


def _salesforce_settings(env: Mapping[str, str], writeback: WriteBackMode | None) -> SalesforceSettings:
    auth = _choice(env, "SALESFORCE_AUTH", SalesforceAuth, None)
    settings = SalesforceSettings(
        auth=auth,
        login_url=_with_default(env, "SALESFORCE_LOGIN_URL").rstrip("/"),
        instance_url=(_text(env, "SALESFORCE_INSTANCE_URL") or "").rstrip("/") or None,
        api_version=_with_default(env, "SALESFORCE_API_VERSION"),
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
        raise SettingsError(
            "SALESFORCE_AUTH: required when SALESFORCE_WRITEBACK=function (client_credentials, jwt or password)"
        )
    needed = {
        SalesforceAuth.CLIENT_CREDENTIALS: ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"),
        SalesforceAuth.JWT: ("SALESFORCE_CLIENT_ID", "SALESFORCE_USERNAME", "SALESFORCE_PRIVATE_KEY"),
        # the OAuth username-password flow needs the connected app too
        SalesforceAuth.PASSWORD: (
            "SALESFORCE_CLIENT_ID",
            "SALESFORCE_CLIENT_SECRET",
            "SALESFORCE_USERNAME",
            "SALESFORCE_PASSWORD",
        ),
    }[auth]
    for name in needed:
        if _text(env, name) is None:
            raise SettingsError(f"{name}: required when SALESFORCE_AUTH={auth.value}")
    return settings


def require_retry_queue_binding(environ: Mapping[str, str] | None = None) -> None:
    """The start check: the queue trigger binds to %RETRY_QUEUE_NAME%; without it the host cannot index the app
    (loading alone would take the default)."""
    env = os.environ if environ is None else environ
    if not _text(env, "RETRY_QUEUE_NAME"):
        raise SettingsError(
            "RETRY_QUEUE_NAME: required: RetryCreateSAPCustomer's queue trigger reads it (e.g. sap-customer-retry)"
        )
