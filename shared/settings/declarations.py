"""Every setting of the product, declared once (singer-sdk's shape: meltano/sdk declares a tap's
configuration once, in `config_jsonschema`, and derives validation and documentation from it).

Loading (shared/settings/loading.py, agent.py) takes each default and bound from here; docs/settings.md's
table is written from it (`python -m devtools.settings_page`, the rows' words in devtools/settings_page_rows.py);
local.settings.example.json and the Bicep parity test (tests/infra/) are checked against this table;
tests/unit/test_settings_declarations.py fails on an environment read of a setting anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.core.account_fields import DEFAULT_CUSTOMER_TYPES
from shared.core.retry_policy import RetryPolicy


class SapTransport(StrEnum):
    SIMULATOR = "simulator"
    RFC = "rfc"
    RELAY = "relay"
    ODATA = "odata"  # S/4HANA: the OData V2 service API_BUSINESS_PARTNER over HTTPS


class WriteBackMode(StrEnum):
    FUNCTION = "function"  # the function writes the SAP number back to Salesforce
    FLOW = "flow"  # the Power Automate flow does it with the HTTP answer
    OFF = "off"


class Reader(StrEnum):
    """Which process reads the setting."""

    APP = "function app"
    AGENT = "on-premise agent"
    SIMULATOR = "SAP simulator"  # the simulator package reads its own (it may import no settings: pyproject.toml)


@dataclass(frozen=True)
class Setting:
    name: str  # the app-setting name in Azure, the key in local.settings.json
    kind: str  # text, integer, number, one of ..., JSON, ISO 8601, URL, connection string
    description: str  # one line
    default: str | None = None  # as the environment would carry it
    minimum: float | None = None  # integers and numbers: the lowest accepted (exclusive for numbers)
    secret: bool = False  # never in a repr, a log or local.settings.example.json
    required: str = ""  # when it is required ("" never)
    local_only: bool = False  # refused or meaningless in Azure: never provisioned
    reader: Reader = Reader.APP
    local_example: str | None = None  # its value in local.settings.example.json (None: not there)


# Retry-After of a 503 for a misconfigured app (a setting missing or malformed): not a setting, since the
# settings are what failed; minutes, since only an operator's fix (a redeploy, a restart) can end it.
MISCONFIGURED_RETRY_AFTER_SECONDS = 300

# SAP's classic IDES demo organization, which the simulator's default customising mirrors.
DEFAULT_SALES_AREAS = (
    '{"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000"},'
    ' "3000/10/00": {"companyCode": "3000", "referenceCustomer": "0000003000"}}'
)

_RFC = "SAP_TRANSPORT=rfc"
_ODATA = "SAP_TRANSPORT=odata"
_AGENT = Reader.AGENT
_SIM = Reader.SIMULATOR


def _logon(name: str, description: str, *, required: str = "", secret: bool = False) -> Setting:
    return Setting(name, "text", f"pyrfc logon: {description}", required=required, secret=secret)


DECLARATIONS: tuple[Setting, ...] = (
    # --- SAP ---
    Setting(
        "SAP_TRANSPORT",
        "one of simulator, rfc, relay, odata",
        "which SAP the app talks to (simulator refused in Azure)",
        required="always (the operations command: never)",
        local_example="simulator",
    ),
    _logon("SAP_ASHOST", "application server host", required=f"{_RFC} without a message server"),
    _logon("SAP_SYSNR", "system number", required=f"{_RFC} with SAP_ASHOST"),
    _logon("SAP_MSHOST", "message server host (load balancing)"),
    _logon("SAP_MSSERV", "message server service"),
    _logon("SAP_SYSID", "system id (message server logon)"),
    _logon("SAP_GROUP", "logon group (message server logon)"),
    _logon("SAP_SAPROUTER", "SAProuter string"),
    _logon("SAP_CLIENT", "client (MANDT)", required=_RFC),
    _logon("SAP_USER", "the RFC user", required=_RFC),
    _logon("SAP_PASSWORD", "the RFC user's password", required=f"{_RFC} without SNC", secret=True),
    _logon("SAP_LANG", "logon language"),
    _logon("SAP_SNC_MODE", "SNC on (1)"),
    _logon("SAP_SNC_PARTNERNAME", "SNC name of the SAP server"),
    _logon("SAP_SNC_QOP", "SNC quality of protection"),
    _logon("SAP_SNC_MYNAME", "SNC name of this client"),
    _logon("SAP_SNC_LIB", "path of the SNC library"),
    Setting("SAP_DEFAULT_SALES_AREA", "SALESORG/CHANNEL/DIVISION", "the sales area of a request that names none"),
    Setting(
        "SAP_SALES_AREAS",
        "JSON",
        "per sales area: companyCode, referenceCustomer, language",
        default=DEFAULT_SALES_AREAS,
    ),
    Setting("SAP_DEFAULT_LANGUAGE", "ISO 639-1 or SAP key", "the language of a request that has none"),
    Setting(
        "SAP_RELAY_URL",
        "URL",
        "the hybrid connection, https://{namespace}/{hybrid connection}",
        required="SAP_TRANSPORT=relay",
    ),
    Setting(
        "SAP_RELAY_KEY_NAME",
        "text",
        "a SAS Send rule's name (neither: the managed identity sends)",
        required="with SAP_RELAY_KEY",
    ),
    Setting("SAP_RELAY_KEY", "text", "a SAS Send rule's key", secret=True, required="with SAP_RELAY_KEY_NAME"),
    Setting(
        "SAP_RELAY_BASE_URL",
        "URL",
        "where relay requests go instead of the namespace (the relay double)",
        local_only=True,
    ),
    Setting("AZURE_CLIENT_ID", "text", "the user-assigned managed identity's client id (relay token)"),
    Setting("SAP_AGENT_PROOF_KEY", "text", "HMAC key proving the app to the agent (its AGENT_PROOF_KEY)", secret=True),
    Setting("SAP_TIMEOUT_SECONDS", "number", "one RFC call's (odata: one request's) timeout", default="30", minimum=0),
    Setting(
        "SAP_POOL_SIZE",
        "integer",
        "SAP sessions kept and reused, at most this many units at once (0: one per unit)",
        default="0",
        minimum=0,
    ),
    Setting(
        "SAP_FIND_NO_MATCH_MESSAGE",
        "MESSAGE_CLASS NUMBER, comma-separated",
        "BAPI_CUSTOMER_FIND's 'nothing found' messages on this system",
    ),
    Setting("SAP_GUARD_SEARCH_SINCE", "ISO 8601", "since when the ledger may have lost writes (search SAP first)"),
    # --- the change path (issue 26; shared/settings/changes.py) ---
    Setting(
        "SAP_CHANGE_CONFLICT",
        "one of salesforce_wins, review",
        "a change meeting a value changed in SAP: overwrite it, or hold for review",
        default="salesforce_wins",
    ),
    Setting(
        "SALESFORCE_OWNED_FIELDS",
        "comma-separated",
        "the fields Salesforce owns, which changes send (narrows the default list)",
        default="name,street,houseNumber,postalCode,city,region,country,phone,email,language",
    ),
    # --- SAP S/4HANA (SAP_TRANSPORT=odata: API_BUSINESS_PARTNER; shared/settings/s4.py) ---
    Setting("SAP_ODATA_URL", "URL", "API_BUSINESS_PARTNER's service root (https)", required=_ODATA),
    Setting("SAP_ODATA_AUTH", "one of basic, oauth", "the communication user's logon", default="basic"),
    Setting("SAP_ODATA_USER", "text", "the communication user", required=f"{_ODATA} with basic"),
    Setting(
        "SAP_ODATA_PASSWORD", "text", "the communication user's password", secret=True, required=f"{_ODATA} with basic"
    ),
    Setting("SAP_ODATA_CLIENT_ID", "text", "OAuth 2.0 client id", required=f"{_ODATA} with oauth"),
    Setting("SAP_ODATA_CLIENT_SECRET", "text", "OAuth 2.0 client secret", secret=True, required=f"{_ODATA} with oauth"),
    Setting("SAP_ODATA_TOKEN_URL", "URL", "OAuth 2.0 token endpoint", required=f"{_ODATA} with oauth"),
    Setting("SAP_BP_GROUPING", "text", "the Business Partner grouping of new partners", required=_ODATA),
    # --- storage ---
    Setting(
        "AzureWebJobsStorage",
        "connection string",
        "the storage account (ledger table, retry queue)",
        secret=True,
        required="unless the identity-based __ settings are set",
        local_example="UseDevelopmentStorage=true",
    ),
    Setting("AzureWebJobsStorage__tableServiceUri", "URL", "identity-based table endpoint"),
    Setting("AzureWebJobsStorage__queueServiceUri", "URL", "identity-based queue endpoint"),
    Setting("AzureWebJobsStorage__accountName", "text", "identity-based: derives both endpoints", local_only=True),
    Setting("AzureWebJobsStorage__credential", "text", "identity-based: managedidentity or the default chain"),
    Setting("AzureWebJobsStorage__clientId", "text", "identity-based: the user-assigned identity's client id"),
    Setting(
        "LEDGER_TABLE_NAME",
        "text",
        "the ledger's table",
        default="sapcustomerledger",
        local_example="sapcustomerledger",
    ),
    # --- retry ---
    Setting(
        "RETRY_QUEUE_NAME",
        "Storage queue name",
        "the retry queue (the queue trigger binds it too)",
        default="sap-customer-retry",
        required="always (the queue trigger binds %RETRY_QUEUE_NAME%)",
        local_example="sap-customer-retry",
    ),
    Setting(
        "RETRY_MAX_ATTEMPTS",
        "integer",
        "attempts before the poison queue",
        default=str(RetryPolicy.max_attempts),
        minimum=1,
    ),
    Setting(
        "RETRY_BASE_DELAY_SECONDS",
        "integer",
        "the first retry's delay",
        default=str(RetryPolicy.base_delay_seconds),
        minimum=1,
    ),
    Setting(
        "RETRY_MAX_DELAY_SECONDS",
        "integer",
        "the longest delay (below 7 days)",
        default=str(RetryPolicy.max_delay_seconds),
        minimum=1,
    ),
    Setting(
        "RETRY_AFTER_SECONDS",
        "integer",
        "Retry-After of a 202 (a request queued for retry)",
        default=str(RetryPolicy.retry_after_seconds),
        minimum=1,
    ),
    # --- Salesforce ---
    Setting(
        "SALESFORCE_WRITEBACK",
        "one of function, flow, off",
        "who writes the SAP number back",
        default="off",
        local_example="off",
    ),
    Setting(
        "SALESFORCE_AUTH",
        "one of client_credentials, jwt, password",
        "the OAuth flow",
        required="SALESFORCE_WRITEBACK=function",
    ),
    Setting(
        "SALESFORCE_LOGIN_URL",
        "URL",
        "the login host (My Domain for client_credentials)",
        default="https://login.salesforce.com",
    ),
    Setting("SALESFORCE_INSTANCE_URL", "URL", "the org's instance (else from the token)"),
    Setting("SALESFORCE_API_VERSION", "text", "REST API version", default="61.0"),
    Setting("SALESFORCE_CLIENT_ID", "text", "the connected app's consumer key", required="SALESFORCE_AUTH set"),
    Setting(
        "SALESFORCE_CLIENT_SECRET",
        "text",
        "the connected app's secret",
        secret=True,
        required="SALESFORCE_AUTH=client_credentials or password",
    ),
    Setting("SALESFORCE_USERNAME", "text", "the integration user", required="SALESFORCE_AUTH=jwt or password"),
    Setting(
        "SALESFORCE_PASSWORD",
        "text",
        "the integration user's password",
        secret=True,
        required="SALESFORCE_AUTH=password",
    ),
    Setting("SALESFORCE_SECURITY_TOKEN", "text", "the integration user's security token", secret=True),
    Setting(
        "SALESFORCE_PRIVATE_KEY",
        "text",
        "the JWT bearer flow's private key (PEM)",
        secret=True,
        required="SALESFORCE_AUTH=jwt",
    ),
    Setting("SALESFORCE_CA_BUNDLE", "path", "a CA for the fake Salesforce or a TLS-inspecting proxy", local_only=True),
    Setting("SALESFORCE_ORGANIZATION_ID", "15 or 18 characters", "the org whose outbound messages are accepted"),
    Setting(
        "SALESFORCE_CUSTOMER_TYPES",
        "comma-separated",
        "the Account Type values that mean customer",
        default=",".join(DEFAULT_CUSTOMER_TYPES),
    ),
    # --- telemetry ---
    Setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "connection string",
        "Application Insights (off when unset)",
        secret=True,
    ),
    Setting("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD[;ClientId=...]", "Entra ingestion"),
    Setting("PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY", "true/false", "the Functions worker exports"),
    # --- the on-premise agent ---
    Setting("AGENT_RELAY_URL", "URL", "the hybrid connection", required="always", reader=_AGENT),
    Setting("AGENT_RELAY_KEY_NAME", "text", "a SAS Listen rule's name", required="always", reader=_AGENT),
    Setting("AGENT_RELAY_KEY", "text", "a SAS Listen rule's key", secret=True, required="always", reader=_AGENT),
    Setting("AGENT_RELAY_BASE_URL", "URL", "ws://host:port of the relay double", local_only=True, reader=_AGENT),
    Setting("AGENT_PROOF", "on or off", "off: check no proof (local tests only)", reader=_AGENT),
    Setting(
        "AGENT_PROOF_KEY",
        "text",
        "the app's SAP_AGENT_PROOF_KEY",
        secret=True,
        required="SAP_TRANSPORT=rfc or AGENT_PROOF=on",
        reader=_AGENT,
    ),
    Setting(
        "AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING",
        "connection string",
        "the agent's own exporter",
        secret=True,
        reader=_AGENT,
    ),
    Setting("AGENT_CONCURRENCY", "integer", "SAP units of work at a time", default="4", minimum=1, reader=_AGENT),
    Setting(
        "AGENT_ANSWER_DEADLINE_SECONDS",
        "number",
        "answer within; default and most: shared/sap/relay.py's AGENT_ANSWER_DEADLINE_SECONDS (50)",
        minimum=0,
        reader=_AGENT,
    ),
    # --- the SAP simulator (local runs and tests; refused in Azure) ---
    Setting(
        "SAP_SIMULATOR_FAULTS",
        "fault plan",
        "faults the simulator injects",
        local_only=True,
        reader=_SIM,
        local_example="",
    ),
    Setting("SAP_SIMULATOR_USER", "text", "the simulator's logon user", local_only=True, reader=_SIM),
    Setting("SAP_SIMULATOR_PASSWORD", "text", "the simulator's logon password", local_only=True, reader=_SIM),
    Setting("SAP_SIMULATOR_STATE_FILE", "path", "the simulator's SQLite database", local_only=True, reader=_SIM),
    Setting("SAP_SIMULATOR_FIND_ROWS", "text", "how BAPI_CUSTOMER_FIND combines rows", local_only=True, reader=_SIM),
    Setting(
        "SAP_SIMULATOR_FIND_NO_MATCH",
        "text",
        "where BAPI_CUSTOMER_FIND says nothing found",
        local_only=True,
        reader=_SIM,
    ),
)

DECLARED: dict[str, Setting] = {setting.name: setting for setting in DECLARATIONS}
