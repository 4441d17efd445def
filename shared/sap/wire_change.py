"""The change path on the wire (issue 26): version 1 messages beside the create's (shared/sap/wire.py), for the
relay transport (shared/sap/relay_change.py) and the agent's `POST /v1/change` and `POST /v1/read` (agent/api.py).

    {"version": 1, "type": "change", "accountId": "...", "customerNumber": "0000100001",
        "companyData": {"STREET": "...", ...}, "salesOrganization": "1000", "distributionChannel": "10",
        "division": "00", "systemModstamp": "2026-12-07T10:00:00.000Z"}
    {"version": 1, "type": "changed", "customerNumber": "...", "messages": [...]}
    {"version": 1, "type": "read", "customerNumber": "..."}
    {"version": 1, "type": "customer", "customerNumber": "...", "companyData": {"NAME": "...", ...}}
    and the create's "error" message (wire.encode_error / wire.error_from_wire) for every failure.

The mapping's warnings stay in the app (the agent has no use for them): a decoded change carries none.
`companyData` names PI_COMPANYDATA's (BAPIKNA106) fields, whatever the back end: the Business Partner gateway
translates them on its side of the wire as it does in the app. A message of another version, or that is not one
of these, is refused (WireFormatError), never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.sap import wire
from shared.sap.port import SapMessage
from shared.sap.wire import WIRE_VERSION, WireFormatError


def _envelope(kind: str, **fields: Any) -> str:
    return json.dumps({"version": WIRE_VERSION, "type": kind, **fields}, ensure_ascii=False, separators=(",", ":"))


def _open(text: str | bytes, expected: tuple[str, ...]) -> dict[str, Any]:
    """The message's fields; the other side's wire error raised as the SapError it names."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise WireFormatError(f"not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("version") != WIRE_VERSION:
        raise WireFormatError(f"not a version {WIRE_VERSION} SAP wire message")
    if data.get("type") not in (*expected, "error"):
        raise WireFormatError(f"expected {' or '.join(expected)}, got {data.get('type')!r}")
    if data["type"] == "error":
        raise wire.error_from_wire(data)
    return data


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise WireFormatError(f"{name} is a string")
    return value


def _fields(data: Mapping[str, Any], name: str) -> dict[str, str]:
    value = data.get(name)
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise WireFormatError(f"{name} is an object of strings")
    return dict(value)


def encode_change(change: CustomerChange) -> str:
    return _envelope(
        "change",
        accountId=change.account_id,
        customerNumber=change.customer_number,
        companyData=dict(change.company_data),
        salesOrganization=change.sales_organization,
        distributionChannel=change.distribution_channel,
        division=change.division,
        systemModstamp=change.system_modstamp,
    )


def decode_change(text: str | bytes) -> CustomerChange:
    data = _open(text, ("change",))
    return CustomerChange(
        account_id=_text(data, "accountId"),
        customer_number=_text(data, "customerNumber"),
        company_data=_fields(data, "companyData"),
        sales_organization=_text(data, "salesOrganization"),
        distribution_channel=_text(data, "distributionChannel"),
        division=_text(data, "division"),
        system_modstamp=_text(data, "systemModstamp"),
    )


def encode_changed(changed: SapCustomerChanged) -> str:
    messages = [m.to_json() for m in changed.messages if isinstance(m, SapMessage)]
    return _envelope("changed", customerNumber=changed.customer_number, messages=messages)


def decode_changed(text: str | bytes) -> SapCustomerChanged:
    """The change SAP committed; raises the SapError the other side raised."""
    data = _open(text, ("changed",))
    messages = data.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise WireFormatError("messages is a list of SAP messages")
    return SapCustomerChanged(
        _text(data, "customerNumber"),
        messages=tuple(
            SapMessage(str(m.get("type", "")), str(m.get("id", "")), str(m.get("number", "")), str(m.get("text", "")))
            for m in messages
        ),
    )


def encode_read(customer_number: str) -> str:
    return _envelope("read", customerNumber=customer_number)


def decode_read(text: str | bytes) -> str:
    return _text(_open(text, ("read",)), "customerNumber")


def encode_customer(snapshot: SapCustomerSnapshot) -> str:
    return _envelope("customer", customerNumber=snapshot.customer_number, companyData=dict(snapshot.company_data))


def decode_customer(text: str | bytes) -> SapCustomerSnapshot:
    """What SAP holds; raises the SapError the other side raised."""
    data = _open(text, ("customer",))
    return SapCustomerSnapshot(_text(data, "customerNumber"), _fields(data, "companyData"))
