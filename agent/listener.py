"""The listener side of an Azure Relay Hybrid Connection, on aiohttp's WebSocket client.

There is no maintained Python listener library (issue 10), so this speaks the protocol as Microsoft's
document describes it and as Microsoft's Node listener hyco-https 1.4.5 does (lib/
HybridConnectionHttpsServer.js, lib/_hyco_outgoing.js); the relay double (devtools/relay_double.py) is
held to that listener by tests/integration/test_relay_double.py, and this one is tested against the
double:

* control channel: WebSocket to `wss://{namespace}/$hc/{path}?sb-hc-action=listen`, the SAS token (Listen
  right) in the `ServiceBusAuthorization` header;
* a request: text frame `{"request": {address, id, requestTarget, method, requestHeaders, body}}`, the body
  (when `body` is true) in the next binary message; a request message without `method` means "fetch
  the request at the rendezvous `address`" (a body over 64 kB);
* the answer: `{"response": {requestId, statusCode, statusDescription, responseHeaders, body}}` and the
  body in one binary message, on the control channel, or on the rendezvous WebSocket (`address`)
  when the body is over 64 kB or the request came that way;
* `{"renewToken": {"token": ...}}` well before the token expires (hyco-https: every hour with one-hour
  tokens; here at half the token's lifetime);
* reconnect after 0, 1, 2, 5, 10, then every 30 s (hyco-https's `reconnectDelays`), reset once connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp

from shared.sap.relay import sas_token
from shared.settings import RelayListenerSettings

logger = logging.getLogger(__name__)

MAX_CONTROL_CHANNEL_BODY = 64 * 1024  # hyco-https _hyco_outgoing.js maxControlChannelMessageSize
RECONNECT_DELAYS_SECONDS: tuple[float, ...] = (0, 1, 2, 5, 10, 30)  # hyco-https reconnectDelays
FORBIDDEN_STATUSES = frozenset({502, 504})  # not allowed as listener status codes (protocol document)


@dataclass(frozen=True)
class RelayRequest:
    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes
    # When the relay's request message reached this listener (time.monotonic()): the relay's 60 s for
    # the answer run from about then, so the agent's deadline does too (agent/api.py).
    received_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class RelayResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    description: str = ""


Handler = Callable[[RelayRequest], Awaitable[RelayResponse]]


class RelayListener:
    """Listens on one hybrid connection and answers each request with `handler`, requests in parallel."""

    def __init__(
        self,
        settings: RelayListenerSettings,
        handler: Handler,
        *,
        token_lifetime_seconds: int = 3600,
        renew_every_seconds: float | None = None,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS_SECONDS,
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.token_lifetime_seconds = token_lifetime_seconds
        self.renew_every_seconds = renew_every_seconds or token_lifetime_seconds / 2
        self.reconnect_delays = tuple(reconnect_delays)
        self.connected = asyncio.Event()
        self.connections = 0  # control channels opened so far
        self._in_flight: set[asyncio.Task] = set()
        self._stopping = asyncio.Event()

    def _token(self) -> str:
        return sas_token(self.settings.url, self.settings.key_name, self.settings.key, self.token_lifetime_seconds)

    # ------------------------------------------------------------------ life cycle

    async def run(self) -> None:
        """Listen until `stop()`; reconnect with capped backoff after every loss of the control channel."""
        attempt = -1
        async with aiohttp.ClientSession() as session:
            while not self._stopping.is_set():
                try:
                    async with session.ws_connect(
                        self.settings.listen_url,
                        max_msg_size=0,
                        heartbeat=30,
                        headers={"ServiceBusAuthorization": self._token()},
                    ) as ws:
                        attempt = -1
                        self.connections += 1
                        self.connected.set()
                        logger.info("listening on the hybrid connection", extra={"relay_path": self.settings.path})
                        await self._serve(session, ws)
                except (aiohttp.ClientError, OSError, TimeoutError) as error:
                    logger.warning("relay control channel failed: %s", type(error).__name__)
                except Exception:  # the agent keeps listening whatever one connection did
                    logger.exception("relay control channel failed unexpectedly")
                finally:
                    self.connected.clear()
                if self._stopping.is_set():
                    break
                attempt = min(attempt + 1, len(self.reconnect_delays) - 1)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.reconnect_delays[attempt])
            await self.drain()

    def stop(self) -> None:
        self._stopping.set()

    async def drain(self, timeout: float = 30.0) -> None:
        """Let the requests in flight finish (graceful shutdown)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=timeout)

    # ------------------------------------------------------------------ the control channel

    async def _serve(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        send_lock = asyncio.Lock()
        renewer = asyncio.create_task(self._renew(ws, send_lock))
        stopper = asyncio.create_task(self._stopping.wait())
        waiting_for_body: tuple[dict, float] | None = None  # the request message and when it arrived
        try:
            while True:
                receive = asyncio.create_task(ws.receive())
                done, _ = await asyncio.wait({receive, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if receive not in done:
                    receive.cancel()
                    await self.drain()  # answers in flight still go out on this control channel
                    await ws.close()
                    return
                message = receive.result()
                arrived = time.monotonic()
                if message.type == aiohttp.WSMsgType.BINARY and waiting_for_body is not None:
                    request, arrived = waiting_for_body
                    self._dispatch(session, ws, send_lock, request, message.data, arrived)
                    waiting_for_body = None
                elif message.type == aiohttp.WSMsgType.TEXT:
                    try:
                        request = json.loads(message.data).get("request")
                    except (ValueError, AttributeError):
                        logger.warning("ignored a control channel message that is not a JSON object")
                        continue
                    if not isinstance(request, dict):
                        continue  # `accept` (WebSocket rendezvous) is not served by this listener
                    if not request.get("method"):
                        self._spawn(self._rendezvous_request(session, request, arrived))
                    elif request.get("body"):
                        waiting_for_body = (request, arrived)
                    else:
                        self._dispatch(session, ws, send_lock, request, b"", arrived)
                elif message.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    logger.warning("relay closed the control channel (code %s)", ws.close_code)
                    return
        finally:
            renewer.cancel()
            stopper.cancel()

    async def _renew(self, ws: aiohttp.ClientWebSocketResponse, send_lock: asyncio.Lock) -> None:
        while not ws.closed:
            await asyncio.sleep(self.renew_every_seconds)
            async with send_lock:
                await ws.send_str(json.dumps({"renewToken": {"token": self._token()}}))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    def _dispatch(
        self,
        session: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
        send_lock: asyncio.Lock,
        request: dict,
        body: bytes,
        arrived: float,
    ) -> None:
        async def answer() -> None:
            response = await self._handle(request, body, arrived)
            if len(response.body) > MAX_CONTROL_CHANNEL_BODY:
                async with session.ws_connect(request["address"], max_msg_size=0) as rendezvous:
                    await _send_response(rendezvous, request["id"], response)
                return
            async with send_lock:
                await _send_response(ws, request["id"], response)

        self._spawn(self._guarded(answer()))

    async def _rendezvous_request(self, session: aiohttp.ClientSession, announcement: dict, arrived: float) -> None:
        async def serve() -> None:
            async with session.ws_connect(announcement["address"], max_msg_size=0) as rendezvous:
                first = await rendezvous.receive()
                request = json.loads(first.data)["request"]
                body = b""
                if request.get("body"):
                    body = (await rendezvous.receive()).data
                response = await self._handle(request, body, arrived)
                await _send_response(rendezvous, request.get("id", announcement["id"]), response)

        await self._guarded(serve())

    async def _guarded(self, work: Awaitable[None]) -> None:
        try:
            await work
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError, TypeError) as error:
            # The answer is lost; the relay tells the sender (504) and the function app treats the
            # outcome as unknown.
            logger.warning("could not answer a relayed request: %s", type(error).__name__)

    async def _handle(self, request: dict, body: bytes, arrived: float) -> RelayResponse:
        relayed = RelayRequest(
            method=str(request.get("method", "GET")),
            target=str(request.get("requestTarget", "/")),
            headers={str(k): str(v) for k, v in dict(request.get("requestHeaders") or {}).items()},
            body=body,
            received_at=arrived,
        )
        try:
            response = await self.handler(relayed)
        except Exception:
            logger.exception("the agent's handler failed")
            response = RelayResponse(500, b'{"error": "agent failure"}', {"Content-Type": "application/json"})
        if response.status in FORBIDDEN_STATUSES:
            response = RelayResponse(500, response.body, response.headers, response.description)
        return response


async def _send_response(ws: aiohttp.ClientWebSocketResponse, request_id: str, response: RelayResponse) -> None:
    await ws.send_str(
        json.dumps(
            {
                "response": {
                    "requestId": request_id,
                    "statusCode": response.status,
                    "statusDescription": response.description or _REASONS.get(response.status, ""),
                    "responseHeaders": dict(response.headers),
                    "body": bool(response.body),
                }
            }
        )
    )
    if response.body:
        await ws.send_bytes(response.body)


_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
}
