"""What the `scripts/run --sap s4` tests do with a run (tests/integration/test_s4_*run_command.py): the README's
create and its replay against the run's functions, and the partners the run's S/4 double kept in its state file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from s4_simulator import S4Simulator
from tests.support.samples import sample


def create_the_sample(port: int) -> requests.Response:
    """The README's create (samples' german-account) against the run's functions on `port`."""
    return requests.post(f"http://127.0.0.1:{port}/api/customers", json=sample("german-account"), timeout=60)


def created_then_replayed(port: int) -> str:
    """The README's create answers 201 with a customer number, its replay 200 with the same one: that number."""
    created = create_the_sample(port)
    assert created.status_code == 201, created.text
    number = created.json()["customerNumber"]
    replayed = create_the_sample(port)
    assert replayed.status_code == 200 and replayed.json()["customerNumber"] == number, replayed.text
    return number


def partners_of_the_sample_account(state_file: Path) -> list[dict[str, Any]]:
    """The Business Partners carrying the sample account's Salesforce Id in a run's S/4 double, read by a double
    on the same state file over its OData service (after the run has stopped)."""
    account_id = sample("german-account")["accountId"].upper()
    with S4Simulator(state_file=state_file) as double:
        session = requests.Session()
        session.auth = double.credentials
        found = session.get(
            f"{double.service_url}/A_BusinessPartner",
            headers={"Accept": "application/json"},
            params={"$filter": f"BusinessPartnerIDByExtSystem eq '{account_id}'"},
            timeout=10,
        )
    return found.json()["d"]["results"]
