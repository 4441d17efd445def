"""What a run prints once it is ready: the copy-paste commands, the storage lines, and the fake Salesforce's
seeded accounts and outbound-message example."""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devtools.run.environment import ADMIN_SETTINGS, PREFLIGHT_SAP_SETTINGS, SAMPLES_DIR, admin_environment
from devtools.run.processes import READY_LINE

if TYPE_CHECKING:
    from devtools.fake_salesforce import FakeSalesforce


def sample_accounts(samples_dir: Path) -> list[dict[str, object]]:
    """The sample payloads that carry an account Id (the invalid one has a wrong Id on purpose)."""
    accounts = []
    for path in sorted(samples_dir.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            payload = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(payload, dict) and isinstance(payload.get("accountId"), str):
                accounts.append(payload)
    return accounts


def start_fake_salesforce(samples_dir: Path) -> tuple[FakeSalesforce, list[str], dict[str, str]]:
    """The fake (started), the 18-character Ids seeded from the samples, and the settings that reach it."""
    from devtools.fake_salesforce import ORGANIZATION_ID, FakeSalesforce
    from devtools.outbound_messages import account_fields_of

    fake = FakeSalesforce().start()
    seeded = []
    for payload in sample_accounts(samples_dir):
        # The account as Salesforce holds it (name, billing address, phone, sales area; Type Customer), so
        # that `admin reconcile` reads what the flow would send, as the push path's message carries it.
        fields = account_fields_of({key: str(value) for key, value in payload.items() if value is not None})
        fields = {name: value for name, value in fields.items() if name not in ("Id", "LastModifiedDate")}
        try:
            seeded.append(fake.add_account(str(payload["accountId"]), **fields))
        except ValueError:
            continue  # an Id with a wrong checksum suffix: nothing Salesforce could hold
    settings = {
        "SALESFORCE_WRITEBACK": "function",
        "SALESFORCE_AUTH": "client_credentials",
        "SALESFORCE_LOGIN_URL": fake.base_url,
        "SALESFORCE_INSTANCE_URL": fake.base_url,
        "SALESFORCE_CLIENT_ID": fake.credentials.client_id,
        "SALESFORCE_CLIENT_SECRET": fake.credentials.client_secret,
        # The fake's certificate comes from its own CA; only the Salesforce adapter trusts it.
        "SALESFORCE_CA_BUNDLE": fake.ca_path,
        # The fake org's Id: the push path accepts outbound messages of this org (unset, it answers every
        # message 503, as for an app whose org is not configured).
        "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID,
    }
    return fake, seeded, settings


PUSH_SAMPLE = "us-account.json"  # a seeded account the create example above does not use


def fake_salesforce_help(settings: Mapping[str, str], account_id: str, port: int) -> str:
    base_url = settings["SALESFORCE_INSTANCE_URL"]
    ca = shlex.quote(settings["SALESFORCE_CA_BUNDLE"])
    token_command = (
        f"curl -s --cacert {ca} {base_url}/services/oauth2/token -d grant_type=client_credentials "
        f"-d client_id={settings['SALESFORCE_CLIENT_ID']} -d client_secret={settings['SALESFORCE_CLIENT_SECRET']}"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    return "\n".join(
        [
            f"Fake Salesforce at {base_url} (write-back on); the SAP number lands in SAP_Customer_Number__c:",
            f"  TOKEN=$({token_command})",
            f'  curl -s --cacert {ca} -H "Authorization: Bearer $TOKEN" '
            f"{base_url}/services/data/v61.0/sobjects/Account/{account_id}",
            f"The push path accepts the fake org's outbound messages (SALESFORCE_ORGANIZATION_ID="
            f"{settings['SALESFORCE_ORGANIZATION_ID']}); send the one Salesforce would for {SAMPLES_DIR}/{PUSH_SAMPLE} "
            "(Ack true, then the queue trigger creates it and writes the number back):",
            f"  .venv/bin/python -m devtools.outbound_messages {SAMPLES_DIR}/{PUSH_SAMPLE} | curl -s -X POST "
            f"http://localhost:{port}/api/salesforce/outbound-messages -H 'Content-Type: text/xml; charset=utf-8' "
            "-H 'SOAPAction: \"\"' --data-binary @-",
        ]
    )


def faults_line(environment: Mapping[str, str]) -> str | None:
    faults = (environment.get("SAP_SIMULATOR_FAULTS") or "").strip()
    if not faults or (environment.get("SAP_TRANSPORT") or "simulator").strip().lower() != "simulator":
        return None
    return (
        f"SAP simulator faults ACTIVE: {faults} (SAP_SIMULATOR_FAULTS): expect 202s that the queue trigger "
        "finishes later, or failures"
    )


def ready_banner(
    port: int,
    environment: Mapping[str, str],
    samples_dir: Path,
    storage_lines: Sequence[str] = (),
    admin_settings: Sequence[str] = ADMIN_SETTINGS,
) -> str:
    base_url = f"http://localhost:{port}"
    german = samples_dir / "german-account.json"
    try:
        status_id = json.loads(german.read_text(encoding="utf-8"))["accountId"]
    except (OSError, ValueError, KeyError):
        status_id = "001Dn00000AbCdEIAV"
    post = f"curl -s -X POST {base_url}/api/customers -H 'Content-Type: application/json' --data @{SAMPLES_DIR}/"
    transport = environment.get("SAP_TRANSPORT") or "simulator"
    writeback = environment.get("SALESFORCE_WRITEBACK") or "off"
    faults = faults_line(environment)
    return "\n".join(
        [
            "",
            f"{READY_LINE}: the functions answer on {base_url} (SAP {transport}, write-back {writeback}).",
            *([faults] if faults else []),
            *storage_lines,
            "Try it (from the repository root):",
            "  # create a customer: 201 with its SAP customerNumber; run it again: 200 with the same number",
            f"  {post}german-account.json",
            "  # an invalid account: 400 with one error per field",
            f"  {post}invalid-account.json",
            "  # what the ledger knows about the account",
            f"  curl -s {base_url}/api/customers/{status_id}",
            "Operations commands (docs/operations.md) read this run's storage with these settings; "
            "in another terminal:",
            f"  {admin_environment(environment, admin_settings)}",
            f"  .venv/bin/python -m admin status {status_id}",
            *(
                [
                    "  .venv/bin/python -m admin reconcile   "
                    "# dry run: the fake Salesforce's customers the sync never saw"
                ]
                if "SALESFORCE_AUTH" in admin_settings
                else []
            ),
            "The go-live check rehearsed against this run (docs/operations.md, Go-live check): "
            "with the line above, add "
            "this run's SAP settings (its made-up keys), then run it:",
            f"  {admin_environment(environment, PREFLIGHT_SAP_SETTINGS)}",
            f"  .venv/bin/python -m admin preflight --app-url {base_url}",
            "Ctrl-C stops everything this command started.",
            "",
        ]
    )
