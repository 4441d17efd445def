"""The go-live check's settings area (`python -m admin preflight`, issue 24): the start check, then the
combinations of settings that load but cannot work, each with its fix.

    settings_area(start_check, environ)   (the loaded settings or None, the area's results)

`start_check` is the function app's own start check (shared.bootstrap.check_start_settings), handed in by
the operations command: the settings may not import the composition root (pyproject.toml), and the check
must be the app's, not a copy. What it refuses (a missing or malformed setting, client credentials at a
generic login host, a write-back without its credentials, the simulator inside Azure) is not checked again
here; the checks below are what loads and still cannot work.

Most operators run this in Cloud Shell with the app settings exported, not inside the app: the app's "in
Azure" refusals do not fire there, so local doubles (the SAP simulator, Azurite, the relay double) are
named by their own check, `local_doubles`, SKIPPED with what that means (a rehearsal, not a go-live).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from shared.core.preflight import Area, CheckResult, failed, passed, skipped
from shared.core.salesforce_org import PASSWORD_FLOW_DEPRECATED, SalesforceAuth
from shared.hosting import running_in_azure
from shared.settings.declarations import DECLARED, SapTransport, WriteBackMode
from shared.settings.loading import Settings
from shared.settings_error import SettingsError

_AREA = Area.SETTINGS
# Hosts of a storage emulator or a double on this machine (Azurite's well-known account and loopback).
_LOCAL_STORAGE_MARKS = ("usedevelopmentstorage=true", "devstoreaccount1", "127.0.0.1", "localhost")


def settings_area(
    start_check: Callable[[], Settings], environ: Mapping[str, str] | None = None
) -> tuple[Settings | None, list[CheckResult]]:
    """The settings loaded by the app's start check and every check of this area; (None, the start check's
    failure) when they cannot be loaded."""
    try:
        config = start_check()
    except SettingsError as error:
        return None, [_start_failed(str(error))]
    env = _environment(environ)
    references = _key_vault_references(env)
    if references:
        # Fail closed: with a reference's text as SAP_PASSWORD the SAP logon would fail and count against the RFC
        # user's lock, so nothing that logs on runs until the secrets themselves are exported.
        return None, [
            passed(_AREA, "start", "the app's start check", _summary(config)),
            failed(
                _AREA,
                "key_vault_references",
                "every secret is its value, not a Key Vault reference",
                f"{', '.join(references)} hold(s) a Key Vault reference (@Microsoft.KeyVault(...)): only the "
                "function app resolves those; here it would be sent as the secret itself",
                "export each secret's value in this shell instead (az keyvault secret show --vault-name VAULT "
                "--name SECRET --query value -o tsv), then run preflight again",
            ),
        ]
    return config, [
        passed(_AREA, "start", "the app's start check", _summary(config)),
        _local_doubles(config, env),
        _agent_proof(config),
        _find_no_match(config),
        _sales_areas(config),
        _writeback(config),
        _push_writeback(config),
    ]


def _environment(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _key_vault_references(env: Mapping[str, str]) -> list[str]:
    """The declared settings whose value is an App Service Key Vault reference ("@Microsoft.KeyVault(...)",
    learn.microsoft.com, "Use Key Vault references as app settings"): `az functionapp config appsettings list`
    shows the reference, and infra/main.bicep stores the secrets that way."""
    return sorted(
        name
        for name, value in env.items()
        if name in DECLARED and value.strip().lower().startswith("@microsoft.keyvault(")
    )


def _start_failed(message: str) -> CheckResult:
    # SettingsError's message starts with the setting's name ("SAP_RELAY_URL: required when ...").
    setting = message.split(":", 1)[0].strip() if ":" in message else ""
    named = setting if setting and " " not in setting else "the setting named"
    return failed(
        _AREA,
        "start",
        "the app's start check",
        message,
        f"set {named} as the message says (docs/settings.md describes every setting), then run "
        "preflight again; nothing else is checked until the settings load",
    )


def _summary(config: Settings) -> str:
    transport = config.sap_transport.value if config.sap_transport else "none"
    storage = "connection string" if config.storage_connection else "identity-based connection"
    login = f" ({config.salesforce.auth.value})" if config.salesforce.auth else ""
    return (
        f"the settings load: SAP_TRANSPORT={transport}; storage by {storage}, table "
        f"{config.ledger_table_name}, queue {config.retry.queue_name}; "
        f"SALESFORCE_WRITEBACK={config.writeback.value}{login}"
    )


def _local_storage(config: Settings) -> bool:
    targets = [
        config.storage_connection or "",
        config.storage_identity.table_service_uri or "",
        config.storage_identity.queue_service_uri or "",
    ]
    text = " ".join(targets).replace(" ", "").lower()
    return any(mark in text for mark in _LOCAL_STORAGE_MARKS)


def _local_doubles(config: Settings, env: Mapping[str, str]) -> CheckResult:
    title = "the settings name the real systems, not local doubles"
    doubles = []
    if config.sap_transport is SapTransport.SIMULATOR:
        doubles.append("the SAP simulator (SAP_TRANSPORT=simulator)")
    if config.sap_relay_base_url:
        doubles.append("the relay double (SAP_RELAY_BASE_URL)")
    if _local_storage(config):
        doubles.append("storage on this machine (Azurite)")
    if config.salesforce.ca_bundle:
        doubles.append("a private CA for Salesforce (SALESFORCE_CA_BUNDLE: the fake Salesforce or a proxy)")
    if not doubles:
        return passed(_AREA, "local_doubles", title, "no local double is named")
    if running_in_azure(env) and _local_storage(config):
        return failed(
            _AREA,
            "local_doubles",
            title,
            "inside an Azure-hosted app, storage points at this machine: " + "; ".join(doubles),
            "set AzureWebJobsStorage to the storage account's connection string, or the identity-based "
            "AzureWebJobsStorage__accountName (infra/ provisions it)",
        )
    return skipped(
        _AREA,
        "local_doubles",
        title,
        "a rehearsal against local doubles, not a go-live: "
        + "; ".join(doubles)
        + ". Run preflight again with the deployed app's settings before going live",
    )


def _agent_proof(config: Settings) -> CheckResult:
    title = "the app carries a proof the on-premise agent accepts (SAP_AGENT_PROOF_KEY)"
    if config.sap_transport is not SapTransport.RELAY:
        return skipped(_AREA, "agent_proof", title, "SAP_TRANSPORT is not relay: no agent to prove the app to")
    if config.sap_agent_proof_key:
        return passed(_AREA, "agent_proof", title, "set (the relay area checks that the agent accepts it)")
    return failed(
        _AREA,
        "agent_proof",
        title,
        "SAP_AGENT_PROOF_KEY is not set: requests carry no proof, and the agent refuses every one "
        "unless it runs with AGENT_PROOF=off (local tests only)",
        "set SAP_AGENT_PROOF_KEY to the agent's AGENT_PROOF_KEY (the same secret, at least 32 "
        "characters, e.g. `openssl rand -base64 48`; agent/README.md)",
    )


def _find_no_match(config: Settings) -> CheckResult:
    title = "the duplicate guard knows how SAP says 'nothing found' (SAP_FIND_NO_MATCH_MESSAGE)"
    if config.sap_transport is SapTransport.RELAY:
        return skipped(
            _AREA,
            "find_no_match",
            title,
            "SAP_TRANSPORT=relay: the on-premise agent's own SAP_FIND_NO_MATCH_MESSAGE is the one used; "
            "the SAP area's FIND probe compares what this SAP says with the app's copy of the setting",
        )
    if config.sap_transport is SapTransport.SIMULATOR:
        return skipped(_AREA, "find_no_match", title, "SAP_TRANSPORT=simulator: the simulator's own messages apply")
    if config.sap_transport is not SapTransport.RFC:
        transport = config.sap_transport.value if config.sap_transport else "none"
        return skipped(
            _AREA,
            "find_no_match",
            title,
            f"SAP_TRANSPORT={transport}: the setting applies to rfc (and to the agent, with relay)",
        )
    window = (
        (f"; SAP_GUARD_SEARCH_SINCE={config.sap_guard_search_since.isoformat()} makes every create search first")
        if config.sap_guard_search_since
        else ""
    )
    if config.sap_find_no_match_messages:
        shown = ", ".join(f"{message_id} {number}" for message_id, number in config.sap_find_no_match_messages)
        return passed(_AREA, "find_no_match", title, f"{shown} (the SAP area's FIND probe confirms it){window}")
    return failed(
        _AREA,
        "find_no_match",
        title,
        "not set: a create whose outcome is unknown is held for review instead of searched, and a "
        f"search that SAP answers with a 'nothing found' message holds the account too{window}",
        "set SAP_FIND_NO_MATCH_MESSAGE to the message the SAP area's FIND probe prints (e.g. 'F2 173'; docs/sap.md)",
    )


def _sales_areas(config: Settings) -> CheckResult:
    title = "each configured sales area can create a customer (SAP_SALES_AREAS, SAP_DEFAULT_SALES_AREA)"
    organization = config.sap_organization
    problems = []
    default = organization.default_sales_area
    if default is not None and default not in organization.sales_areas:
        problems.append(
            f"SAP_DEFAULT_SALES_AREA {default} is not in SAP_SALES_AREAS: a request that names no "
            "sales area and no reference customer is refused"
        )
    without_reference = sorted(
        str(area) for area, setup in organization.sales_areas.items() if not setup.reference_customer
    )
    if without_reference:
        problems.append(
            f"no referenceCustomer for {', '.join(without_reference)}: a request in it that names none is refused"
        )
    if problems:
        return failed(
            _AREA,
            "sales_areas",
            title,
            "; ".join(problems),
            "give every sales area of SAP_SALES_AREAS its referenceCustomer (a customer of that sales "
            "area that the create copies from, XD03) and make SAP_DEFAULT_SALES_AREA one of them",
        )
    areas = ", ".join(sorted(str(area) for area in organization.sales_areas)) or "none"
    default_text = f"default {default}" if default else "no default (requests must name their sales area)"
    return passed(_AREA, "sales_areas", title, f"{areas}; {default_text} (the SAP area checks that each exists)")


def _writeback(config: Settings) -> CheckResult:
    title = "who writes the SAP number back to Salesforce (SALESFORCE_WRITEBACK)"
    if config.writeback is WriteBackMode.FUNCTION:
        auth = config.salesforce.auth.value if config.salesforce.auth else "none"
        note = f"; {PASSWORD_FLOW_DEPRECATED}" if config.salesforce.auth is SalesforceAuth.PASSWORD else ""
        return passed(
            _AREA,
            "writeback",
            title,
            f"the app, logging in with SALESFORCE_AUTH={auth} (the Salesforce area logs in){note}",
        )
    if config.writeback is WriteBackMode.FLOW:
        return passed(_AREA, "writeback", title, "the Power Automate flow, from the app's HTTP answer")
    return passed(
        _AREA, "writeback", title, "nobody (off): the SAP number stays in the ledger and the HTTP answer only"
    )


def _push_writeback(config: Settings) -> CheckResult:
    title = "the push path's customers get their number back (SALESFORCE_ORGANIZATION_ID with SALESFORCE_WRITEBACK)"
    if not config.salesforce.organization_id:
        return skipped(
            _AREA,
            "push_writeback",
            title,
            "the push path is off (SALESFORCE_ORGANIZATION_ID is not set: outbound messages are refused)",
        )
    if config.writeback is WriteBackMode.FUNCTION:
        return passed(_AREA, "push_writeback", title, "the push path is on and the app writes the number back")
    return failed(
        _AREA,
        "push_writeback",
        title,
        f"the push path is on (SALESFORCE_ORGANIZATION_ID is set) but SALESFORCE_WRITEBACK="
        f"{config.writeback.value}: no flow runs on that path, so its accounts never get their SAP number",
        "set SALESFORCE_WRITEBACK=function with the SALESFORCE_AUTH login settings (docs/push.md), or unset "
        "SALESFORCE_ORGANIZATION_ID to turn the push path off",
    )
