"""Salesforce outbound messages as Salesforce sends them: for trying the push path locally, its tests and
its benchmark.

    python -m devtools.outbound_messages samples/us-account.json | curl -s -X POST \\
        http://localhost:7071/api/salesforce/outbound-messages -H 'Content-Type: text/xml; charset=utf-8' \\
        -H 'SOAPAction: ""' --data-binary @-

prints one `notifications` call for the account of a CreateSAPCustomer payload (the samples), from the
fake Salesforce's org (devtools.fake_salesforce.ORGANIZATION_ID, which `scripts/run --salesforce fake`
sets as SALESFORCE_ORGANIZATION_ID) unless --organization-id names another. With --customer-number it is
the change flow's notification of a synced account instead (issue 26): the number set, Synced, the payload's
values as changed, and SystemModstamp now or --modstamp (ISO 8601), which orders the changes.

The envelope follows Salesforce's outbound messaging WSDL and the captured request that Microsoft's
Salesforce receiver tests with (aspnet/WebHooks, test/.../RequestBodies/Salesforce.xml): prefixes
soapenv/xsi on the envelope, the outbound namespace as the default on `notifications`, and the
sObject's own `xmlns:sf` declaration on every `sObject`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from devtools.fake_salesforce import ORGANIZATION_ID, salesforce_id18
from shared.core import account_fields

ACTION_ID = salesforce_id18("04k5g000000Ab1C")
_NOTIFICATION_IDS = itertools.count(1)

_PROPERTY_FIELD = {prop: name for name, prop in account_fields.REQUEST_PROPERTY_OF_FIELD.items()}


def notification_id() -> str:
    """A fresh 18-character Notification Id (key prefix 04l, as Salesforce's)."""
    return salesforce_id18(f"04l5g{next(_NOTIFICATION_IDS):010d}")


def salesforce_datetime(moment: datetime) -> str:
    """xsd:dateTime as Salesforce writes it: milliseconds and Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def account_fields_of(
    payload: Mapping[str, str], *, modified_at: datetime | None = None, **fields: str | None
) -> dict[str, str | None]:
    """The Account fields (API names) behind a CreateSAPCustomer payload, as a new customer's: Type
    Customer, no SAP number, no sync status. Properties with no Account field (currencyIsoCode,
    language, countryCode, stateCode) are dropped: the outbound message carries only Account fields.
    LastModifiedDate and SystemModstamp are both `modified_at` (now by default): a person's save sets
    both to the same moment; a system change (a roll-up, a formula's recalculation) moves SystemModstamp
    alone (Object Reference, "System Fields"), which a caller gives as SystemModstamp=..."""
    result: dict[str, str | None] = {
        _PROPERTY_FIELD[prop]: value for prop, value in payload.items() if prop in _PROPERTY_FIELD
    }
    if "country" not in payload and "countryCode" in payload:
        result["BillingCountry"] = payload["countryCode"]
    if "state" not in payload and "stateCode" in payload:
        result["BillingState"] = payload["stateCode"]
    result[account_fields.TYPE_FIELD] = account_fields.CUSTOMER_TYPE
    stamp = salesforce_datetime(modified_at or datetime.now(UTC))
    result[account_fields.LAST_MODIFIED_FIELD] = stamp
    result[account_fields.SYSTEM_MODSTAMP_FIELD] = stamp
    result.update(fields)
    return result


def synced_account_fields_of(
    payload: Mapping[str, str], customer_number: str, *, modified_at: datetime, **fields: str | None
) -> dict[str, str | None]:
    """The Account fields of a change notification (issue 26): the account already holds its SAP number and
    the status Synced, as after the write-back, and carries the data of the save at `modified_at` (its
    SystemModstamp), which the change flow SAP_Customer_Sync_Change sends when an owned field changed."""
    return account_fields_of(
        payload,
        modified_at=modified_at,
        **{account_fields.CUSTOMER_NUMBER_FIELD: customer_number, account_fields.SYNC_STATUS_FIELD: "Synced", **fields},
    )


def outbound_message(
    accounts: Iterable[Mapping[str, str | None]], *, organization_id: str, notification_ids: Iterable[str] | None = None
) -> bytes:
    """One `notifications` call carrying one Notification per account (fields by API name; None is
    written as xsi:nil, as Salesforce's SOAP API writes a nillable field without a value)."""
    ids = iter(notification_ids) if notification_ids is not None else None
    parts = []
    for fields in accounts:
        sobject = "".join(
            f'<sf:{name} xsi:nil="true"/>' if value is None else f"<sf:{name}>{escape(value)}</sf:{name}>"
            for name, value in fields.items()
        )
        parts.append(
            f"<Notification><Id>{next(ids) if ids else notification_id()}</Id>"
            '<sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
            f"{sobject}</sObject></Notification>"
        )
    instance = f"https://example.my.salesforce.com/services/Soap/c/61.0/{organization_id[:15]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{escape(organization_id)}</OrganizationId><ActionId>{ACTION_ID}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{escape(instance)}</EnterpriseUrl>"
        f"<PartnerUrl>{escape(instance.replace('/c/', '/u/'))}</PartnerUrl>"
        f"{''.join(parts)}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def soap_headers() -> dict[str, str]:
    """What Salesforce sends with the call: SOAP 1.1's content type and an empty SOAPAction."""
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": quoteattr("")}


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text}: give the offset (Z or +01:00)")
    return moment


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.outbound_messages",
        description="Print the outbound message Salesforce would send for the accounts of CreateSAPCustomer "
        "payloads (e.g. samples/us-account.json), one Notification each.",
    )
    parser.add_argument("payloads", nargs="+", type=Path, metavar="PAYLOAD.json")
    parser.add_argument(
        "--organization-id",
        default=ORGANIZATION_ID,
        help=f"the sending org (default: the fake Salesforce's, {ORGANIZATION_ID})",
    )
    parser.add_argument(
        "--customer-number",
        metavar="NUMBER",
        help="send a change of a synced account with this SAP customer number (the change flow's "
        "notification) instead of a new customer",
    )
    parser.add_argument(
        "--modstamp",
        type=_moment,
        metavar="ISO8601",
        help="the account's SystemModstamp (and LastModifiedDate); default: now",
    )
    arguments = parser.parse_args(argv)
    accounts = []
    for path in arguments.payloads:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            parser.error(f"{path}: {error}")
        if not isinstance(payload, dict):
            parser.error(f"{path}: not a JSON object")
        values = {key: str(value) for key, value in payload.items() if value is not None}
        if arguments.customer_number:
            accounts.append(
                synced_account_fields_of(
                    values, arguments.customer_number, modified_at=arguments.modstamp or datetime.now(UTC)
                )
            )
        else:
            accounts.append(account_fields_of(values, modified_at=arguments.modstamp))
    sys.stdout.buffer.write(outbound_message(accounts, organization_id=arguments.organization_id))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
