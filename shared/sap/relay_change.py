"""The change path through the relay (issue 26): RelaySapGateway's `change_customer` and `read_customer` as
requests to the agent's operations (agent/api.py), the bodies in the wire format of shared/sap/wire_change.py.

    POST {hybrid connection}/v1/change      body: wire change   200: wire changed | wire error
    POST {hybrid connection}/v1/read        body: wire read     200: wire customer | wire error

The relay's answers are judged by the gateway's table (shared/sap/relay.py); a change is a write: a request
delivered but not answered (a cut line, 504, the agent failing with 5xx) or an unreadable answer is
SapOutcomeUnknown, never "applied" (the use case sends it again; applying a change twice is harmless).
An agent older than the change path answers 404 (unknown operation): a configuration error that names what
that agent serves (its `/v1/about`) and asks for the agent's update; the change is not applied.
"""

from __future__ import annotations

from typing import Protocol

import requests

from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.sap import wire_change, wire_probe
from shared.sap.errors import SapConfigurationError, SapError, SapOutcomeUnknown, SapPermanentError
from shared.sap.wire import WireFormatError


class RelaySapGateway(Protocol):
    """What this module needs of shared.sap.relay.RelaySapGateway (which calls it): its judged send. A
    protocol, so this module does not import the gateway that imports it."""

    def send(self, method: str, operation: str, body: bytes | None, *, writes: bool = ...) -> requests.Response: ...


CHANGE_OPERATION = "/change"
READ_OPERATION = "/read"


def relayed_change(gateway: RelaySapGateway, change: CustomerChange) -> SapCustomerChanged:
    body = wire_change.encode_change(change).encode()
    response = _sent(gateway, CHANGE_OPERATION, body, writes=True)
    try:
        return wire_change.decode_changed(response.content)
    except WireFormatError as error:
        raise SapOutcomeUnknown(f"the SAP agent's answer to a change is unreadable: {error}") from None


def relayed_read(gateway: RelaySapGateway, customer_number: str) -> SapCustomerSnapshot:
    response = _sent(gateway, READ_OPERATION, wire_change.encode_read(customer_number).encode(), writes=False)
    try:
        return wire_change.decode_customer(response.content)
    except WireFormatError as error:
        raise SapPermanentError(f"the SAP agent's answer to a read is unreadable: {error}") from None


def _sent(gateway: RelaySapGateway, operation: str, body: bytes, *, writes: bool) -> requests.Response:
    try:
        return gateway.send("POST", operation, body, writes=writes)
    except SapConfigurationError as error:
        if getattr(error, "http_status", None) != 404:
            raise
        raise SapConfigurationError(
            f"the SAP agent has no /v1{operation} (404): it is older than this app's change path "
            f"({_what_the_agent_serves(gateway)}); update the agent (nothing was changed in SAP)"
        ) from None


def _what_the_agent_serves(gateway: RelaySapGateway) -> str:
    """The agent's version as its /v1/about says it (wire version and operations), or why it is not known."""
    try:
        about = wire_probe.decode_about(gateway.send("GET", "/about", None).content)
    except (SapError, WireFormatError) as error:
        return f"its /v1/about did not answer: {type(error).__name__}"
    return f"it speaks wire version {about.wire_version} and serves {', '.join(about.operations)}"
