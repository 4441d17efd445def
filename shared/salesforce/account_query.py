"""The accounts to reconcile, read from Salesforce with simple-salesforce's query and query_more: the flow's
condition as SOQL (customer types escaped, never pasted in) and every page of the answer followed."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import requests

from shared.core.account_fields import DEFAULT_CUSTOMER_TYPES
from shared.core.salesforce_org import SalesforceSettings
from shared.salesforce.connection import DEFAULT_TIMEOUT_SECONDS, SalesforceConnection
from shared.salesforce.port import (
    ACCOUNT_TYPE_FIELD,
    CUSTOMER_NUMBER_FIELD,
    REQUEST_PROPERTY_FIELDS,
    AccountPage,
    CustomerAccounts,
    SalesforceUnavailable,
)

logger = logging.getLogger(__name__)


# SOQL's escape sequences in a quoted string literal (SOQL and SOSL Reference, "Quoted String Escape
# Sequences"): \n \r \t \b \f \" \' \\. A customer type is a setting, so it is escaped, never pasted in.
_SOQL_ESCAPES = str.maketrans(
    {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
)


def soql_string(value: str) -> str:
    """A SOQL string literal holding `value`."""
    return "'" + value.translate(_SOQL_ESCAPES) + "'"


def customers_without_sap_number_soql(customer_types: tuple[str, ...] = DEFAULT_CUSTOMER_TYPES) -> str:
    """The flow's condition as SOQL: Type one of the customer types (SALESFORCE_CUSTOMER_TYPES) and no SAP
    number; `= null` is SOQL's test for an empty field. Field names from the port."""
    if not customer_types:
        raise ValueError("at least one customer type is needed")
    types = ",".join(soql_string(value) for value in customer_types)
    return (
        f"SELECT {', '.join(dict.fromkeys(REQUEST_PROPERTY_FIELDS.values()))} FROM Account "
        f"WHERE {ACCOUNT_TYPE_FIELD} IN ({types}) AND {CUSTOMER_NUMBER_FIELD} = null ORDER BY Id"
    )


# The query with the default customer type ("Customer").
CUSTOMERS_WITHOUT_SAP_NUMBER_SOQL = customers_without_sap_number_soql()
# A query page may be as large as 2,000 records (the REST API's default and maximum batch size).
_NEXT_RECORDS_PATH = re.compile(r"^/services/data/v\d+\.\d+/query/[A-Za-z0-9-]+$")


class SimpleSalesforceAccounts(CustomerAccounts):
    """The accounts to reconcile, with simple-salesforce's query and query_more, page by page.

    Salesforce's Query resource answers at most one batch (up to 2,000 records, possibly fewer) with
    `totalSize`, `done` and, while `done` is false, `nextRecordsUrl`, the path of the next batch
    (developer.salesforce.com, REST API Developer Guide, "Query" and "Execute a SOQL Query"); every
    page is followed until `done`. An expired session is renewed and the same page asked again (the
    query locator outlives a session)."""

    def __init__(
        self,
        settings: SalesforceSettings | None,
        session: requests.Session | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        connection: SalesforceConnection | None = None,
        customer_types: tuple[str, ...] | None = None,
    ) -> None:
        self._connection = connection or SalesforceConnection(settings, session, timeout_seconds)
        if customer_types is None:
            customer_types = settings.customer_types if settings is not None else DEFAULT_CUSTOMER_TYPES
        self._soql = customers_without_sap_number_soql(customer_types)

    def customers_without_sap_number(self) -> Iterator[AccountPage]:
        connection = self._connection
        timeout = connection.timeout_seconds
        soql = self._soql
        answer = connection.call(lambda client: client.query(soql, timeout=timeout), "the account query")
        pages = 1
        while True:
            yield _account_page(answer)
            if answer.get("done", True):
                break
            next_url = answer.get("nextRecordsUrl")
            if not isinstance(next_url, str) or not _NEXT_RECORDS_PATH.match(next_url):
                # Fail closed: a result that says "not done" without a usable next page cannot be completed.
                raise SalesforceUnavailable("Salesforce's query answer is not done but has no usable nextRecordsUrl")
            answer = connection.call(
                lambda client, url=next_url: client.query_more(url, identifier_is_url=True, timeout=timeout),
                "the account query's next page",
            )
            pages += 1
        logger.info("Salesforce account query read", extra={"pages": pages})


def _account_page(answer: Any) -> AccountPage:
    if not isinstance(answer, dict) or not isinstance(answer.get("records"), list):
        raise SalesforceUnavailable("Salesforce's query answer has no records list")
    requests_ = tuple(
        {prop: record.get(field) for prop, field in REQUEST_PROPERTY_FIELDS.items()}
        for record in answer["records"]
        if isinstance(record, dict)
    )
    total = answer.get("totalSize")
    return AccountPage(requests_, int(total) if isinstance(total, int) else len(requests_))
