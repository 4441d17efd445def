"""The agent's narrow, versioned API over the SAP gateway port: the wire format of shared/sap/wire.py on
its operations, never a generic RFC proxy.

    POST /v1/create      wire create -> 200 wire created | wire error (the fail-closed lookup included:
                         a create with `searchSince` searches before it creates, in the gateway)
    GET  /v1/interface   -> 200 wire interface | wire error
    POST /v1/ping        -> 204 | 200 wire error
    POST /v1/change      wire change -> 200 wire changed | wire error (issue 26, shared/sap/wire_change.py): the
                         create's rules (proof, deadline, interface read first, `not_started`)
    POST /v1/read        wire read -> 200 wire customer | wire error: what SAP holds for one customer
    GET  /v1/about       -> 200 wire about: the wire version and these operations (no SAP call; issue 24)
    POST /v1/probe       wire probe -> 200 wire probe answer | wire error: the go-live check's read-only probes
                         (logon, a customer and its sales areas, a FIND by NAME1/LAND1), shared/sap/wire_probe.py

Anything else is 404 (unknown operation) or 405; a body over MAX_BODY_BYTES is 413; a body that is not
a version-1 wire create is 400. With a `proof_key` (AGENT_PROOF_KEY), a request of an allowed operation
without the function app's proof (shared/sap/relay.py PROOF_HEADER: HMAC-SHA256 over method, operation,
timestamp and the body's SHA-256), with a wrong one or with a timestamp more than 5 minutes off is 401 with
a wire error (configuration), and never reaches SAP. SAP calls (pyrfc is blocking) run in worker threads, at most
`concurrency` at a time.

A deadline per relayed request: the relay answers 504 to a request its listener has not answered within
60 s (Microsoft's "Azure Relay Hybrid Connections protocol" guide), and the function app reads a 504 to a
create as "outcome unknown". So SAP work starts only while it can still be answered in time: a unit of
work may take up to `unit_budget_seconds` (the gateway's bound: SAP_TIMEOUT_SECONDS times the calls, plus
the logon), and it starts at the latest `answer_deadline_seconds - unit_budget_seconds` after the
request's arrival (RelayRequest.received_at). A request that waited longer for one of the `concurrency`
slots is answered at once with the wire error `not_started` (200): no RFC call was made, the function
app queues it as a transient failure with nothing sent, and no 504 reaches it for that request. A create
reads the live interface first (a unit of its own until the gateway has it cached) and starts its own
unit only if that still fits; else `not_started` too, the metadata read having changed nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agent.listener import RelayRequest, RelayResponse
from shared import telemetry
from shared.sap import wire, wire_change, wire_probe
from shared.sap.errors import SapConfigurationError, SapError, SapNotStarted
from shared.sap.inspector import ODATA_NOT_PROBED, NoProbes, SapInspector
from shared.sap.port import SapGateway
from shared.sap.relay import AGENT_ANSWER_DEADLINE_SECONDS, PROOF_HEADER, ProofError, verify_proof

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a create is a few kB; the function app's own request limit is 64 KiB
_JSON = {"Content-Type": "application/json"}


class AgentApi:
    """`unit_budget_seconds`: the longest one unit of work may take (the agent passes RfcSapGateway.
    longest_unit_seconds of its SAP_TIMEOUT_SECONDS); 0 starts any request still inside its deadline.
    `answer_deadline_seconds`: from a request's arrival to its answer (tests shorten it).
    `inspector`: the go-live probes (default: on the gateway when it is the rfc adapter; else NoProbes, which
    says so and refuses every probe)."""

    def __init__(
        self,
        gateway: SapGateway,
        *,
        path: str,
        concurrency: int = 4,
        proof_key: bytes | str | None = None,
        unit_budget_seconds: float = 0.0,
        answer_deadline_seconds: float = AGENT_ANSWER_DEADLINE_SECONDS,
        inspector: SapInspector | None = None,
    ) -> None:
        if unit_budget_seconds >= answer_deadline_seconds:
            raise ValueError(
                f"a unit of work may take {unit_budget_seconds:g} s, not less than the "
                f"{answer_deadline_seconds:g} s the agent has to answer: no request could start"
            )
        self.gateway = gateway
        self.inspector = inspector if inspector is not None else _rfc_inspector(gateway)
        self.proof_key = proof_key.encode() if isinstance(proof_key, str) else proof_key
        self.path = path.strip("/")
        self.unit_budget_seconds = unit_budget_seconds
        self.answer_deadline_seconds = answer_deadline_seconds
        self.not_started = 0  # requests answered `not_started` so far
        self._slots = asyncio.Semaphore(concurrency)
        self._operations = {
            "/v1/create": ("POST", self._create),
            "/v1/interface": ("GET", self._interface),
            "/v1/ping": ("POST", self._ping),
            "/v1/about": ("GET", self._about),
            "/v1/probe": ("POST", self._probe),
            "/v1/change": ("POST", self._change),
            "/v1/read": ("POST", self._read),
        }

    def _operation(self, target: str) -> str:
        path = target.split("?", 1)[0]
        prefix = f"/{self.path}"
        # The requestTarget is the path below the hybrid connection (the relay double; hyco-https hands
        # it on as req.url); accept it with the hybrid connection's name in front too.
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        return path.rstrip("/") or "/"

    async def __call__(self, request: RelayRequest) -> RelayResponse:
        """Answer one relayed request inside a SERVER span that continues the function app's trace (the
        W3C traceparent/tracestate it sent, which the relay hands on in `requestHeaders`)."""
        operation = self._operation(request.target)
        known = operation if operation in self._operations else "unknown operation"  # no caller-chosen names
        attributes = {"http.request.method": request.method.upper(), "url.path": known, "sap.agent.path": self.path}
        with telemetry.span(
            f"{request.method.upper()} {known}", kind="server", attributes=attributes, parent_headers=request.headers
        ) as current:
            response = await self._answer(request, operation)
            if current is not None:
                current.set_attribute("http.response.status_code", response.status)
                if response.status >= 500:
                    telemetry.mark_failed(current, f"HTTP {response.status}")
            return response

    async def _answer(self, request: RelayRequest, operation: str) -> RelayResponse:
        if operation not in self._operations:
            return RelayResponse(404, b'{"error": "unknown operation"}', _JSON)
        method, serve = self._operations[operation]
        if request.method.upper() != method:
            return RelayResponse(405, b'{"error": "method not allowed"}', {**_JSON, "Allow": method})
        if len(request.body) > MAX_BODY_BYTES:
            return RelayResponse(413, b'{"error": "body too large"}', _JSON)
        if self.proof_key:
            proof = next((v for k, v in request.headers.items() if k.lower() == PROOF_HEADER.lower()), None)
            try:
                verify_proof(proof, self.proof_key, request.method, operation, request.body)
            except ProofError as error:
                logger.warning("refused a relayed request without a valid proof: %s", error)
                return RelayResponse(401, wire.encode_error(SapConfigurationError(str(error))).encode(), _JSON)
        if operation == "/v1/about":
            return await serve(request)  # no SAP work: no slot
        if not await self._slot_in_time(request):
            return self._not_started(operation, "every SAP slot busy")
        try:
            return await serve(request)
        finally:
            self._slots.release()

    def _latest_start(self, request: RelayRequest) -> float:
        """The last moment (time.monotonic()) a unit of work may start and still end within the deadline."""
        return request.received_at + self.answer_deadline_seconds - self.unit_budget_seconds

    def _not_started(self, operation: str, why: str) -> RelayResponse:
        self.not_started += 1
        logger.warning(
            "relayed request not started: it could no longer be answered within %g s of its arrival "
            "(%s); answered not_started, nothing sent to SAP",
            self.answer_deadline_seconds,
            why,
            extra={"operation": operation},
        )
        error = SapNotStarted(
            f"the SAP agent did not start {operation}: it could not have answered within "
            f"{self.answer_deadline_seconds:g} s ({why})"
        )
        return RelayResponse(200, wire.encode_error(error).encode(), _JSON)

    async def _slot_in_time(self, request: RelayRequest) -> bool:
        """Take a slot for SAP work while the unit can still end within the answer deadline; False (and
        no slot) once the latest start has passed."""
        remaining = self._latest_start(request) - time.monotonic()
        if remaining <= 0:
            return False
        try:
            async with asyncio.timeout(remaining):
                await self._slots.acquire()
        except TimeoutError:
            return False
        return True

    async def _create(self, request: RelayRequest) -> RelayResponse:
        try:
            creation = wire.decode_create(request.body)
        except wire.WireFormatError as error:
            return RelayResponse(400, wire_error_body(f"not a wire create: {error}"), _JSON)
        try:
            # The create reads the live interface first, once per gateway (a unit of its own until it is
            # cached): read it as its own step, so the create's unit starts only if it still fits. The
            # metadata read changes nothing in SAP, so stopping after it is still "nothing sent".
            await asyncio.to_thread(self.gateway.check_interface)
            if time.monotonic() > self._latest_start(request):
                return self._not_started("/v1/create", "the interface check took the time")
            answer = wire.encode_created(await asyncio.to_thread(self.gateway.create_customer, creation))
        except SapError as error:
            answer = wire.encode_error(error)
        return RelayResponse(200, answer.encode(), _JSON)

    async def _change(self, request: RelayRequest) -> RelayResponse:
        """A change, under the create's rules: the interface read first, the unit only if it still fits."""
        try:
            change = wire_change.decode_change(request.body)
        except wire.WireFormatError as error:
            return RelayResponse(400, wire_error_body(f"not a wire change: {error}"), _JSON)
        except SapError as error:  # an error message where a change belongs
            return RelayResponse(400, wire_error_body(f"not a wire change: {error.detail}"), _JSON)
        try:
            await asyncio.to_thread(self.gateway.check_interface)
            if time.monotonic() > self._latest_start(request):
                return self._not_started("/v1/change", "the interface check took the time")
            answer = wire_change.encode_changed(await asyncio.to_thread(self.gateway.change_customer, change))
        except SapError as error:
            answer = wire.encode_error(error)
        return RelayResponse(200, answer.encode(), _JSON)

    async def _read(self, request: RelayRequest) -> RelayResponse:
        try:
            number = wire_change.decode_read(request.body)
        except (wire.WireFormatError, SapError) as error:
            return RelayResponse(400, wire_error_body(f"not a wire read: {error}"), _JSON)
        try:
            answer = wire_change.encode_customer(await asyncio.to_thread(self.gateway.read_customer, number))
        except SapError as error:
            answer = wire.encode_error(error)
        return RelayResponse(200, answer.encode(), _JSON)

    async def _interface(self, request: RelayRequest) -> RelayResponse:
        try:
            answer = wire.encode_interface(await asyncio.to_thread(self.gateway.check_interface))
        except SapError as error:
            answer = wire.encode_error(error)
        return RelayResponse(200, answer.encode(), _JSON)

    async def _ping(self, request: RelayRequest) -> RelayResponse:
        try:
            await asyncio.to_thread(self.gateway.ping)
        except SapError as error:
            return RelayResponse(200, wire.encode_error(error).encode(), _JSON)
        return RelayResponse(204)

    async def _about(self, request: RelayRequest) -> RelayResponse:
        about = wire_probe.encode_about(tuple(self._operations), proof_checked=bool(self.proof_key))
        return RelayResponse(200, about.encode(), _JSON)

    async def _probe(self, request: RelayRequest) -> RelayResponse:
        try:
            probe, arguments = wire_probe.decode_probe(request.body)
        except wire.WireFormatError as error:
            return RelayResponse(400, wire_error_body(f"not a wire probe: {error}"), _JSON)
        inspector = self.inspector
        try:
            if probe == "system_info":
                answer = wire_probe.encode_system_info(await asyncio.to_thread(inspector.system_info))
            elif probe == "customer":
                answer = wire_probe.encode_customer(await asyncio.to_thread(inspector.customer, arguments["number"]))
            else:
                answer = wire_probe.encode_find(
                    await asyncio.to_thread(inspector.find, arguments["criteria"], arguments["max_rows"])
                )
        except SapError as error:
            answer = wire.encode_error(error)
        return RelayResponse(200, answer.encode(), _JSON)


def _rfc_inspector(gateway: SapGateway) -> SapInspector:
    from shared.sap.rfc import RfcSapGateway

    if not isinstance(gateway, RfcSapGateway):
        return NoProbes(ODATA_NOT_PROBED)  # S/4HANA's OData gateway: the probes are the RFC BAPIs'
    from shared.sap.rfc_inspector import RfcSapInspector

    return RfcSapInspector(gateway)


def wire_error_body(detail: str) -> bytes:
    import json

    return json.dumps({"error": "bad_request", "detail": detail}).encode()
