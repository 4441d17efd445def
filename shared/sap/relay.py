"""SAP_TRANSPORT=relay: the SAP port over HTTPS to an Azure Relay Hybrid Connection, behind which the
on-premise agent (agent/) serves the same port with pyrfc.

Each call is one HTTP request carrying the versioned wire format of shared/sap/wire.py:

    POST {hybrid connection}/v1/create      body: wire create     200: wire created | wire error
    GET  {hybrid connection}/v1/interface                         200: wire interface | wire error
    POST {hybrid connection}/v1/ping                              204, or 200: wire error
    GET  {hybrid connection}/v1/about, POST .../v1/probe          the go-live check's (shared/sap/relay_probe.py)

The relay's own token travels in `ServiceBusAuthorization`, bare, as Microsoft's clients send it: by
default an Entra token of the function app's managed identity for `https://relay.azure.net//.default`
(the *Azure Relay Sender* role), or a SAS token (`SharedAccessSignature sr=...&sig=...&se=...&skn=...`)
of a rule with the Send right when SAP_RELAY_KEY_NAME/SAP_RELAY_KEY are set. No `Bearer ` in front:
Azure/azure-relay-dotnet sets the header to `token.TokenString` (src/Microsoft.Azure.Relay/
HybridConnectionClient.cs and HybridConnectionListener.cs), which for an Entra token is the raw JWT
(Common/JsonSecurityToken.cs `TokenString => this.rawToken`, made by AzureActiveDirectoryTokenProvider.cs
and ManagedIdentityTokenProvider.cs from the access token alone); Azure/azure-relay's role-based access
samples send the same raw token (samples/hybrid-connections/node/rolebasedaccesscontrol/hyco-https/
https-sender.js: `'ServiceBusAuthorization': accessToken.token`; dotnet/rolebasedaccesscontrol/Program.cs:
`token.TokenString` in a header or in `sb-hc-token`). The app's own proof for the agent (issue 10,
defence in depth) travels in PROOF_HEADER: an HMAC-SHA256 with the shared SAP_AGENT_PROOF_KEY over the
method, the operation's path, a timestamp and the body's SHA-256 (see `proof_header` and
`verify_proof`). What the relay answers itself is classified like the rfc adapter's errors:

    502, 503, refused or timed-out connect  -> SapTransientError  (no listener: nothing was delivered)
    429                                     -> SapTransientError, `retry_after_seconds` from Retry-After
                                               (the relay throttled the send: nothing was delivered; our
                                               agent never answers 429 itself)
    504, a cut connection, a read timeout   -> SapOutcomeUnknown for a create (delivered, not answered:
                                               the agent may have created the customer), else transient
    200 with the wire error `not_started`   -> SapNotStarted (transient): the agent did not start the
                                               unit in time (agent/api.py), nothing was sent to SAP
    401, 403, 404, other 4xx                -> SapConfigurationError (token, rule's rights or role, hybrid
                                               connection)
    an unreadable answer to a create        -> SapOutcomeUnknown (fail closed); to anything else permanent

Which answers are documented: Microsoft's "Azure Relay Hybrid Connections protocol" guide
(MicrosoftDocs/azure-docs articles/azure-relay/relay-hybrid-connections-protocol.md, "HTTP request
protocol") lists 401 (token missing, malformed or invalid), 403 (token not valid for this path and for
this action: a Listen-only rule or role sending), 404, 500, 502 (no active listener), 503 (not routed
to any listener) and 504 (routed, not answered within 60 s, counted until the response frame reached
the service); ServerBusy is transient in Microsoft's "Azure Relay exceptions" page. A 429 on the HTTP
send is in neither: it is read as HTTP's "too many requests" (RFC 6585), a throttle, never a
configuration error [unverified for Azure Relay]. The guide also says a response carrying `Via` came
from the listener; our agent never answers 429, so a 429 is the relay's whether or not it has one.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import threading
import time
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from shared import telemetry
from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.core.models import CustomerCreation
from shared.http_sessions import new_session
from shared.sap import wire
from shared.sap.errors import (
    SapConfigurationError,
    SapError,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface

# The relay cuts a response that has not started within 60 s with a 504 (Microsoft's "Azure Relay Hybrid
# Connections protocol" guide); waiting a little longer lets that 504 arrive instead of our own read
# timeout. The agent answers well within it (agent/api.py, AGENT_ANSWER_DEADLINE_SECONDS).
RELAY_RESPONSE_LIMIT_SECONDS = 60.0
# How long the agent may take, from a relayed request's arrival to its answer: 10 s under the relay's
# limit, for what the relay's 60 s counts and the agent's clock does not (the request's way from the
# relay to the agent, the answer's way back, a rendezvous connection for a large body). Past it the
# agent starts no SAP work: it answers `not_started` (agent/api.py). One place for both sides.
AGENT_ANSWER_DEADLINE_SECONDS = 50.0
TOKEN_LIFETIME_SECONDS = 3600
TOKEN_RENEW_BEFORE_SECONDS = 300
API_PREFIX = "/v1"
RELAY_ENTRA_SCOPE = "https://relay.azure.net//.default"  # the double slash is Azure Relay's (issue 10, Facts)
ENTRA_RENEW_BEFORE_SECONDS = 300

# The app's own proof for the agent: a header of its own (`ServiceBusAuthorization` is the relay's,
# `Authorization` stays free), `v1 t=<unix seconds>,sig=<base64 HMAC-SHA256>`.
PROOF_HEADER = "X-Sap-Sync-Proof"
PROOF_VERSION = "v1"
PROOF_WINDOW_SECONDS = 300  # a timestamp further off than this, either way, is refused (replay window)


class ProofError(ValueError):
    """A request without the app's proof, with a malformed or wrong one, or with a stale timestamp."""


def _proof_signature(key: bytes, method: str, path: str, timestamp: int, body: bytes) -> str:
    message = "\n".join(
        (PROOF_VERSION, method.upper(), path, str(timestamp), hashlib.sha256(body).hexdigest())
    ).encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def proof_header(key: bytes, method: str, path: str, body: bytes, now: float | None = None) -> str:
    """The PROOF_HEADER value for one request: `path` is the agent's operation (`/v1/create`), without the
    hybrid connection's name and without a query."""
    timestamp = int(time.time() if now is None else now)
    return f"{PROOF_VERSION} t={timestamp},sig={_proof_signature(key, method, path, timestamp, body)}"


def verify_proof(
    value: str | None,
    key: bytes,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float | None = None,
    window_seconds: int = PROOF_WINDOW_SECONDS,
) -> None:
    """Raises ProofError unless `value` is a PROOF_HEADER value signed with `key` over this very request
    and its timestamp is within `window_seconds` of now."""
    if not value:
        raise ProofError(f"no {PROOF_HEADER} header")
    version, _, rest = value.strip().partition(" ")
    fields = dict(part.partition("=")[::2] for part in rest.split(",") if "=" in part)
    if version != PROOF_VERSION or "t" not in fields or "sig" not in fields:
        raise ProofError(f"{PROOF_HEADER} is not '{PROOF_VERSION} t=<unix seconds>,sig=<signature>'")
    try:
        timestamp = int(fields["t"])
    except ValueError:
        raise ProofError(f"{PROOF_HEADER}: the timestamp is not a whole number") from None
    expected = _proof_signature(key, method, path, timestamp, body)
    if not hmac.compare_digest(expected.encode(), fields["sig"].strip().encode()):
        raise ProofError(f"{PROOF_HEADER}: wrong signature")
    if abs((time.time() if now is None else now) - timestamp) > window_seconds:
        raise ProofError(f"{PROOF_HEADER}: the timestamp is more than {window_seconds} s off")


def sas_token(
    resource_uri: str,
    key_name: str,
    key: str,
    expires_in_seconds: int = TOKEN_LIFETIME_SECONDS,
    now: float | None = None,
) -> str:
    """`SharedAccessSignature sr=<url-encoded http URI>&sig=<HMAC-SHA256>&se=<expiry>&skn=<rule>` for the
    hybrid connection `resource_uri`, which is turned into http:// without `$hc/`, query or port as
    hyco-https's createRelayToken does."""
    parts = urlsplit(resource_uri)
    resource = f"http://{parts.hostname}/{parts.path.replace('$hc/', '').strip('/')}"
    expiry = int((time.time() if now is None else now) + expires_in_seconds)
    encoded = quote(resource, safe="")
    digest = hmac.new(key.encode(), f"{encoded}\n{expiry}".encode(), hashlib.sha256).digest()
    signature = quote(base64.b64encode(digest).decode(), safe="")
    return f"SharedAccessSignature sr={encoded}&sig={signature}&se={expiry}&skn={key_name}"


class RelaySapGateway(SapGateway):
    """The SAP port across the hybrid connection `url` (https://{namespace}/{name}).

    The relay token: a SAS token when `key_name` and `key` are given, else an Entra token for
    RELAY_ENTRA_SCOPE from `credential` (anything with azure-core's `get_token(scope)`; the composition
    root passes the managed identity, shared/bootstrap/), cached until shortly before it expires.
    `proof_key`: the app's own proof for the agent (PROOF_HEADER) on every request.
    `base_url` sends the requests elsewhere (http://127.0.0.1:PORT of the relay double) while the
    token still names `url`, as it would in Azure."""

    def __init__(
        self,
        url: str,
        key_name: str | None = None,
        key: str | None = None,
        *,
        credential: Any = None,
        proof_key: bytes | str | None = None,
        base_url: str | None = None,
        connect_timeout_seconds: float = 5.0,
        read_timeout_seconds: float = RELAY_RESPONSE_LIMIT_SECONDS + 5,
        session: requests.Session | None = None,
    ) -> None:
        if bool(key_name) != bool(key):
            raise ValueError("a SAS token needs both the rule's name and its key")
        if not key and credential is None:
            raise ValueError("no relay credential: a SAS rule (key_name, key) or an Entra `credential`")
        parts = urlsplit(url)
        self._url = url.rstrip("/")
        self._endpoint = (base_url.rstrip("/") + parts.path.rstrip("/")) if base_url else self._url
        self._key_name, self._key = key_name, key
        self._credential = credential
        self._proof_key = proof_key.encode() if isinstance(proof_key, str) else proof_key
        self._timeouts = (connect_timeout_seconds, read_timeout_seconds)
        self._session = session or new_session()
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None
        self._interface: SapInterface | None = None

    # ------------------------------------------------------------------ the port

    def check_interface(self) -> SapInterface:
        if self._interface is None:
            response = self._call("GET", "/interface", None, create=False)
            try:
                self._interface = wire.decode_interface(response.content)
            except wire.WireFormatError as error:
                raise SapPermanentError(f"the SAP agent's interface answer is unreadable: {error}") from None
        return self._interface

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        response = self._call("POST", "/create", wire.encode_create(creation).encode(), create=True)
        try:
            return wire.decode_result(response.content)
        except wire.WireFormatError as error:
            raise SapOutcomeUnknown(f"the SAP agent's answer to a create is unreadable: {error}") from None

    def ping(self) -> None:
        response = self._call("POST", "/ping", b"", create=False)
        if response.status_code == 204:
            return
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("version") == wire.WIRE_VERSION and data.get("type") == "error":
            try:
                raise wire.error_from_wire(data)
            except wire.WireFormatError as error:
                raise SapPermanentError(f"the SAP agent's ping answer is unreadable: {error}") from None
        raise SapPermanentError(f"the SAP agent answered the ping with {response.status_code}")

    # ------------------------------------------------------------------ the wire

    @property
    def uses_managed_identity(self) -> bool:
        return not self._key

    def _relay_token(self) -> str:
        with self._lock:
            if self._key_name and self._key:
                if self._token is None or self._token[1] - time.time() < TOKEN_RENEW_BEFORE_SECONDS:
                    token = sas_token(self._url, self._key_name, self._key, TOKEN_LIFETIME_SECONDS)
                    self._token = (token, time.time() + TOKEN_LIFETIME_SECONDS)
                return self._token[0]
            if self._token is None or self._token[1] - time.time() < ENTRA_RENEW_BEFORE_SECONDS:
                try:
                    access = self._credential.get_token(RELAY_ENTRA_SCOPE)
                except Exception as error:
                    # Nothing was sent. azure-identity's "no such identity" / "refused" errors are setup
                    # problems (named, not imported: the agent never imports azure); anything else (the
                    # identity endpoint briefly unreachable) is worth a retry.
                    kind = type(error).__name__
                    if kind in ("CredentialUnavailableError", "ClientAuthenticationError"):
                        raise SapConfigurationError(
                            f"no Entra token for the relay from the managed identity "
                            f"({kind}): check the identity, AZURE_CLIENT_ID or set "
                            "SAP_RELAY_KEY_NAME/SAP_RELAY_KEY"
                        ) from None
                    raise SapTransientError(f"no Entra token for the relay yet ({kind})") from None
                # The bare JWT, no "Bearer ": see the module's docstring for Microsoft's clients.
                self._token = (access.token, float(access.expires_on))
            return self._token[0]

    def send_unjudged(self, method: str, operation: str, body: bytes | None) -> requests.Response:
        """One request to the agent's `operation` (`/about`) with the relay token and the app's proof, its
        answer as it came (requests' errors raised as they are): the go-live check's relay probe judges it."""
        headers = {"ServiceBusAuthorization": self._relay_token(), "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._proof_key:
            headers[PROOF_HEADER] = proof_header(self._proof_key, method, f"{API_PREFIX}{operation}", body or b"")
        # W3C trace context for the agent (the relay hands request headers on in `requestHeaders`), so
        # the agent's span joins this trace; outside the proof, which signs the body only.
        telemetry.inject(headers)
        return self._session.request(
            method, f"{self._endpoint}{API_PREFIX}{operation}", data=body, headers=headers, timeout=self._timeouts
        )

    def send(self, method: str, operation: str, body: bytes | None, *, writes: bool = False) -> requests.Response:
        """A request to the agent's `operation`, its answer judged like the port's: 200/204 returned, anything
        else raised as the SapError the module's table names (`writes`: unanswered means outcome unknown)."""
        return self._call(method, operation, body, create=writes)

    # The change path (issue 26): shared/sap/relay_change.py.
    def read_customer(self, customer_number: str) -> SapCustomerSnapshot:
        from shared.sap.relay_change import relayed_read

        return relayed_read(self, customer_number)

    def change_customer(self, change: CustomerChange) -> SapCustomerChanged:
        from shared.sap.relay_change import relayed_change

        return relayed_change(self, change)

    def _call(self, method: str, operation: str, body: bytes | None, *, create: bool) -> requests.Response:
        unanswered: type[SapError] = SapOutcomeUnknown if create else SapTransientError
        try:
            response = self.send_unjudged(method, operation, body)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as error:
            raise SapTransientError(f"relay unreachable ({type(error).__name__})") from None
        except requests.exceptions.ConnectionError as error:
            if _never_connected(error):
                raise SapTransientError("relay unreachable (connection refused)") from None
            raise unanswered(
                f"the relay connection broke before the SAP agent answered ({type(error).__name__})"
            ) from None
        except requests.exceptions.RequestException as error:  # read timeout, a cut body
            raise unanswered(f"no answer from the SAP agent through the relay ({type(error).__name__})") from None
        status = response.status_code
        if status in (200, 204):
            return response
        if status in (502, 503):
            raise SapTransientError(f"relay: no SAP agent listening ({status})")
        if status == 429:
            # A throttle, not a setup problem: come back later, no earlier than the relay asks.
            raise SapTransientError(
                "relay: too many requests (429), throttled",
                retry_after_seconds=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status == 504:
            raise unanswered("relay: the SAP agent did not answer in time (504)")
        if status == 401 and _is_wire_error(response):
            # The agent itself refused: no or a wrong proof (SAP_AGENT_PROOF_KEY / AGENT_PROOF_KEY).
            raise SapConfigurationError(
                f"the SAP agent refused the request (401): {json.loads(response.content).get('detail', '')}"
            )
        if status in (401, 403):
            credential = (
                "the managed identity's token: check its Azure Relay Sender role"
                if self.uses_managed_identity
                else "the SAS token: check SAP_RELAY_KEY_NAME, SAP_RELAY_KEY and the rule's Send right"
            )
            raise SapConfigurationError(f"relay refused {credential} ({status})")
        if status == 404:
            missing = SapConfigurationError(
                "relay: no such hybrid connection or agent operation (404): check SAP_RELAY_URL and the agent's version"
            )
            missing.http_status = 404  # type: ignore[attr-defined]  # relay_change.py names an older agent
            raise missing
        if 400 <= status < 500:
            raise SapConfigurationError(f"the SAP agent refused the request ({status})")
        if create:
            raise SapOutcomeUnknown(f"the SAP agent failed while creating ({status})")
        raise SapTransientError(f"the SAP agent failed ({status})")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date; None when absent or unreadable,
    never negative."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:  # an HTTP-date is GMT; a date without a zone is not one
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def _is_wire_error(response: requests.Response) -> bool:
    try:
        data = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("version") == wire.WIRE_VERSION and data.get("type") == "error"


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never made (refused, no route, DNS), so nothing was sent."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | NameResolutionError)
