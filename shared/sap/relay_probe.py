"""The go-live probes through the relay (SAP_TRANSPORT=relay): the same SapInspector as over RFC, each probe one
`POST /v1/probe` to the on-premise agent (wire messages: shared/sap/wire_probe.py), and the relay's own probe,
`GET /v1/about` answered as it came (shared/sap/inspector.py RelayProbe), on the relay gateway's token, proof
and timeouts (shared/sap/relay.py).

An agent older than these operations answers 404 with its own body `{"error": "unknown operation"}` (agent/api.py
answers so to every operation it does not serve, before it checks the proof); the relay's 404 for a hybrid
connection it does not know has another body ("hybrid connection not found" in the relay double; Azure's
text is unverified), so only the agent's own JSON counts as "unknown operation".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import requests

from shared.core.preflight_relay import RelayAnswer
from shared.sap import wire_probe
from shared.sap.errors import SapConfigurationError, SapError, SapPermanentError
from shared.sap.inspector import CustomerProbe, FindAnswer, FindCriterion, RelayProbe, SapInspector, SapSystemInfo
from shared.sap.port import SapInterface
from shared.sap.relay import RelaySapGateway
from shared.sap.wire import WIRE_VERSION, WireFormatError

_UNKNOWN_OPERATION = "unknown operation"  # agent/api.py's 404 body
_T = TypeVar("_T")


class RelaySapInspector(SapInspector):
    """The probes through `gateway` to the agent's `POST /v1/probe`."""

    def __init__(self, gateway: RelaySapGateway) -> None:
        self._gateway = gateway

    def _probe(self, body: str) -> bytes:
        try:
            return self._gateway.send("POST", "/probe", body.encode()).content
        except SapConfigurationError as error:
            if "(404)" in error.detail:
                raise SapConfigurationError(
                    "the SAP agent does not serve /v1/probe (404): agent too old, upgrade it to this release "
                    "(agent/README.md); or no such hybrid connection (see the relay checks)"
                ) from None
            raise

    def system_info(self) -> SapSystemInfo:
        return _read(wire_probe.decode_system_info, self._probe(wire_probe.encode_probe("system_info")))

    def check_interface(self) -> SapInterface:
        return self._gateway.check_interface()

    def customer(self, number: str) -> CustomerProbe:
        return _read(wire_probe.decode_customer, self._probe(wire_probe.encode_probe("customer", customer=number)))

    def find(self, criteria: Sequence[FindCriterion], max_rows: int) -> FindAnswer:
        return _read(wire_probe.decode_find, self._probe(wire_probe.encode_find_probe(list(criteria), max_rows)))


def _read(decode: Callable[[bytes], _T], content: bytes) -> _T:
    try:
        return decode(content)
    except WireFormatError as error:
        raise SapPermanentError(f"the SAP agent's probe answer is unreadable: {error}") from None


class RelayAboutProbe(RelayProbe):
    """`GET /v1/about` through `gateway`, answered as it came."""

    def __init__(self, gateway: RelaySapGateway) -> None:
        self._gateway = gateway

    @property
    def uses_managed_identity(self) -> bool:
        return self._gateway.uses_managed_identity

    def about(self) -> RelayAnswer:
        started = time.monotonic()
        try:
            response = self._gateway.send_unjudged("GET", "/about", None)
        except requests.RequestException as error:
            return RelayAnswer(reached=False, failure=type(error).__name__)
        except SapError as error:  # no Entra token from the managed identity: nothing was sent
            return RelayAnswer(reached=False, token_failure=error.detail)
        elapsed_ms = round((time.monotonic() - started) * 1000)
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        body = data if isinstance(data, dict) else {}
        agent_error = body.get("version") == WIRE_VERSION and body.get("type") == "error"
        about = None
        if response.status_code == 200 and not agent_error:
            try:
                about = wire_probe.decode_about(response.content)
            except WireFormatError as error:
                return RelayAnswer(
                    True, response.status_code, detail=f"unreadable about: {error}", elapsed_ms=elapsed_ms
                )
        return RelayAnswer(
            reached=True,
            status=response.status_code,
            agent_error=agent_error,
            detail=str(body.get("detail", "")) if agent_error else "",
            unknown_operation=response.status_code == 404 and body.get("error") == _UNKNOWN_OPERATION,
            about=about,
            elapsed_ms=elapsed_ms,
        )
