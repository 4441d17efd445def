"""Static checks of infra/ (no Bicep compiler installs here; .github/workflows/ compiles for real):
the syntax of every file (tree-sitter-bicep), and the structure (pycep-parser): HTTPS only, TLS 1.2,
FTP and basic auth off, shared keys off, identities, diagnostic settings, tags, pinned API versions,
local modules only, the variants and azd's contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra.bicep import INFRA, ROOT, all_resources, bicep_files, parse_bicep, resources, syntax_errors

BICEP_FILES = bicep_files()
API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
# The one preview version in use: diagnostic settings have had no GA version since 2021-05-01-preview.
PREVIEW_ALLOWED = {"Microsoft.Insights/diagnosticSettings"}
# Tracked resources whose logs and metrics must go to Log Analytics.
MONITORED_TYPES = {
    "Microsoft.Web/sites",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Relay/namespaces",
    "Microsoft.Storage/storageAccounts/queueServices",
    "Microsoft.Storage/storageAccounts/tableServices",
    "Microsoft.Storage/storageAccounts/blobServices",
}


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _declared(type_: str):
    return [(path, symbol, r) for path, symbol, r in all_resources() if r["type"] == type_ and not r["existing"]]


def test_there_are_templates_to_check():
    assert {"main.bicep", "api.bicep", "storage.bicep", "rbac.bicep", "relay.bicep", "alerts.bicep"} <= {
        path.name for path in BICEP_FILES
    }


@pytest.mark.parametrize("path", BICEP_FILES, ids=_id)
def test_every_bicep_file_parses_without_error_or_missing_node(path):
    assert syntax_errors(path.read_bytes()) == []


def test_the_syntax_check_catches_a_broken_template():
    assert syntax_errors(b"resource x 'Microsoft.Web/sites@2024-04-01' = {\n  name: \n}\n")


@pytest.mark.parametrize("path", BICEP_FILES, ids=_id)
def test_every_resource_has_a_pinned_api_version(path):
    for symbol, resource in resources(path).items():
        version = resource["api_version"]
        assert API_VERSION.match(version or ""), f"{symbol}: '{version}' is not a pinned API version"
        if version.endswith("-preview"):
            assert resource["type"] in PREVIEW_ALLOWED, f"{symbol}: preview API {resource['type']}@{version}"


def test_each_resource_type_uses_one_api_version_everywhere():
    versions: dict[str, set[str]] = {}
    for _, _, resource in all_resources():
        versions.setdefault(resource["type"], set()).add(resource["api_version"])
    assert {t: v for t, v in versions.items() if len(v) > 1} == {}


@pytest.mark.parametrize("path", BICEP_FILES, ids=_id)
def test_modules_are_local_files_never_registry_modules(path):
    for symbol, module in parse_bicep(path).get("modules", {}).items():
        assert module["type"] == "local", f"{symbol}: {module['detail']}"
        assert (path.parent / module["detail"]["path"]).is_file(), f"{symbol}: {module['detail']['path']}"


def test_every_tracked_resource_is_tagged():
    untagged = [
        f"{_id(p)}:{s}"
        for p, s, r in all_resources()
        if not r["existing"] and "location" in r["config"] and "tags" not in r["config"]
    ]
    assert untagged == []


def test_the_function_app_is_https_only_with_tls_1_2_and_no_ftp_or_basic_auth():
    [(_, _, site)] = _declared("Microsoft.Web/sites")
    properties = site["config"]["properties"]
    assert properties["httpsOnly"] is True
    site_config = properties["siteConfig"]
    assert (site_config["minTlsVersion"], site_config["scmMinTlsVersion"]) == ("1.2", "1.2")
    # ftpsState: 'Disabled' on the Dedicated plan only; Flex Consumption has no FTP(S) and takes no
    # ftpsState (tests/infra/test_bicep_defaults.py evaluates both).
    policies = {
        r["config"]["name"]: r["config"]["properties"]["allow"]
        for _, _, r in _declared("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    }
    assert policies == {"ftp": False, "scm": False}


def test_the_function_app_runs_with_its_user_assigned_identity_everywhere():
    [(_, _, site)] = _declared("Microsoft.Web/sites")
    config = site["config"]
    assert config["identity"]["type"] == "UserAssigned"
    assert config["properties"]["keyVaultReferenceIdentity"] == "identityId"
    flex = config["properties"]["functionAppConfig"]["operator"]["operands"]["true_value"]
    assert flex["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert flex["runtime"]["name"] == "python"


def test_storage_takes_no_shared_key_no_public_blob_and_tls_1_2_over_https_only():
    [(_, _, account)] = _declared("Microsoft.Storage/storageAccounts")
    properties = account["config"]["properties"]
    assert (
        properties["allowSharedKeyAccess"],
        properties["allowBlobPublicAccess"],
        properties["minimumTlsVersion"],
        properties["supportsHttpsTrafficOnly"],
    ) == (False, False, "TLS1_2", True)


def test_no_account_key_or_connection_string_in_any_template():
    for path in BICEP_FILES:
        text = path.read_text()
        assert "AccountKey=" not in text and "listConnectionStrings" not in text, _id(path)
        # listKeys only where a key must exist: the agent's Listen key into Key Vault, App Service's Send key.
        if "listKeys()" in text:
            assert path.name in ("relay-agent.bicep", "api.bicep"), _id(path)


def test_monitoring_accepts_entra_ingestion_only():
    [(_, _, insights)] = _declared("Microsoft.Insights/components")
    [(_, _, workspace)] = _declared("Microsoft.OperationalInsights/workspaces")
    assert insights["config"]["properties"]["DisableLocalAuth"] is True
    assert workspace["config"]["properties"]["features"]["disableLocalAuth"] is True


def test_key_vault_is_in_rbac_mode_with_soft_delete_and_purge_protection():
    [(_, _, vault)] = _declared("Microsoft.KeyVault/vaults")
    properties = vault["config"]["properties"]
    assert (
        properties["enableRbacAuthorization"],
        properties["enableSoftDelete"],
        properties["enablePurgeProtection"],
    ) == (True, True, True)


def test_every_hybrid_connection_requires_client_authorization():
    connections = _declared("Microsoft.Relay/namespaces/hybridConnections")
    assert len(connections) == 2
    assert all(r["config"]["properties"]["requiresClientAuthorization"] is True for _, _, r in connections)
    rights = sorted(
        tuple(r["config"]["properties"]["rights"])
        for _, _, r in _declared("Microsoft.Relay/namespaces/hybridConnections/authorizationRules")
    )
    assert rights == [("Listen",), ("Send",)]  # the agent's Listen rule; App Service's Send rule (its variant)


@pytest.mark.parametrize("path", BICEP_FILES, ids=_id)
def test_every_monitored_resource_has_a_diagnostic_setting_to_log_analytics(path):
    declared = {symbol for symbol, r in resources(path).items() if r["type"] in MONITORED_TYPES and not r["existing"]}
    diagnostics = [
        r["config"] for r in resources(path).values() if r["type"] == "Microsoft.Insights/diagnosticSettings"
    ]
    assert all(d["properties"]["workspaceId"] == "logAnalyticsWorkspaceId" for d in diagnostics)
    assert declared <= {d["scope"] for d in diagnostics}, f"without diagnostic settings: {declared}"


def test_role_assignments_are_all_in_rbac_bicep_and_named_by_scope_principal_and_role():
    assignments = _declared("Microsoft.Authorization/roleAssignments")
    assert {path.name for path, _, _ in assignments} == {"rbac.bicep"}
    for _, symbol, r in assignments:
        name = r["config"]["name"]["function"]
        assert name["type"] == "guid" and len(name["parameters"]) == 3, symbol


def test_the_function_app_sends_to_the_relay_with_the_sender_role_not_a_key():
    rbac = (INFRA / "app" / "rbac.bicep").read_text()
    assert "azureRelaySender: '26baccc8-eea7-41f1-98f4-1762cc7f685d'" in rbac
    main = parse_bicep(INFRA / "main.bicep")["variables"]
    assert "SAP_RELAY_KEY" not in json.dumps(main)


def test_connectivity_is_one_parameter_with_the_three_variants_and_relay_agent_by_default():
    parameter = parse_bicep(INFRA / "main.bicep")["parameters"]["connectivity"]
    allowed = next(d["argument"] for d in parameter["decorators"] if d["type"] == "allowed")
    assert (allowed, parameter["default"]) == (["relayAgent", "vnet", "appServiceHybridConnection"], "relayAgent")


def test_the_vnet_variant_delegates_its_subnet_as_flex_consumption_requires():
    [(_, _, vnet)] = _declared("Microsoft.Network/virtualNetworks")
    [subnet] = vnet["config"]["properties"]["subnets"]
    assert subnet["properties"]["delegations"][0]["properties"]["serviceName"] == "Microsoft.App/environments"


def test_outputs_are_upper_snake_case_for_azd():
    outputs = parse_bicep(INFRA / "main.bicep")["outputs"]
    assert outputs and all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in outputs), list(outputs)


def test_main_parameters_map_azd_environment_values_onto_existing_parameters():
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = parse_bicep(INFRA / "main.bicep")["parameters"]
    assert set(parameters) <= set(declared)
    assert {"environmentName", "location", "principalId", "connectivity"} <= set(parameters)
    assert all(re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", p["value"]) for p in parameters.values())


def test_azure_yaml_names_the_function_service_that_the_site_is_tagged_with():
    text = (ROOT / "azure.yaml").read_text()
    assert re.search(r"^services:\n  api:\n(    .*\n)*    host: function$", text, re.MULTILINE)
    assert re.search(r"^  path: infra$", text, re.MULTILINE)
    assert "serviceName = 'api'" in (INFRA / "app" / "api.bicep").read_text()


def test_the_no_listener_alert_watches_the_relay_metric_active_listeners():
    [(_, _, alert)] = _declared("Microsoft.Insights/metricAlerts")
    [criterion] = alert["config"]["properties"]["criteria"]["allOf"]
    assert (criterion["metricNamespace"], criterion["metricName"], criterion["operator"], criterion["threshold"]) == (
        "Microsoft.Relay/namespaces",
        "ActiveListeners",
        "LessThan",
        1,
    )
