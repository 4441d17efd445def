"""A double of Azure Relay's side of a Hybrid Connection, on loopback, for tests and local runs.

It plays the service between a sender (plain HTTP) and listeners (WebSocket control channels), as the
protocol is described in Microsoft's "Azure Relay Hybrid Connections protocol" document (quoted in the
facts of issue 10) and as Microsoft's own Node listener, npm `hyco-https` 1.4.5
(Azure/azure-relay-node, lib/HybridConnectionHttpsServer.js and lib/_hyco_outgoing.js), speaks it.
Every protocol fact below names its source:

    [doc]     Microsoft's "Azure Relay Hybrid Connections protocol" guide (re-read for issue 20 in
              MicrosoftDocs/azure-docs articles/azure-relay/relay-hybrid-connections-protocol.md)
    [rbac]    Microsoft's clients with Entra tokens: Azure/azure-relay-dotnet (file named) and the
              role-based access samples of Azure/azure-relay (file named)
    [hyco]    checked in hyco-https 1.4.5's lib/ source (file named)
    [double]  a choice of this double where neither says what Azure does (unverified)

Plain ws:// and http:// on 127.0.0.1. The token in `ServiceBusAuthorization` (or `sb-hc-token`) is one of
the two forms the service takes, and nothing else:

* a SAS token `SharedAccessSignature sr=...&sig=...&se=...&skn=...`, checked against the configured
  keys (signature, expiry, resource);
* a bare Entra access token (a JWT, scope `https://relay.azure.net//.default`), as Microsoft's clients
  send it: [rbac] azure-relay-dotnet src/Microsoft.Azure.Relay/HybridConnectionClient.cs and
  HybridConnectionListener.cs set the header to `token.TokenString`, the raw JWT for an Entra token
  (Common/JsonSecurityToken.cs); azure-relay samples/hybrid-connections/node/rolebasedaccesscontrol/
  hyco-https/https-sender.js sends `'ServiceBusAuthorization': accessToken.token` and listener.js hands
  the same bare token to hyco-https, which puts it in the control channel's header as it is
  ([hyco] HybridConnectionHttpsServer.js: `headers: { 'ServiceBusAuthorization': token }`). The double
  checks the JWT's form (three base64url parts, a JSON header) and its `exp` when present, and asks
  `entra_tokens` whether the token is good and which role it holds; it checks no signature, which
  Azure does.

Where a sender's token is read [doc] ("HTTP request protocol", "Request operation"): `sb-hc-token` in the
query, else the `ServiceBusAuthorization` header (both always stripped), else, only when neither is
there, the `Authorization` header, which is then evaluated and stripped; otherwise `Authorization` is
passed on as it is ([rbac] dotnet/rolebasedaccesscontrol/Program.cs sends the bare token in
`Authorization` or in `sb-hc-token`). Our transport uses `ServiceBusAuthorization`, so the app's
`Authorization` stays free.

`Bearer <jwt>` is refused with 401 [double]: no Microsoft client sends that form, so the double does not
pin it; what the service answers to it is not documented (unverified), 401 fails closed.

Rights ([doc] the protocol guide: 401 for a token that is missing, malformed or invalid, 403 for a
token not valid for this path and this action): a listener needs the Listen right, a sender the Send
right. A SAS rule's rights are `rights[key_name]` (default: Listen and Send, as the namespace's
RootManageSharedAccessKey has with Manage); an Entra token's come from its role: *Azure Relay Listener*
(Listen), *Azure Relay Sender* (Send), *Azure Relay Owner* (both) (Microsoft's "Authenticate with
Microsoft Entra ID to access Azure Relay" page names the three roles).

`throttled` answers every send 429 with `Retry-After` [double: the service's throttling of an HTTP
send is not in the protocol guide; Microsoft's "Azure Relay exceptions" page lists ServerBusy as
transient, and the app treats 429 so].

    python -m devtools.relay_double --port 9352 --key-name RootManageSharedAccessKey --key SECRET
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from aiohttp import WSMsgType, web

logger = logging.getLogger(__name__)

# [doc] Bodies over 64 kB (or headers over 32 kB) travel through the rendezvous WebSocket, both ways.
# [hyco] _hyco_outgoing.js: `maxControlChannelMessageSize = 64 * 1024`; a response whose buffered
# output exceeds it opens `new WS(this._rendezvousAddress)` instead of using the control channel.
MAX_CONTROL_CHANNEL_BODY = 64 * 1024
MAX_CONTROL_CHANNEL_HEADERS = 32 * 1024
# [doc] A response must start within 60 s; a listener too slow is a 504 to the sender.
RESPONSE_TIMEOUT_SECONDS = 60.0
# [doc] service close codes on the control channel: 1001 deleted/disabled, 1008 token expired, 1011 error.
CLOSE_GOING_AWAY, CLOSE_POLICY_VIOLATION, CLOSE_SERVICE_ERROR = 1001, 1008, 1011
# [doc] 502 and 504 are not allowed as listener status codes.
FORBIDDEN_LISTENER_STATUSES = frozenset({502, 504})
# [double] headers the double does not pass on (hop-by-hop, or the relay's own token).
_NOT_FORWARDED = frozenset(
    {"servicebusauthorization", "host", "content-length", "transfer-encoding", "connection", "upgrade", "keep-alive"}
)


class TokenError(ValueError):
    """A token that is missing, malformed, expired, for another resource or wrongly signed (401)."""


LISTEN, SEND = "Listen", "Send"
ALL_RIGHTS = frozenset({LISTEN, SEND})
# Azure's built-in roles for Azure Relay and the rights they give ("Authenticate with Microsoft Entra ID
# to access Azure Relay").
ROLE_RIGHTS: dict[str, frozenset[str]] = {
    "Azure Relay Listener": frozenset({LISTEN}),
    "Azure Relay Sender": frozenset({SEND}),
    "Azure Relay Owner": ALL_RIGHTS,
}
# What `entra_tokens` may be: one good token (the Sender role), a token -> role mapping, or a callable
# that answers a role name, a set of rights, True (the Sender role) or False/None (refused).
EntraJudge = str | Mapping[str, str] | Callable[[str], object]


@dataclass(frozen=True)
class Grant:
    """Who the token says the caller is: its rights and when it expires."""

    kind: str  # "sas" or "entra"
    rights: frozenset[str]
    expires_at: float


def _b64url_json(part: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError) as error:
        raise TokenError(f"not a JWT: {type(error).__name__}") from None
    if not isinstance(data, dict):
        raise TokenError("not a JWT: a part is not a JSON object")
    return data


def jwt_claims(token: str, now: float | None = None) -> dict:
    """The claims of a JWT-shaped token (header.payload.signature, base64url): the form an Entra access
    token has. Checks the form and `exp`, never the signature [double]."""
    parts = token.split(".")
    if (
        len(parts) != 3
        or not all(parts[:2])
        or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in "".join(parts))
    ):
        raise TokenError("neither a SharedAccessSignature token nor a bare JWT")
    if "alg" not in _b64url_json(parts[0]):
        raise TokenError("not a JWT: its header names no alg")
    claims = _b64url_json(parts[1])
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= (time.time() if now is None else now):
        raise TokenError("token expired")
    return claims


def unsigned_jwt(claims: Mapping[str, object] | None = None, lifetime_seconds: int = 3600) -> str:
    """A JWT-shaped token for tests (alg none, no signature), with `aud` and `exp` like an Entra token
    for the relay's scope; the double's `entra_tokens` says whether it is good."""

    def part(data: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    body = {
        "aud": "https://relay.azure.net",
        "exp": int(time.time() + lifetime_seconds),
        "oid": str(uuid.uuid4()),
        **(claims or {}),
    }
    return f"{part({'typ': 'JWT', 'alg': 'none'})}.{part(body)}.c2ln"


def sas_token(
    resource_uri: str, key_name: str, key: str, expires_in_seconds: int = 3600, now: float | None = None
) -> str:
    """A SAS token as [hyco] index.js createRelayToken builds it: sr is the url-encoded http URI,
    the signature HMAC-SHA256(key, encoded sr + "\\n" + expiry) in base64, url-encoded."""
    expiry = int((time.time() if now is None else now) + expires_in_seconds)
    encoded = quote(resource_uri, safe="")
    signature = base64.b64encode(hmac.new(key.encode(), f"{encoded}\n{expiry}".encode(), hashlib.sha256).digest())
    return f"SharedAccessSignature sr={encoded}&sig={quote(signature.decode(), safe='')}&se={expiry}&skn={key_name}"


@dataclass(frozen=True)
class VerifiedToken:
    resource: str
    key_name: str
    expires_at: float


def verify_token(
    token: str | None, keys: Mapping[str, str], namespace: str, path: str, now: float | None = None
) -> VerifiedToken:
    """[doc] `SharedAccessSignature sr=<url-encoded http URI>&sig=<HMAC-SHA256>&se=<expiry>&skn=<rule>`.
    The token's sr must be the hybrid connection or a prefix of it (a namespace-wide token)
    [double: Azure's prefix rule, not checked here]; the host compared without port, because [hyco]
    createRelayToken keeps `host:port` of the URI it is given."""
    if not token:
        raise TokenError("no token (ServiceBusAuthorization header or sb-hc-token)")
    prefix = "SharedAccessSignature "
    if not token.startswith(prefix):
        raise TokenError("not a SharedAccessSignature token")
    fields: dict[str, str] = {}
    for part in token[len(prefix) :].split("&"):
        name, _, value = part.partition("=")
        fields[name.strip()] = value
    if not {"sr", "sig", "se", "skn"} <= set(fields):
        raise TokenError("token lacks sr, sig, se or skn")
    key = keys.get(fields["skn"])
    if key is None:
        raise TokenError(f"unknown key name {fields['skn']!r}")
    expected = base64.b64encode(
        hmac.new(key.encode(), f"{fields['sr']}\n{fields['se']}".encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, unquote(fields["sig"])):
        raise TokenError("signature does not match")
    try:
        expires_at = float(fields["se"])
    except ValueError:
        raise TokenError("se is not a number") from None
    if expires_at <= (time.time() if now is None else now):
        raise TokenError("token expired")
    resource = urlsplit(unquote(fields["sr"]))
    wanted = f"/{path.strip('/')}".lower()
    granted = "/" + resource.path.replace("$hc/", "").strip("/").lower()
    if (resource.hostname or "").lower() != namespace.lower() or not (
        granted == "/" or wanted == granted or wanted.startswith(granted + "/")
    ):
        raise TokenError("token is for another resource")
    return VerifiedToken(unquote(fields["sr"]), fields["skn"], expires_at)


@dataclass(eq=False)
class _Listener:
    ws: web.WebSocketResponse
    path: str
    connection_id: str
    expires_at: float
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    awaiting_body: _Pending | None = None
    pending: dict[str, _Pending] = field(default_factory=dict)


@dataclass(eq=False)
class _Pending:
    id: str
    path: str
    request: dict
    body: bytes
    via_rendezvous: bool
    listener: _Listener
    response: asyncio.Future
    rendezvous_taken: bool = False
    response_head: dict | None = None


@dataclass
class RelayDoubleStats:
    requests: int = 0
    rendezvous_requests: int = 0
    rendezvous_responses: int = 0
    timeouts: int = 0  # 504s the double answered: a listener too slow or gone
    renewals: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


class RelayDouble:
    """The service side of Hybrid Connections on 127.0.0.1: listeners at
    ws://127.0.0.1:PORT/$hc/{path}?sb-hc-action=listen, senders at http://127.0.0.1:PORT/{path}/...

    `namespace` is the host the tokens' sr must name (what the real namespace would be called)."""

    def __init__(
        self,
        keys: Mapping[str, str],
        *,
        paths: tuple[str, ...] = ("sap",),
        namespace: str = "relay-double.servicebus.windows.net",
        host: str = "127.0.0.1",
        port: int = 0,
        response_timeout_seconds: float = RESPONSE_TIMEOUT_SECONDS,
        rights: Mapping[str, frozenset[str] | set[str] | tuple[str, ...]] | None = None,
        entra_tokens: EntraJudge | None = None,
    ) -> None:
        self.keys = dict(keys)
        # A SAS rule's rights by its name; a rule not named has Listen and Send.
        self.rights = {name: frozenset(given) for name, given in (rights or {}).items()}
        self.entra_tokens = entra_tokens  # [double] the test Entra tokens and their roles
        self.entra_seen: list[str] = []  # the Entra tokens callers presented, accepted or not
        self.throttled = False  # [double] a switch for tests: every send is a 429 with Retry-After
        self.throttle_retry_after = "7"
        self.paths = tuple(p.strip("/") for p in paths)
        self.namespace = namespace
        self.host, self.port = host, port
        self.response_timeout_seconds = response_timeout_seconds
        self.unavailable = False  # [double] a switch for tests: every send is a 503 (service busy)
        self.stats = RelayDoubleStats()
        self._listeners: dict[str, list[_Listener]] = {p: [] for p in self.paths}
        self._round_robin = itertools.count()
        self._pending: dict[str, _Pending] = {}
        self._runner: web.AppRunner | None = None
        self._listener_changed: asyncio.Condition | None = None

    # ------------------------------------------------------------------ life cycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def listen_url(self, path: str = "sap") -> str:
        """[doc]/[hyco] index.js createRelayListenUri: `{base}/$hc/{path}?sb-hc-action=listen`."""
        return f"ws://{self.host}:{self.port}/$hc/{path}?sb-hc-action=listen"

    def resource_uri(self, path: str = "sap") -> str:
        """What a token's sr names: [hyco] createRelayToken turns the URI into http:// without $hc/."""
        return f"http://{self.namespace}/{path}"

    async def start(self) -> RelayDouble:
        self._listener_changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for listeners in self._listeners.values():
            for listener in list(listeners):
                await listener.ws.close(code=CLOSE_GOING_AWAY, message=b"relay double stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def listener_count(self, path: str = "sap") -> int:
        return len(self._listeners.get(path, []))

    async def wait_for_listeners(self, count: int, path: str = "sap", timeout: float = 10.0) -> None:
        assert self._listener_changed is not None
        async with self._listener_changed:
            await asyncio.wait_for(self._listener_changed.wait_for(lambda: self.listener_count(path) >= count), timeout)

    async def drop_listeners(self, path: str = "sap", code: int = CLOSE_SERVICE_ERROR) -> None:
        """Close every control channel of `path` as the service would on an error ([doc] 1011)."""
        for listener in list(self._listeners.get(path, [])):
            await listener.ws.close(code=code, message=b"dropped by the relay double")

    # ------------------------------------------------------------------ routing

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        if tail.startswith("$hc/"):
            path = tail[len("$hc/") :].strip("/")
            action = request.query.get("sb-hc-action")
            if path not in self.paths:
                return web.Response(status=404, text="hybrid connection not found")  # [doc] handshake 404
            if action == "listen":
                return await self._listen(request, path)
            if action == "request":
                return await self._rendezvous(request, path)
            return web.Response(status=400, text=f"sb-hc-action {action!r} is not served by the relay double")
        path = next((p for p in self.paths if tail == p or tail.startswith(p + "/")), None)
        if path is None:
            return web.Response(status=404, text="hybrid connection not found")
        return await self._send(request, path, tail[len(path) :])

    def authorize(self, token: str | None, path: str) -> Grant:
        """The rights `token` gives on hybrid connection `path`; TokenError (401) when it gives none."""
        if not token:
            raise TokenError("no token (ServiceBusAuthorization header or sb-hc-token)")
        if token.startswith("SharedAccessSignature "):
            verified = verify_token(token, self.keys, self.namespace, path)
            return Grant("sas", self.rights.get(verified.key_name, ALL_RIGHTS), verified.expires_at)
        if token[:7].lower() == "bearer ":
            # [double] no Microsoft client sends this form (see the module's docstring): refused, 401.
            self.entra_seen.append(token[7:])
            raise TokenError("`Bearer <token>` is not a relay token: the relay takes the bare Entra token")
        claims = jwt_claims(token)
        self.entra_seen.append(token)
        rights = self._entra_rights(token)
        if not rights:
            raise TokenError("Entra token refused")
        expires = claims.get("exp")
        return Grant("entra", rights, float(expires) if isinstance(expires, int | float) else time.time() + 3600)

    def _entra_rights(self, token: str) -> frozenset[str]:
        judge = self.entra_tokens
        if judge is None:
            return frozenset()
        if isinstance(judge, str):
            verdict: object = "Azure Relay Sender" if hmac.compare_digest(token.encode(), judge.encode()) else None
        elif isinstance(judge, Mapping):
            verdict = judge.get(token)
        else:
            verdict = judge(token)
        if verdict is True:
            return ROLE_RIGHTS["Azure Relay Sender"]
        if isinstance(verdict, str):
            return ROLE_RIGHTS.get(verdict, frozenset())
        if isinstance(verdict, frozenset | set | tuple | list):
            return frozenset(str(right) for right in verdict) & ALL_RIGHTS
        return frozenset()

    def _token(self, request: web.Request) -> str | None:
        # [doc] listener token in `sb-hc-token` or the `ServiceBusAuthorization` header;
        # [hyco] HybridConnectionHttpsServer.js connectControlChannel sends the ServiceBusAuthorization header;
        # [hyco] index.js createRelayHttpsUri puts a sender's token in `sb-hc-token` too.
        return request.query.get("sb-hc-token") or request.headers.get("ServiceBusAuthorization")

    def _sender_token(self, request: web.Request) -> tuple[str | None, bool]:
        """The sender's token, and whether it came from `Authorization` (then it is not passed on) [doc]."""
        token = self._token(request)
        if token is None and request.headers.get("Authorization"):
            return request.headers["Authorization"], True
        return token, False

    # ------------------------------------------------------------------ listeners

    async def _listen(self, request: web.Request, path: str) -> web.StreamResponse:
        try:
            grant = self.authorize(self._token(request), path)
        except TokenError as error:
            return web.Response(status=401, text=str(error))  # [doc] handshake errors 401/403/404/500
        if LISTEN not in grant.rights:
            # [doc] 403: the token is not valid for this path for this action (a Send-only rule or role).
            return web.Response(status=403, text="the token does not give the Listen right")
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        listener = _Listener(ws, path, request.query.get("sb-hc-id") or str(uuid.uuid4()), grant.expires_at)
        await self._register(listener)
        try:
            await self._read_control_channel(listener)
        finally:
            await self._unregister(listener)
        return ws

    async def _register(self, listener: _Listener) -> None:
        assert self._listener_changed is not None
        async with self._listener_changed:
            self._listeners[listener.path].append(listener)
            self._listener_changed.notify_all()

    async def _unregister(self, listener: _Listener) -> None:
        assert self._listener_changed is not None
        async with self._listener_changed:
            with contextlib.suppress(ValueError):
                self._listeners[listener.path].remove(listener)
            self._listener_changed.notify_all()
        for pending in list(listener.pending.values()):
            if not pending.response.done():
                # [double] delivered, never answered: the sender cannot know whether it was acted upon.
                pending.response.set_exception(_ListenerGone())

    async def _read_control_channel(self, listener: _Listener) -> None:
        ws = listener.ws
        while not ws.closed:
            remaining = listener.expires_at - time.time()
            if remaining <= 0:
                # [doc] 1008 when the listener's token expired (it did not send renewToken in time).
                await ws.close(code=CLOSE_POLICY_VIOLATION, message=b"token expired")
                return
            try:
                message = await ws.receive(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
            if message.type == WSMsgType.TEXT:
                await self._control_text(listener, message.data)
            elif message.type == WSMsgType.BINARY:
                pending, listener.awaiting_body = listener.awaiting_body, None
                if pending is None:
                    self.stats.violations.append("binary frame on the control channel without a response")
                elif not pending.response.done():
                    pending.response.set_result((pending.response_head, message.data))
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    async def _control_text(self, listener: _Listener, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            self.stats.violations.append("control channel text frame is not JSON")
            return
        if "renewToken" in data:
            # [doc]/[hyco] HybridConnectionHttpsServer.js: `{"renewToken": {"token": ...}}` on the control channel.
            try:
                renewed = self.authorize(dict(data["renewToken"]).get("token"), listener.path)
                if LISTEN not in renewed.rights:
                    raise TokenError("the renewed token does not give the Listen right")
            except (TokenError, TypeError, ValueError) as error:
                self.stats.violations.append(f"renewToken refused: {error}")
                await listener.ws.close(code=CLOSE_POLICY_VIOLATION, message=b"renewToken refused")
                return
            listener.expires_at = renewed.expires_at
            self.stats.renewals.append(listener.connection_id)
            return
        if "response" in data:
            self._response_head(listener, dict(data["response"]))
            return
        self.stats.violations.append(f"unknown control channel message {sorted(data)}")

    def _response_head(self, listener: _Listener, head: dict) -> None:
        pending = listener.pending.get(str(head.get("requestId")))
        if pending is None:
            self.stats.violations.append(f"response for unknown request {head.get('requestId')!r}")
            return
        if head.get("body"):
            pending.response_head = head
            listener.awaiting_body = pending
        elif not pending.response.done():
            pending.response.set_result((head, b""))

    # ------------------------------------------------------------------ rendezvous

    async def _rendezvous(self, request: web.Request, path: str) -> web.StreamResponse:
        """[doc] the rendezvous WebSocket at the address the request message gives
        (`sb-hc-action=request`); [hyco] HybridConnectionHttpsServer.js controlChannelRequest connects to
        `message.request.address` when the control message has no `method` (large request), and
        _hyco_outgoing.js connects to it for a response over 64 kB."""
        pending = self._pending.get(request.query.get("sb-hc-id", ""))
        if pending is None or pending.path != path or pending.rendezvous_taken or pending.response.done():
            return web.Response(status=404, text="no such rendezvous")  # [double] single use
        pending.rendezvous_taken = True
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        try:
            if pending.via_rendezvous:
                # [hyco] requestChannelListener: the full `{"request": {...}}` arrives on the rendezvous
                # socket, then the body as the next (binary) message when `body` is true.
                await ws.send_str(json.dumps({"request": {**pending.request, "body": bool(pending.body)}}))
                if pending.body:
                    await ws.send_bytes(pending.body)
            head: dict | None = None
            while not ws.closed and not pending.response.done():
                message = await ws.receive()
                if message.type == WSMsgType.TEXT and head is None:
                    head = dict(json.loads(message.data).get("response", {}))
                    if not head.get("body"):
                        pending.response.set_result((head, b""))
                elif message.type == WSMsgType.BINARY and head is not None:
                    self.stats.rendezvous_responses += 1
                    pending.response.set_result((head, message.data))
                elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        finally:
            await ws.close()
        return ws

    # ------------------------------------------------------------------ senders

    async def _send(self, request: web.Request, path: str, target: str) -> web.StreamResponse:
        # [doc] sender: plain HTTPS to https://{namespace}/{path}/..., token in ServiceBusAuthorization
        # (`Authorization` stays free for end-to-end auth and is passed on).
        token, from_authorization = self._sender_token(request)
        try:
            grant = self.authorize(token, path)
        except TokenError as error:
            return web.Response(status=401, text=str(error))  # [doc] 401: missing, malformed or invalid
        if SEND not in grant.rights:
            # [doc] 403: the token is not valid for this path for this action (a Listen-only rule or role).
            return web.Response(status=403, text="the token does not give the Send right")
        if self.throttled:
            return web.Response(
                status=429, text="relay double set throttled", headers={"Retry-After": self.throttle_retry_after}
            )
        if self.unavailable:
            return web.Response(status=503, text="relay double set unavailable")
        listeners = self._listeners.get(path, [])
        if not listeners:
            return web.Response(status=502, text="there is no listener connected")  # [doc] no listener: 502/503
        # [doc] up to 25 listeners, requests spread across them; [double] strict round robin.
        listener = listeners[next(self._round_robin) % len(listeners)]
        body = await request.read()
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in request.query.items() if not k.startswith("sb-hc-"))
        request_id = str(uuid.uuid4())
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in _NOT_FORWARDED and not (from_authorization and k.lower() == "authorization")
        }
        message = {
            "address": f"ws://{self.host}:{self.port}/$hc/{path}?sb-hc-action=request&sb-hc-id={request_id}",
            "id": request_id,
            "requestTarget": (target or "/") + (f"?{query}" if query else ""),
            "method": request.method,
            "requestHeaders": headers,
        }
        via_rendezvous = len(body) > MAX_CONTROL_CHANNEL_BODY or len(json.dumps(headers)) > MAX_CONTROL_CHANNEL_HEADERS
        loop = asyncio.get_running_loop()
        pending = _Pending(request_id, path, message, body, via_rendezvous, listener, loop.create_future())
        self._pending[request_id] = pending
        listener.pending[request_id] = pending
        self.stats.requests += 1
        try:
            async with listener.send_lock:
                if via_rendezvous:
                    # [hyco] controlChannelRequest: a request message without `method` means "come to
                    # the rendezvous address"; only address and id are given on the control channel.
                    self.stats.rendezvous_requests += 1
                    await listener.ws.send_str(
                        json.dumps({"request": {"address": message["address"], "id": request_id}})
                    )
                else:
                    await listener.ws.send_str(json.dumps({"request": {**message, "body": bool(body)}}))
                    if body:
                        await listener.ws.send_bytes(body)
            try:
                head, answer = await asyncio.wait_for(pending.response, self.response_timeout_seconds)
            except TimeoutError:
                self.stats.timeouts += 1
                return web.Response(status=504, text="the listener did not answer in time")  # [doc] 504
            except _ListenerGone:
                self.stats.timeouts += 1
                return web.Response(status=504, text="the listener went away before it answered")  # [double]
        except ConnectionResetError:
            return web.Response(status=502, text="the listener's connection failed")  # [double] not delivered
        finally:
            self._pending.pop(request_id, None)
            listener.pending.pop(request_id, None)
        status = int(head.get("statusCode", 500))
        if status in FORBIDDEN_LISTENER_STATUSES:
            self.stats.violations.append(f"listener answered {status}, which is not allowed")
            status = 500  # [double] what Azure does with it is not documented
        response_headers = {
            k: str(v) for k, v in dict(head.get("responseHeaders") or {}).items() if k.lower() not in _NOT_FORWARDED
        }
        return web.Response(
            status=status, reason=head.get("statusDescription") or None, headers=response_headers, body=answer
        )


class _ListenerGone(Exception):
    pass


# ---------------------------------------------------------------------- for synchronous callers


class RelayDoubleThread:
    """The double on its own event loop in a daemon thread, for synchronous tests and tools."""

    def __init__(self, keys: Mapping[str, str], **options: object) -> None:
        self.double = RelayDouble(keys, **options)  # type: ignore[arg-type]
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="relay-double", daemon=True)

    def __enter__(self) -> RelayDouble:
        self._thread.start()
        self.call(self.double.start())
        return self.double

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.call(self.double.stop(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def call(self, coroutine: object, timeout: float = 30.0) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.relay_double", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=9352)
    parser.add_argument("--path", action="append", help="hybrid connection name (repeatable; default sap)")
    parser.add_argument("--namespace", default="relay-double.servicebus.windows.net")
    parser.add_argument("--key-name", default="RootManageSharedAccessKey")
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def serve() -> None:
        double = await RelayDouble(
            {args.key_name: args.key}, paths=tuple(args.path or ["sap"]), namespace=args.namespace, port=args.port
        ).start()
        logger.info("relay double on %s (listen at %s)", double.base_url, double.listen_url(double.paths[0]))
        try:
            await asyncio.Event().wait()
        finally:
            await double.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
