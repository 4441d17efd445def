"""The request contract is one: the validator's fields, docs/api.md's table and the samples agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.core.validation import CONTRACT_FIELDS, MAX_LENGTHS
from tests.support.samples import sample, sample_names

API_DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")


def _request_table() -> dict[str, str]:
    """First column (the property names) -> the row, of the table under `POST /api/customers`."""
    section = API_DOC.split("### `POST /api/customers`", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table: dict[str, str] = {}
    for row in rows:
        first_cell = row.split("|")[1]
        for name in re.findall(r"`([A-Za-z]+)`", first_cell):
            table[name] = row
    return table


def test_the_api_doc_documents_exactly_the_fields_the_validator_reads():
    assert set(_request_table()) == set(CONTRACT_FIELDS)


def test_the_api_doc_states_the_name_limit_the_validator_enforces():
    assert f"up to {MAX_LENGTHS['name']} characters" in _request_table()["name"]


@pytest.mark.parametrize("name", sample_names())
def test_samples_use_only_contract_fields(name):
    assert set(sample(name)) <= set(CONTRACT_FIELDS)


def test_the_readme_says_what_the_defaults_do_with_a_request_without_organizational_data(fake_services):
    from shared.core.models import InvalidRequest
    from shared.core.validation import parse_customer_request
    from shared.usecases import create_customer

    row = _request_table()["salesOrganization"]
    assert "unless `SAP_DEFAULT_SALES_AREA` is set" in row and "400 naming `salesOrganization`" in row
    organizational = ("companyCode", "salesOrganization", "distributionChannel", "division")
    payload = {key: value for key, value in sample("german-account").items() if key not in organizational}

    with pytest.raises(InvalidRequest) as raised:
        create_customer(parse_customer_request(payload), fake_services)

    assert [error.field for error in raised.value.errors] == ["salesOrganization"]
