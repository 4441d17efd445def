"""The listing's query rules (shared.core.listing) as a table, and the HTTP route's answers over them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest

from functions.customers import list_sap_customer_syncs
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.listing import (
    DEFAULT_PAGE_SIZE,
    parse_listing_query,
)
from shared.core.models import InvalidRequest


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, tuple(LedgerStatus)),
        ("", tuple(LedgerStatus)),
        ("queued", (LedgerStatus.QUEUED,)),
        (" Queued , FAILED ", (LedgerStatus.QUEUED, LedgerStatus.FAILED)),
        ("needs_review,needs_review", (LedgerStatus.NEEDS_REVIEW,)),
    ],
)
def test_statuses(status, expected):
    assert parse_listing_query(status=status).statuses == expected


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2026-05-01T08:00:00Z", datetime(2026, 5, 1, 8, tzinfo=UTC)),
        ("2026-05-01T10:00:00+02:00", datetime(2026, 5, 1, 8, tzinfo=UTC)),
        ("2026-05-01T08:00:00.1234567Z", datetime(2026, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)),  # utcNow()
        ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_since_accepts_instants_with_an_offset_and_dates(since, expected):
    assert parse_listing_query(since=since).updated_since == expected


@pytest.mark.parametrize(
    ("field", "arguments", "says"),
    [
        ("status", {"status": "done"}, "'done' is not a status"),
        ("status", {"status": "created,open"}, "'open' is not a status"),
        ("since", {"since": "2026-05-01T08:00:00"}, "no time zone offset"),
        ("since", {"since": "yesterday"}, "no time zone offset"),
        ("since", {"since": "2026-13-01"}, "is not a date"),
        ("since", {"since": "2026-05-01T25:00:00Z"}, "is not a time"),
        ("pageSize", {"page_size": "0"}, "from 1 to 1000"),
        ("pageSize", {"page_size": "1001"}, "from 1 to 1000"),
        ("pageSize", {"page_size": "ten"}, "from 1 to 1000"),
        ("continuationToken", {"continuation": "x" * 3000}, "not a token"),
        ("continuationToken", {"continuation": "t1.é"}, "not a token"),
    ],
)
def test_bad_parameters_are_named_with_the_reason(field, arguments, says):
    with pytest.raises(InvalidRequest) as raised:
        parse_listing_query(**arguments)
    [error] = raised.value.errors
    assert error.field == field and says in error.message


def test_every_bad_parameter_is_reported_at_once():
    with pytest.raises(InvalidRequest) as raised:
        parse_listing_query(status="x", since="y", page_size="z", continuation="é")
    assert [error.field for error in raised.value.errors] == ["status", "since", "pageSize", "continuationToken"]


def test_defaults():
    query = parse_listing_query()
    assert (query.page_size, query.continuation, query.updated_since) == (DEFAULT_PAGE_SIZE, None, None)


def call(**params: str) -> tuple[int, dict]:
    response = list_sap_customer_syncs(
        func.HttpRequest("GET", "http://localhost/api/customers", body=b"", params=params)
    )
    return response.status_code, json.loads(response.get_body())


def seed(fake_services, count: int) -> None:
    now = datetime.now(UTC)
    for number in range(count):
        moment = now - timedelta(minutes=count - number)
        fake_services.ledger.claim(
            LedgerEntry(
                account_id=f"001Dn{number:010d}AAA",
                status=LedgerStatus.CREATED,
                tracking_id=f"t{number}",
                created_at=moment,
                updated_at=moment,
                customer_number=f"{number:010d}",
            )
        )


def test_the_route_pages_with_a_continuation_token_until_none_is_given(fake_services):
    seed(fake_services, 5)
    status, first = call(pageSize="2", status="created")
    assert status == 200 and first["count"] == 2 and first["continuationToken"]
    seen = [entry["accountId"] for entry in first["accounts"]]
    token = first["continuationToken"]
    while token:
        status, page = call(pageSize="2", status="created", continuationToken=token)
        assert status == 200
        seen += [entry["accountId"] for entry in page["accounts"]]
        token = page.get("continuationToken")
    assert seen == [f"001Dn{number:010d}AAA" for number in range(5)]


def test_the_route_answers_400_naming_a_bad_token(fake_services):
    status, body = call(continuationToken="not-ours")
    assert status == 400 and [error["field"] for error in body["errors"]] == ["continuationToken"]


def test_the_route_answers_400_naming_a_bad_status_and_since(fake_services):
    status, body = call(status="open", since="2026-05-01 08:00")
    assert status == 400 and body["error"] == "invalid_request"
    assert {error["field"] for error in body["errors"]} == {"status", "since"}


def test_the_route_answers_503_when_storage_is_down(fake_services):
    fake_services.ledger.available = False
    status, body = call()
    assert status == 503 and body["error"] == "unavailable"
