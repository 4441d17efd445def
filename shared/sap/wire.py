"""The SAP port on the wire: versioned JSON for the create command, its result, SAP messages and every
error kind. The relay transport sends these to the on-premise agent and back; the contract suite
(tests/contract/) runs every gateway also through an encode/decode round trip, so nothing the use
cases rely on is lost on the way.

    {"version": 1, "type": "create", "accountId": "...", "parameters": {...}, "searchSince": "...Z" | null,
        "excludedCustomers": ["0000100001", ...]}
    {"version": 1, "type": "created", "customerNumber": "...", "adopted": false, "messages": [...]}
    {"version": 1, "type": "error", "error": "transient" | "outcome_unknown" | "not_started" | "permanent"
        | "misconfigured" | "driver_missing" | "interface_mismatch" | "rejected" | "needs_review",
        "detail": "...", "outcomeUnknown": false, "messages": [...], "candidates": [...]}
    {"version": 1, "type": "interface", "companyDataLengths": {"NAME": 40, ...}}

"not_started" is the agent's own answer when it did not start the unit at all (the request could no
longer be answered within the relay's limit, agent/api.py): nothing was sent to SAP, a transient error.
An older app that does not know the kind refuses it as unreadable (for a create: outcome unknown, fail
closed), never as a success.

"excludedCustomers" (the customers the guard's search leaves out) was added within version 1 and is sent
only when not empty: an older agent ignores it, and when its guard then adopts an excluded customer the
app holds the account for review (shared.core.guard: fail closed); an older app never sends it.

A message of another version, or that is not one of these, is refused (WireFormatError), never guessed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.core.guard import customer_key
from shared.core.models import CustomerCreation
from shared.sap import errors
from shared.sap.errors import SapBusinessRejection, SapError, SapNeedsReview
from shared.sap.port import SapCustomerCreated, SapInterface, SapMessage

WIRE_VERSION = 1


def _error_classes() -> dict[str, type[SapError]]:
    """Each wire kind to the class it names: every class of the one hierarchy (shared/sap/errors.py) below
    its base, by its own `wire_kind` (an error encodes as its class's `wire_kind`, inherited through the MRO)."""
    found: dict[str, type[SapError]] = {}
    pending = list(SapError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        own = cls.__module__ == errors.__name__ and "wire_kind" in vars(cls)
        if own and found.setdefault(cls.wire_kind, cls) is not cls:
            raise TypeError(f"two SAP error classes name {cls.wire_kind!r} on the wire")
    return found


_ERROR_CLASSES = _error_classes()


class WireFormatError(ValueError):
    """Not a message of this wire format and version."""


def _envelope(kind: str, **fields: Any) -> str:
    return json.dumps({"version": WIRE_VERSION, "type": kind, **fields}, ensure_ascii=False, separators=(",", ":"))


def _open(text: str | bytes, expected: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise WireFormatError(f"not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("version") != WIRE_VERSION:
        raise WireFormatError(f"not a version {WIRE_VERSION} SAP wire message")
    if data.get("type") not in expected:
        raise WireFormatError(f"expected {' or '.join(expected)}, got {data.get('type')!r}")
    return data


def _message_json(message: SapMessage) -> dict[str, str]:
    return message.to_json()


def _message(data: Any) -> SapMessage:
    if not isinstance(data, dict):
        raise WireFormatError("an SAP message is an object")
    return SapMessage(
        type=str(data.get("type", "")),
        id=str(data.get("id", "")),
        number=str(data.get("number", "")),
        text=str(data.get("text", "")),
    )


# --------------------------------------------------------------------------- the create command


def encode_create(creation: CustomerCreation) -> str:
    excluded = {"excludedCustomers": list(creation.excluded_customers)} if creation.excluded_customers else {}
    return _envelope(
        "create",
        accountId=creation.account_id,
        parameters=creation.parameters,
        searchSince=creation.search_since.isoformat() if creation.search_since else None,
        **excluded,
    )


def decode_create(text: str | bytes) -> CustomerCreation:
    data = _open(text, ("create",))
    try:
        parameters = {
            str(name): {str(field): str(value) for field, value in dict(structure).items()}
            for name, structure in dict(data["parameters"]).items()
        }
        since = datetime.fromisoformat(data["searchSince"]) if data.get("searchSince") else None
        excluded = data.get("excludedCustomers", [])
        if not isinstance(excluded, list) or not all(isinstance(number, str) for number in excluded):
            raise ValueError("excludedCustomers is a list of customer numbers")
        return CustomerCreation(
            account_id=str(data["accountId"]),
            parameters=parameters,
            search_since=since,
            excluded_customers=tuple(customer_key(number) for number in excluded),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise WireFormatError(f"malformed create command: {error}") from None


# --------------------------------------------------------------------------- results and errors


def encode_created(created: SapCustomerCreated) -> str:
    return _envelope(
        "created",
        customerNumber=created.customer_number,
        adopted=created.adopted,
        messages=[_message_json(m) for m in created.messages],
    )


def encode_error(error: SapError) -> str:
    name = error.wire_kind
    messages = [_message_json(m) for m in error.messages] if isinstance(error, SapBusinessRejection) else []
    candidates = list(error.candidates) if isinstance(error, SapNeedsReview) else []
    return _envelope(
        "error",
        error=name,
        detail=error.detail,
        outcomeUnknown=error.outcome_unknown,
        messages=messages,
        candidates=candidates,
    )


def decode_result(text: str | bytes) -> SapCustomerCreated:
    """The created customer; raises the SapError the other side raised (same class, detail, messages)."""
    data = _open(text, ("created", "error"))
    if data["type"] == "created":
        return SapCustomerCreated(
            str(data["customerNumber"]),
            adopted=bool(data.get("adopted", False)),
            messages=tuple(_message(m) for m in data.get("messages", [])),
        )
    raise error_from_wire(data)


def error_from_wire(data: dict[str, Any]) -> SapError:
    name, detail = data.get("error"), str(data.get("detail", ""))
    error: SapError
    if name == "rejected":
        messages = tuple(_message(m) for m in data.get("messages", []))
        if not messages:
            raise WireFormatError("a rejection carries at least one SAP message")
        error = SapBusinessRejection(messages)
    elif name == "needs_review":
        error = SapNeedsReview(detail, tuple(str(c) for c in data.get("candidates", [])))
    else:
        if not isinstance(name, str) or name not in _ERROR_CLASSES:
            raise WireFormatError(f"unknown SAP error kind {name!r}")
        error = _ERROR_CLASSES[name](detail)
    if data.get("outcomeUnknown"):
        error.outcome_unknown = True
    return error


# --------------------------------------------------------------------------- the interface check


def encode_interface(interface: SapInterface) -> str:
    return _envelope("interface", companyDataLengths=dict(interface.company_data_lengths))


def decode_interface(text: str | bytes) -> SapInterface:
    data = _open(text, ("interface", "error"))
    if data["type"] == "error":
        raise error_from_wire(data)
    try:
        return SapInterface({str(k): int(v) for k, v in dict(data["companyDataLengths"]).items()})
    except (KeyError, TypeError, ValueError) as error:
        raise WireFormatError(f"malformed interface: {error}") from None
