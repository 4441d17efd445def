"""The rows of docs/settings.md's table, in the page's order: which declared settings each explains and what
they mean. devtools/settings_page.py writes the table from these and the declarations (the setting and default
cells come from the declarations unless a row words them itself)."""

from __future__ import annotations

from dataclasses import dataclass

# In a row's own default cell: where the declared defaults go (in backticks, comma-separated).
DECLARED_DEFAULTS = "{declared defaults}"


@dataclass(frozen=True)
class Row:
    """One row of the table: the settings it explains and what they mean."""

    names: tuple[str, ...]  # the settings the row explains, in the order of the setting cell
    meaning: str
    default: str | None = None  # the default cell when it says more than the declared defaults
    names_cell: str | None = None  # the setting cell when it groups the names in words


ROWS: tuple[Row, ...] = (
    Row(
        ("SAP_TRANSPORT",),
        (
            "`rfc` (pyrfc in process), `relay` (via the on-premise agent, `agent/`, over an Azure Relay "
            "Hybrid Connection: the app's managed identity or a SAS Send key, each request signed for the "
            "agent; see `agent/README.md`), `odata` (S/4HANA's Business Partner service "
            '`API_BUSINESS_PARTNER` over HTTPS: [sap.md](sap.md), "S/4HANA") or `simulator` (embedded SAP for '
            "local runs and tests; refused when `WEBSITE_SITE_NAME` or `WEBSITE_INSTANCE_ID` says the app "
            "runs in Azure). `scripts/run`, the tests and `local.settings.example.json` set `simulator`; the "
            "operations command does not need it"
        ),
        default="**none: required**",
    ),
    Row(("SAP_RELAY_URL",), "`relay`: the hybrid connection (`https://{namespace}/{name}`)"),
    Row(
        ("SAP_RELAY_KEY_NAME", "SAP_RELAY_KEY"),
        (
            "`relay`: a shared access rule with the *Send* right (both or neither); without them the app "
            "sends with its managed identity (role *Azure Relay Sender*, Entra token for "
            "`https://relay.azure.net//.default`)"
        ),
        default="none: the managed identity",
    ),
    Row(
        ("AZURE_CLIENT_ID",),
        "`relay` with the managed identity: the client id of a user-assigned identity",
        default="none: system-assigned",
    ),
    Row(
        ("SAP_AGENT_PROOF_KEY",),
        (
            "`relay`: the key (at least 32 characters, a Key Vault reference) of the app's proof on each "
            "request, the agent's `AGENT_PROOF_KEY`; an agent in front of SAP refuses requests without it"
        ),
        default="none",
    ),
    Row(
        ("SAP_RELAY_BASE_URL",),
        (
            "`relay`: `http://127.0.0.1:PORT` of the local relay double (`python -m devtools.relay_double`) "
            "instead of the namespace; refused in Azure"
        ),
        default="none",
    ),
    Row(
        ("SAP_ASHOST", "SAP_SYSNR", "SAP_MSHOST", "SAP_SYSID", "SAP_MSSERV", "SAP_GROUP"),
        "application server or message server logon (`rfc`)",
        names_cell="`SAP_ASHOST`, `SAP_SYSNR` or `SAP_MSHOST`, `SAP_SYSID`/`SAP_MSSERV`, `SAP_GROUP`",
    ),
    Row(("SAP_CLIENT", "SAP_USER", "SAP_PASSWORD", "SAP_LANG", "SAP_SAPROUTER"), "logon data (`rfc`)"),
    Row(("SAP_SNC_MODE", "SAP_SNC_PARTNERNAME", "SAP_SNC_QOP", "SAP_SNC_MYNAME", "SAP_SNC_LIB"), "optional SNC"),
    Row(
        ("SAP_SALES_AREAS",),
        "known sales areas: company code of the sales organization and reference customer",
        default="IDES: " + DECLARED_DEFAULTS,
    ),
    Row(
        ("SAP_DEFAULT_SALES_AREA",),
        "sales area (`1000/10/00`) for requests that give neither a sales area nor a company code",
        default="none",
    ),
    Row(
        ("SAP_DEFAULT_LANGUAGE",),
        (
            "language (ISO 639-1 `EN`, or SAP's one-character key `E`) for a request without `language` whose "
            "country has no usual language in `shared/core/reference/country_languages.json`; a sales area "
            'may set its own (`"language"` next to `companyCode` in `SAP_SALES_AREAS`), which comes first; '
            "without either such a request is a 400 naming `language`, never a create without a language key"
        ),
        default="none",
    ),
    Row(
        ("SAP_FIND_NO_MATCH_MESSAGE",),
        (
            'message class and number with which `BAPI_CUSTOMER_FIND` says "no customer found" on your '
            "system, e.g. `F2 173` (several: comma-separated), whether in the search's `RETURN` or a "
            "`RESULT_TAB` row. Unset, any error message of the search holds the account for review (see the "
            "duplicate guard, [exactly-once.md](exactly-once.md)); an answer with no row and no message "
            "counts as nothing found"
        ),
        default="none (`rfc`); the simulator's own (`simulator`)",
    ),
    Row(
        ("SAP_GUARD_SEARCH_SINCE",),
        (
            "an ISO 8601 moment with its offset (`2026-12-01T08:00:00Z`) from which the ledger may have lost "
            "writes: restored from a backup (the backup's time), moved to another storage account or emptied "
            "(when the product first ran), a local Azurite killed with `kill -9` (a moment before the kill). "
            "While set, the duplicate guard searches SAP before **every** create, not only after an unknown "
            'outcome (see [exactly-once.md](exactly-once.md), "When the ledger forgets"); unset it once every '
            "account of that period has been sent again and settled"
        ),
        default="none",
    ),
    Row(
        ("SAP_CHANGE_CONFLICT",),
        (
            "what a change of a synced account does with an owned field someone changed in SAP since our last "
            "change (SAP holds neither what we last sent nor the new value): `salesforce_wins` overwrites it and "
            "logs the field's name; `review` sends nothing and holds the change (`lastChangeStatus` "
            "`needs_review`, both values in `admin status`) until SAP holds what we last sent or the new value "
            "again (see [changes.md](changes.md))"
        ),
    ),
    Row(
        ("SALESFORCE_OWNED_FIELDS",),
        (
            "the fields Salesforce owns, by business name, comma-separated: a change sends only these (and "
            "only those that differ from what SAP was last given); leaving one out leaves it to SAP. Narrows "
            "the default list, never widens it; `houseNumber` and `email` are sent only once the request "
            "carries them (see [changes.md](changes.md))"
        ),
    ),
    Row(
        ("SAP_TIMEOUT_SECONDS",),
        (
            "per RFC call (pyrfc's `timeout`; `odata`: per HTTP request); one unit of work (logon, metadata, "
            "search, create, commit; `odata`: the guard's search, the reference's reads and the POSTs) gets 4 "
            "of them in all, each call cancelled at the unit's deadline; a `pending` claim counts as "
            "abandoned after 5 × this + 5 s (at least 10 s)"  # noqa: RUF001 - the page's sign
        ),
    ),
    Row(
        ("SAP_POOL_SIZE",),
        (
            "`odata`: HTTP sessions (cookies and CSRF token) in the same bounded pool: at most this many units "
            "talk to S/4HANA at once, each session kept for the next unit (issue 27). "
            "`rfc`/`simulator`: RFC connections kept per worker process and reused across requests "
            "(`shared/sap/pool.py`): no logon per create, a connection idle over 60 s is pinged before reuse, "
            "one that saw any error is closed and replaced; each unit of work holds its own connection "
            "throughout, never shared between threads; a request waits for a free one at most until its "
            "unit's deadline (then 202). `0`: a logon per unit of work, as before. Set it to the worker's "
            "thread count (`PYTHON_THREADPOOL_THREAD_COUNT`); the agent pools `AGENT_CONCURRENCY` connections "
            "on its own"
        ),
    ),
    Row(
        ("SAP_ODATA_URL",),
        (
            "`odata` (S/4HANA): the root of the OData V2 service `API_BUSINESS_PARTNER`, e.g. "
            "`https://my000000-api.s4hana.cloud.sap/sap/opu/odata/sap/API_BUSINESS_PARTNER` (a query such as "
            "`?sap-client=100` is kept on every request); `https` only (plain `http` only to a local double, "
            'never in Azure). See [sap.md](sap.md), "S/4HANA"'
        ),
    ),
    Row(
        ("SAP_ODATA_AUTH",),
        (
            "`odata`: `basic` (a communication user: `SAP_ODATA_USER`, `SAP_ODATA_PASSWORD`) or `oauth` "
            "(OAuth 2.0 client credentials: `SAP_ODATA_CLIENT_ID`, `SAP_ODATA_CLIENT_SECRET`, "
            "`SAP_ODATA_TOKEN_URL`)"
        ),
    ),
    Row(
        ("SAP_ODATA_USER", "SAP_ODATA_PASSWORD"),
        (
            "`odata` with `basic`: the communication user of the arrangement for `SAP_COM_0008` (the password "
            "a Key Vault reference)"
        ),
    ),
    Row(
        ("SAP_ODATA_CLIENT_ID", "SAP_ODATA_CLIENT_SECRET", "SAP_ODATA_TOKEN_URL"),
        "`odata` with `oauth`: the client-credentials grant (the secret a Key Vault reference)",
    ),
    Row(
        ("SAP_BP_GROUPING",),
        (
            "the Business Partner grouping (at most 4 characters) of new partners: it picks their number "
            "range, and with it (through CVI's customising) the customer's account group and number"
        ),
        default="**none: required with `odata`**",
    ),
    Row(
        ("SAP_SIMULATOR_FAULTS",),
        (
            "simulator fault injection, e.g. `communication_before=0.1,latency_ms=20`: `latency_ms`, "
            "`communication_before`, `communication_after_bapi`, `communication_after_change`, "
            "`communication_after_commit`, "
            "`external_runtime_error`, `abap_runtime_error`, `fail_next_calls`, `down`, `logon_error`, `seed` "
            "(see `sap_simulator/faults.py`)"
        ),
        default="none",
    ),
    Row(
        ("SAP_SIMULATOR_USER", "SAP_SIMULATOR_PASSWORD"),
        "when both are set the simulator checks the logon like SAP (wrong password: `LogonError`)",
        default="none",
    ),
    Row(
        (
            "AzureWebJobsStorage",
            "AzureWebJobsStorage__tableServiceUri",
            "AzureWebJobsStorage__queueServiceUri",
            "AzureWebJobsStorage__accountName",
            "AzureWebJobsStorage__credential",
            "AzureWebJobsStorage__clientId",
        ),
        (
            "storage for the ledger table and the retry queue; its form is checked at start (`Key=Value` "
            "pairs with `AccountName`+`AccountKey` or `SharedAccessSignature` and a table and queue endpoint, "
            "or `UseDevelopmentStorage=true` alone), never shown in a message"
        ),
        names_cell="`AzureWebJobsStorage` (or `AzureWebJobsStorage__*` identity settings)",
    ),
    Row(("LEDGER_TABLE_NAME",), ""),
    Row(
        ("RETRY_QUEUE_NAME",),
        (
            "the queue trigger reads it too (`%RETRY_QUEUE_NAME%`), so it must be set; a Storage queue name "
            "of 3 to 56 characters (lowercase letters, digits, single dashes), so that `<name>-poison` fits "
            "Storage's 63"
        ),
    ),
    Row(
        ("RETRY_MAX_ATTEMPTS", "RETRY_BASE_DELAY_SECONDS", "RETRY_MAX_DELAY_SECONDS", "RETRY_AFTER_SECONDS"),
        (
            "backoff of the retry queue (delays at least 1 s, the maximum below 7 days, a queue message's "
            "lifetime); `Retry-After` of a 202"
        ),
    ),
    Row(
        ("SALESFORCE_WRITEBACK",),
        "`function` (this app writes the number back), `flow` (the flow does it from the answer), `off`",
    ),
    Row(("SALESFORCE_AUTH",), "`client_credentials`, `jwt` or `password`"),
    Row(
        ("SALESFORCE_LOGIN_URL",),
        (
            "where the app logs in (the OAuth token request): your org's **My Domain** login URL, e.g. "
            "`https://yourcompany.my.salesforce.com` (`https://yourcompany--uat.sandbox.my.salesforce.com` "
            "for a sandbox). Required for `client_credentials`: Salesforce refuses that flow at "
            "login.salesforce.com and test.salesforce.com (Salesforce Help 000886201), so the start stops "
            "with a message naming this setting"
        ),
    ),
    Row(
        ("SALESFORCE_INSTANCE_URL", "SALESFORCE_API_VERSION"),
        "the REST API's base URL only if the login answer carries none",
        default="none (the login answer's `instance_url`), " + DECLARED_DEFAULTS,
    ),
    Row(
        ("SALESFORCE_CUSTOMER_TYPES",),
        (
            "the Account Type values (picklist API names) that mean customer, comma-separated: the push path "
            "accepts, and the reconcile queries (`Type IN (...)`), only these. Orgs made with the older "
            "default picklist: `Customer - Direct,Customer - Channel`. Keep it equal to the Salesforce push "
            "flow's custom metadata record and the Power Automate flow's `sapsync_CustomerTypes` "
            "([salesforce/README.md](../salesforce/README.md))"
        ),
    ),
    Row(
        (
            "SALESFORCE_CLIENT_ID",
            "SALESFORCE_CLIENT_SECRET",
            "SALESFORCE_USERNAME",
            "SALESFORCE_PASSWORD",
            "SALESFORCE_SECURITY_TOKEN",
            "SALESFORCE_PRIVATE_KEY",
        ),
        (
            "per auth mode: client credentials (id + secret), JWT bearer (id + username + private key), "
            "username-password (id + secret + username + password [+ token])"
        ),
    ),
    Row(
        ("SALESFORCE_ORGANIZATION_ID",),
        "the org whose outbound messages are accepted (15 or 18 characters, Setup > Company Information)",
        default="none: the push path refuses every message (503, Salesforce keeps it)",
    ),
    Row(
        ("APPLICATIONINSIGHTS_CONNECTION_STRING",),
        (
            "Application Insights; in Azure with `PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true` the "
            "Python worker exports and the app adds no exporter"
        ),
        default="none: telemetry off, nothing of OpenTelemetry imported",
    ),
    Row(
        ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING",),
        ("Entra ingestion: `Authorization=AAD;ClientId=<user-assigned identity>` (role Monitoring Metrics Publisher)"),
        default="none",
    ),
    Row(
        ("PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY",),
        (
            "`true` in Azure: the Functions Python worker configures the Azure Monitor exporter itself before "
            "it imports the app, and the app only uses the providers it set (never a second exporter)"
        ),
        default="none: off",
    ),
    Row(
        ("OTEL_SERVICE_NAME",),
        "the role name, only where the app configures the exporter itself (locally)",
        default="`sap-customer-sync`",
    ),
    Row(
        ("SALESFORCE_CA_BUNDLE",),
        (
            "a CA file trusted for Salesforce only (the fake Salesforce of `scripts/run --salesforce fake`, "
            "or a TLS-inspecting proxy)"
        ),
        default="system CAs",
    ),
)
