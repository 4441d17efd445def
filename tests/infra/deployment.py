"""What `azd up` would deploy with the defaults, evaluated from infra/ (tests/infra/bicep_eval.py): the
parameters as azd fills them, the function app's app settings as the platform gives them to the app, and
the site's properties, per connectivity variant.

Where each fact comes from:
* azd fills main.parameters.json: `${NAME}` is the azd environment's value ('' when unset), `${NAME=x}` is
  x when NAME is unset (azd's envsubst; Azure/azure-dev cli/azd/pkg/...). azd itself sets AZURE_ENV_NAME,
  AZURE_LOCATION and AZURE_PRINCIPAL_ID; a parameter with neither a value there nor a default is one
  azd asks for (`REQUIRED_ANSWERS` gives the documented example answer).
* A Key Vault reference resolves to the secret when the vault has it; otherwise "the reference string is
  used instead" (Microsoft Learn, "Use Key Vault references as app settings", Troubleshoot Key Vault
  references): the app then sees the literal `@Microsoft.KeyVault(...)` text.
* App Service sets WEBSITE_SITE_NAME and WEBSITE_INSTANCE_ID in every hosted app (App Service's
  "Environment variables and app settings" reference); shared/hosting.py tells Azure from a laptop by them.
* `STAND_INS`: what only a deployment knows, in the documented form of each (an identity's client id is a
  GUID; endpoints as the resource providers write them). A value the settings need without a stand-in
  fails the check, naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.infra.bicep import INFRA
from tests.infra.bicep_eval import Deployed, NotEvaluable, Scope, Template, plain

MAIN = INFRA / "main.bicep"
PARAMETERS = INFRA / "main.parameters.json"

# Set by azd for every environment (azd's own variables).
AZD_ENVIRONMENT = {
    "AZURE_ENV_NAME": "sapsync-dev",
    "AZURE_LOCATION": "westeurope",
    "AZURE_PRINCIPAL_ID": "00000000-0000-0000-0000-0000000000aa",
}
# Parameters without a default and outside main.parameters.json: azd asks; the README's example answer.
REQUIRED_ANSWERS = {
    "sapSalesAreas": '{"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000"}}',
}
STAND_INS: dict[str, Any] = {
    "main.bicep:appIdentity.properties.clientId": "5b1c2c5e-0c1e-4a8e-9a57-3f0c9d6f1a01",
    "main.bicep:appIdentity.id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/id-sapsync",
    "keyvault.bicep:vault.name": "kv-sapsync",
    "keyvault.bicep:vault.properties.vaultUri": "https://kv-sapsync.vault.azure.net/",
    "relay.bicep:namespace.properties.serviceBusEndpoint": "https://relay-sapsync.servicebus.windows.net:443/",
    "relay.bicep:namespace.name": "relay-sapsync",
    "api.bicep:storage.properties.primaryEndpoints.blob": "https://stsapsync.blob.core.windows.net/",
    "api.bicep:storage.properties.primaryEndpoints.queue": "https://stsapsync.queue.core.windows.net/",
    "api.bicep:storage.properties.primaryEndpoints.table": "https://stsapsync.table.core.windows.net/",
    "api.bicep:applicationInsights.properties.ConnectionString": (
        "InstrumentationKey=6f1c0b7e-8d0e-4c47-9f3e-1a2b3c4d5e6f;"
        "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
    ),
}
PLATFORM_SETTINGS = {"WEBSITE_SITE_NAME": "func-sapsync", "WEBSITE_INSTANCE_ID": "0" * 64}

_PLACEHOLDER = re.compile(r"^\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:=(?P<default>[^}]*))?\}$")
_KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((?P<body>[^)]*)\)$")


def azd_parameters(environment: Mapping[str, str] | None = None) -> dict[str, Any]:
    """main.parameters.json as azd expands it in an environment holding `environment` besides its own."""
    env = {**AZD_ENVIRONMENT, **(environment or {})}
    values: dict[str, Any] = {}
    for name, entry in json.loads(PARAMETERS.read_text())["parameters"].items():
        match = _PLACEHOLDER.match(entry["value"])
        if match is None:
            raise NotEvaluable(f"main.parameters.json {name}: not an azd placeholder: {entry['value']}")
        values[name] = env.get(match["name"], match["default"] or "")
    declared = Template(MAIN).parameters()
    for name, default in declared.items():
        if name not in values and default is None:
            if name not in REQUIRED_ANSWERS:
                raise NotEvaluable(
                    f"parameter {name}: azd asks for it; add the example of docs/deploy.md to REQUIRED_ANSWERS"
                )
            values[name] = REQUIRED_ANSWERS[name]
    return values


def main_scope(environment: Mapping[str, str] | None = None, **overrides: Any) -> Scope:
    return Scope(Template(MAIN), {**azd_parameters(environment), **overrides}, STAND_INS)


def api_scope(main: Scope) -> Scope:
    """infra/app/api.bicep with the parameters main.bicep passes it."""
    return main.value("api").scope()


def app_settings(main: Scope) -> dict[str, str]:
    """The environment the function app starts with: the app settings resource of api.bicep (the code's
    settings from main.bicep and the host's), Key Vault references resolved as the platform does, and the
    platform's own variables."""
    api = api_scope(main)
    settings = plain(api.object_of("siteAppSettings"))["properties"]
    secrets = {item["name"]: item["value"] for item in plain(main.object_of("keyVault"))["params"]["secrets"]["items"]}
    environment: dict[str, str] = {}
    for name, value in settings.items():
        if isinstance(value, Deployed):
            raise NotEvaluable(f"app setting {name}: needs a deployed value with no stand-in: {value.path}")
        text = "" if value is None else str(value)
        reference = _KEY_VAULT_REFERENCE.match(text)
        if reference is not None:
            secret = dict(part.split("=", 1) for part in reference["body"].split(";"))["SecretName"]
            text = secrets.get(secret, text)  # unresolved: the reference string itself
        environment[name] = text
    return {**environment, **PLATFORM_SETTINGS}


def site_properties(main: Scope) -> dict[str, Any]:
    """The function app's `properties` (siteConfig inside) as api.bicep sends them."""
    return plain(api_scope(main).object_of("site"))["properties"]


def on_flex_consumption(main: Scope) -> bool:
    return bool(api_scope(main).value("onFlexConsumption"))


def connectivity_variants() -> list[str]:
    """The @allowed values of main.bicep's connectivity parameter."""
    template = Template(MAIN)
    node = template.symbols["connectivity"].node
    decorators = node.prev_named_sibling
    while decorators is not None and decorators.type == "comment":
        decorators = decorators.prev_named_sibling
    text = decorators.text.decode() if decorators is not None else ""
    found = re.search(r"@allowed\(\[(?P<items>[^\]]*)\]\)", text, re.S)
    if found is None:
        raise NotEvaluable("connectivity: no @allowed list")
    return re.findall(r"'([^']+)'", found["items"])


def repository_root() -> Path:
    return INFRA.parent
