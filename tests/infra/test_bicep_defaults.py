"""Issue 20 item 7: a deployment whose defaults start.

The app settings a default `azd up` gives the function app are evaluated from infra/ (tests/infra/
deployment.py: main.parameters.json as azd fills it, Key Vault references as the platform resolves them),
and the app's own start (function_app.py: the settings check, then the functions' registration) runs on
exactly those settings in a fresh interpreter. So "what the start check needs" is the code's own
shared/settings/ and shared/bootstrap/, not a list here: a setting the code starts requiring fails
this test until the template gives it a value or turns its feature off.

And no property or app setting that Microsoft's "Flex Consumption plan deprecations" table says not to
set is set on a Flex Consumption variant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.infra.bicep import INFRA, ROOT
from tests.infra.deployment import (
    app_settings,
    connectivity_variants,
    main_scope,
    on_flex_consumption,
    site_properties,
)

# Microsoft Learn, "App settings reference for Azure Functions", section "Flex Consumption plan
# deprecations" (MicrosoftDocs/azure-docs articles/azure-functions/functions-app-settings.md, as mirrored in
# xtqqczze/MicrosoftDocs-azure-docs at 025a55b6, ms.date 07/11/2025): "these site properties and
# application settings are deprecated and shouldn't be used when creating function app resources".
FLEX_DEPRECATED_SITE_PROPERTIES = frozenset(
    name.lower()
    for name in (
        "alwaysOn",
        "containerSize",
        "ftpsState",
        "isReserved",
        "IsXenon",
        "javaVersion",
        "LinuxFxVersion",
        "netFrameworkVersion",
        "powerShellVersion",
        "functionAppScaleLimit",
        "preWarmedInstanceCount",
        "use32BitWorkerProcess",
        "vnetBackupRestoreEnabled",
        "vnetContentShareEnabled",
        "vnetImagePullEnabled",
        "vnetRouteAllEnabled",
        "windowsFxVersion",
    )
)
FLEX_DEPRECATED_APP_SETTINGS = frozenset(
    (
        "ENABLE_ORYX_BUILD",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "FUNCTIONS_MAX_HTTP_CONCURRENCY",
        "FUNCTIONS_WORKER_PROCESS_COUNT",
        "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTOVERVNET",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_DNS_SERVER",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
        "WEBSITE_VNET_ROUTE_ALL",
    )
)

# The app's start as the worker runs it: import function_app (settings check, then the registrations), and
# the names of the functions it registered.
_START = (
    "import json, function_app\n"
    "print(json.dumps(sorted(f.get_function_name() for f in function_app.app.get_functions())))"
)


def start_function_app(settings: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """function_app.py imported in a fresh interpreter whose environment is `settings` and nothing else
    of this machine's (PATH only, to find nothing but this interpreter's own libraries)."""
    return subprocess.run(
        [sys.executable, "-c", _START],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **settings},
        capture_output=True,
        text=True,
        timeout=180,
    )


def registered_functions(run: subprocess.CompletedProcess[str]) -> list[str]:
    assert run.returncode == 0, f"the app did not start: {run.stderr[-1500:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def functions_of_a_local_run() -> list[str]:
    """What the app registers with the README's local settings (local.settings.example.json): the full set."""
    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    functions = registered_functions(start_function_app(values))
    assert functions
    return functions


def test_a_default_deployment_starts_and_registers_every_function(functions_of_a_local_run):
    settings = app_settings(main_scope())

    run = start_function_app(settings)

    assert registered_functions(run) == functions_of_a_local_run
    assert any(name.startswith("Health") for name in functions_of_a_local_run)


def test_by_default_the_write_back_is_off_until_its_settings_are_given():
    assert app_settings(main_scope())["SALESFORCE_WRITEBACK"] == "off"


def test_turning_the_write_back_on_without_its_settings_stops_the_start():
    # The start check is real: what the defaults avoid is what this variant trips over.
    run = start_function_app(app_settings(main_scope({"SALESFORCE_WRITEBACK": "function"})))

    assert run.returncode != 0
    assert "SettingsError: SALESFORCE_" in run.stderr


def test_the_write_back_with_its_settings_starts(functions_of_a_local_run):
    environment = {
        "SALESFORCE_WRITEBACK": "function",
        "SALESFORCE_CLIENT_ID": "3MVG9connected.app",
        "SALESFORCE_LOGIN_URL": "https://contoso.my.salesforce.com",
    }
    # The client secret as azd passes it (a secure parameter): main.bicep puts it in Key Vault, and the
    # app setting is a reference the platform resolves.
    settings = app_settings(main_scope(environment, salesforceClientSecret="s3cret-from-azd"))

    assert settings["SALESFORCE_CLIENT_SECRET"] == "s3cret-from-azd"
    assert registered_functions(start_function_app(settings)) == functions_of_a_local_run


def _set_properties(value: Any, path: str = "properties") -> Iterator[tuple[str, Any]]:
    """(path, value) of every property given a value (null is "not set": ARM leaves it out)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if item is not None:
                yield f"{path}.{key}", item
                yield from _set_properties(item, f"{path}.{key}")


def deprecated_on_flex(properties: Mapping[str, Any], settings: Mapping[str, str]) -> list[str]:
    found = [
        path
        for path, _ in _set_properties(properties)
        if path.rsplit(".", 1)[-1].lower() in FLEX_DEPRECATED_SITE_PROPERTIES
    ]
    return found + sorted(name for name in settings if name in FLEX_DEPRECATED_APP_SETTINGS)


FLEX_VARIANTS = [
    variant for variant in connectivity_variants() if on_flex_consumption(main_scope(connectivity=variant))
]


def test_there_are_flex_consumption_variants_to_check():
    assert FLEX_VARIANTS and "relayAgent" in FLEX_VARIANTS


@pytest.mark.parametrize("connectivity", FLEX_VARIANTS)
def test_no_flex_deprecated_property_or_setting_is_set_on_flex_consumption(connectivity):
    main = main_scope(connectivity=connectivity)

    assert deprecated_on_flex(site_properties(main), app_settings(main)) == []


def test_the_deprecation_check_sees_nested_properties_and_ignores_nulls():
    properties = {
        "siteConfig": {"ftpsState": "Disabled", "alwaysOn": None, "LinuxFxVersion": None},
        "vnetRouteAllEnabled": False,
    }
    assert deprecated_on_flex(properties, {"FUNCTIONS_WORKER_RUNTIME": "python", "SAP_TRANSPORT": "relay"}) == [
        "properties.siteConfig.ftpsState",
        "properties.vnetRouteAllEnabled",
        "FUNCTIONS_WORKER_RUNTIME",
    ]


def test_the_dedicated_variant_still_disables_ftp():
    main = main_scope(connectivity="appServiceHybridConnection")
    assert not on_flex_consumption(main)
    assert site_properties(main)["siteConfig"]["ftpsState"] == "Disabled"


def test_no_comment_suggests_az_deployment_with_azds_parameter_file():
    """main.parameters.json holds azd's ${...} placeholders; `az deployment ... -p main.parameters.json`
    would pass them literally (environmentName '${AZURE_ENV_NAME}')."""
    for path in sorted(INFRA.rglob("*.bicep")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("//") and "az deployment" in line:
                assert "main.parameters.json" not in line, f"{path.name}:{number}: {line.strip()}"
