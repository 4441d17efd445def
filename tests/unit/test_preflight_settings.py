"""The go-live check's settings area (shared/settings/preflight.py): a deployment's settings that pass every
check, then each combination that loads but cannot work broken alone, failing its own check with its fix."""

from __future__ import annotations

import json

import pytest

from shared.core.preflight import Area, Verdict
from shared.settings import load_settings
from shared.settings.preflight import settings_area

# Secrets with values no check may show.
SAP_PASSWORD, CLIENT_SECRET, PROOF = "sap-pw-Geheim-4711", "sf-secret-Geheim-0815", "proof-" + "k" * 40
STORAGE = (
    "DefaultEndpointsProtocol=https;AccountName=contosoledger;AccountKey=c2VjcmV0LWtleS0xMjM0NQ==;"
    "EndpointSuffix=core.windows.net"
)

# A deployment's settings as the app has them in Azure: rfc to a real SAP, storage in Azure, write-back by
# the app with client credentials at the org's My Domain, the push path on.
DEPLOYED = {
    "SAP_TRANSPORT": "rfc",
    "SAP_ASHOST": "sap.contoso.example",
    "SAP_SYSNR": "00",
    "SAP_CLIENT": "100",
    "SAP_USER": "SAP_SYNC_RFC",
    "SAP_PASSWORD": SAP_PASSWORD,
    "SAP_FIND_NO_MATCH_MESSAGE": "F2 173",
    "SAP_DEFAULT_SALES_AREA": "1000/10/00",
    "AzureWebJobsStorage": STORAGE,
    "RETRY_QUEUE_NAME": "sap-customer-retry",
    "SALESFORCE_WRITEBACK": "function",
    "SALESFORCE_AUTH": "client_credentials",
    "SALESFORCE_LOGIN_URL": "https://contoso.my.salesforce.com",
    "SALESFORCE_CLIENT_ID": "3MVG9-client",
    "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
    "SALESFORCE_ORGANIZATION_ID": "00D5g000004XyZ1EAK",
}
RELAY = {
    **{
        k: v
        for k, v in DEPLOYED.items()
        if not k.startswith(("SAP_ASHOST", "SAP_SYSNR", "SAP_CLIENT", "SAP_USER", "SAP_PASSWORD"))
    },
    "SAP_TRANSPORT": "relay",
    "SAP_RELAY_URL": "https://contoso-relay.servicebus.windows.net/sap",
    "SAP_AGENT_PROOF_KEY": PROOF,
}


def run(env: dict[str, str]):
    return settings_area(lambda: load_settings(env), env)


def verdicts(results) -> dict[str, Verdict]:
    return {result.check: result.verdict for result in results}


def only_failure(env: dict[str, str]):
    config, results = run(env)
    assert config is not None
    failures = [result for result in results if result.failed]
    assert len(failures) == 1, [(r.check, r.found) for r in failures]
    assert failures[0].area is Area.SETTINGS and failures[0].fix
    return failures[0]


@pytest.mark.parametrize("env", [DEPLOYED, RELAY], ids=["rfc", "relay"])
def test_a_deployments_settings_pass_every_check(env):
    config, results = run(env)
    assert config is not None
    assert not [r for r in results if r.failed]
    assert verdicts(results)["start"] is Verdict.PASSED
    assert verdicts(results)["local_doubles"] is Verdict.PASSED
    assert verdicts(results)["push_writeback"] is Verdict.PASSED


def test_settings_that_do_not_load_fail_the_start_check_naming_the_setting():
    env = {k: v for k, v in DEPLOYED.items() if k != "SAP_TRANSPORT"}
    config, results = run(env)
    assert config is None
    [start] = results
    assert (start.check, start.verdict) == ("start", Verdict.FAILED)
    assert start.found.startswith("SAP_TRANSPORT: required") and "set SAP_TRANSPORT" in (start.fix or "")


def test_relay_without_the_agents_proof_key_fails_its_check():
    failure = only_failure({k: v for k, v in RELAY.items() if k != "SAP_AGENT_PROOF_KEY"})
    assert failure.check == "agent_proof"
    assert "SAP_AGENT_PROOF_KEY" in failure.found and "AGENT_PROOF_KEY" in (failure.fix or "")


def test_rfc_without_the_no_match_message_fails_its_check():
    failure = only_failure({k: v for k, v in DEPLOYED.items() if k != "SAP_FIND_NO_MATCH_MESSAGE"})
    assert failure.check == "find_no_match" and "held for review" in failure.found
    assert "SAP_FIND_NO_MATCH_MESSAGE" in (failure.fix or "")


def test_under_relay_the_no_match_message_is_the_agents_and_skipped_here():
    _, results = run({k: v for k, v in RELAY.items() if k != "SAP_FIND_NO_MATCH_MESSAGE"})
    assert verdicts(results)["find_no_match"] is Verdict.SKIPPED


def test_a_default_sales_area_that_is_not_configured_fails_the_sales_area_check():
    failure = only_failure({**DEPLOYED, "SAP_DEFAULT_SALES_AREA": "2000/10/00"})
    assert failure.check == "sales_areas" and "2000/10/00 is not in SAP_SALES_AREAS" in failure.found


def test_a_sales_area_without_a_reference_customer_fails_the_sales_area_check():
    areas = '{"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000"}, "3000/10/00": {}}'
    failure = only_failure({**DEPLOYED, "SAP_SALES_AREAS": areas})
    assert failure.check == "sales_areas" and "no referenceCustomer for 3000/10/00" in failure.found


@pytest.mark.parametrize("mode", ["flow", "off"])
def test_the_push_path_without_the_apps_write_back_fails_its_check(mode):
    failure = only_failure({**DEPLOYED, "SALESFORCE_WRITEBACK": mode})
    assert failure.check == "push_writeback" and f"SALESFORCE_WRITEBACK={mode}" in failure.found
    assert "SALESFORCE_WRITEBACK=function" in (failure.fix or "")


def test_the_push_path_off_skips_its_check():
    _, results = run({k: v for k, v in DEPLOYED.items() if k != "SALESFORCE_ORGANIZATION_ID"})
    assert verdicts(results)["push_writeback"] is Verdict.SKIPPED


def test_local_doubles_are_a_rehearsal_skipped_not_passed():
    env = {"SAP_TRANSPORT": "simulator", "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    _, results = run(env)
    [doubles] = [r for r in results if r.check == "local_doubles"]
    assert doubles.verdict is Verdict.SKIPPED
    assert "SAP simulator" in doubles.found and "Azurite" in doubles.found
    assert not [r for r in results if r.failed]


def test_azurite_named_inside_an_azure_hosted_app_fails():
    failure = only_failure(
        {**DEPLOYED, "AzureWebJobsStorage": "UseDevelopmentStorage=true", "WEBSITE_SITE_NAME": "contoso-sync"}
    )
    assert failure.check == "local_doubles" and "AzureWebJobsStorage" in (failure.fix or "")


def test_the_password_flow_passes_with_salesforces_retirement_said():
    env = {
        **DEPLOYED,
        "SALESFORCE_AUTH": "password",
        "SALESFORCE_USERNAME": "sync@contoso.example",
        "SALESFORCE_PASSWORD": "pw-Geheim-1",
    }
    _, results = run(env)
    [writeback] = [r for r in results if r.check == "writeback"]
    assert writeback.verdict is Verdict.PASSED and "retiring" in writeback.found


@pytest.mark.parametrize("env", [DEPLOYED, RELAY, {**DEPLOYED, "SAP_TRANSPORT": "bogus"}], ids=["rfc", "relay", "bad"])
def test_no_check_shows_a_secret(env):
    _, results = run(env)
    shown = json.dumps([r.to_json() for r in results])
    for secret in (SAP_PASSWORD, CLIENT_SECRET, PROOF, "c2VjcmV0LWtleS0xMjM0NQ=="):
        assert secret not in shown


def test_a_key_vault_reference_instead_of_its_secret_stops_everything_that_would_log_on():
    reference = "@Microsoft.KeyVault(VaultName=contoso-kv;SecretName=sap-password)"
    config, results = run({**DEPLOYED, "SAP_PASSWORD": reference})
    assert config is None  # the runner then reaches no other area: no SAP logon with the reference's text
    failure = [r for r in results if r.failed]
    assert [(r.check, r.found.split(" hold")[0]) for r in failure] == [("key_vault_references", "SAP_PASSWORD")]
    assert "az keyvault secret show" in (failure[0].fix or "") and reference not in failure[0].found
