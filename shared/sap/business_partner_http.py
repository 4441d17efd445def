"""The Business Partner gateway's HTTP session: logon (basic or OAuth 2.0 client credentials), the CSRF
token, and every answer of the OData V2 service classified into the one SAP error vocabulary
(shared/sap/errors.py) by what the caller should do.

Facts it relies on (issue 25, with their sources there): a write needs an `X-CSRF-Token` fetched first
with the session's cookies (a GET with `X-CSRF-Token: Fetch`; SAP answers 403 with `X-CSRF-Token:
Required` when the token is missing or expired); S/4HANA Cloud answers a PATCH without `If-Match` with 428
(SAP KBA 3514624) and a stale one with 412; errors come as OData JSON (`error.code`, `error.message.value`,
`error.innererror.errordetails[]` with `severity`).

    answer                          class                    why
    2xx with OData JSON             (the body)
    2xx without it, 3xx             SapConfigurationError    a logon page or a proxy answered, not the service
    400                             SapBusinessRejection     SAP refused the data: its messages, a person fixes
    401 (after one new token)       SapConfigurationError    the logon is wrong: never retried in a loop
    403 (after one new CSRF token)  SapConfigurationError    the user lacks the authorisation
    404 on a read                   (None)                   the caller asked whether it exists
    412, 428                        SapTransientError        a concurrent change or our bug: read again, retry
    429                             SapTransientError        Retry-After honoured
    5xx                             SapTransientError        SapOutcomeUnknown when the request was a create
    line cut before sending         SapTransientError        nothing reached SAP
    timeout or cut after sending    SapTransientError        SapOutcomeUnknown when the request was a create
    anything else                   SapPermanentError

A create here is any request that may create something (a POST): once it was sent, a broken line leaves
its outcome unknown; the gateway marks the whole unit so from then on (shared/sap/business_partner.py).
Details carry the status, SAP's message code and text, never credentials or the values sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

from shared import telemetry
from shared.http_sessions import new_session
from shared.sap.business_partner_auth import BearerTokens
from shared.sap.errors import (
    SapBusinessRejection,
    SapConfigurationError,
    SapError,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.port import SapMessage

JSON = "application/json"
# OData error detail severity -> the BAPI message type the rest of the product reads (shared/sap/port.py).
_SEVERITY_TYPES = {"error": "E", "abort": "A", "warning": "W", "info": "I", "information": "I", "success": "S"}


@dataclass(frozen=True)
class ODataConnection:
    """Where and how to reach API_BUSINESS_PARTNER (the composition root builds it from SAP_ODATA_*).

    `service_url`: the service root, e.g. https://my000000-api.s4hana.cloud.sap/sap/opu/odata/sap/
    API_BUSINESS_PARTNER (a query such as `sap-client=100` is kept on every request). `auth`: "basic"
    (`user`, `password`: a communication user) or "oauth" (`client_id`, `client_secret`, `token_url`:
    the client-credentials grant, RFC 6749 section 4.4)."""

    service_url: str
    auth: str = "basic"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_url: str | None = None
    timeout_seconds: float = 30.0


@dataclass
class Answer:
    status: int
    content: bytes
    headers: Mapping[str, str]

    @property
    def body(self) -> dict[str, Any]:
        """The JSON answer ({} when it is none)."""
        return _json_of(self.content)

    @property
    def entity(self) -> dict[str, Any]:
        """OData V2 JSON's one entity (`d`), {} when there is none."""
        data = self.body.get("d")
        return data if isinstance(data, dict) else {}

    @property
    def entities(self) -> list[dict[str, Any]]:
        """OData V2 JSON's collection (`d.results`, or `d` itself as some servers answer)."""
        data = self.body.get("d")
        rows = data.get("results") if isinstance(data, dict) else data
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


class ODataSession:
    """One HTTP session (its cookies, CSRF token and bearer token) to the service; not thread-safe: the
    gateway gives each unit of work its own (a pool of them). `deadline` (time.monotonic()) bounds every
    request of a unit."""

    def __init__(
        self,
        connection: ODataConnection,
        session_factory: Callable[[], requests.Session] = new_session,
        tokens: BearerTokens | None = None,
    ) -> None:
        self._connection = connection
        parts = urlsplit(connection.service_url.rstrip("/"))
        self._root = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self._base_query = dict(parse_qsl(parts.query))
        self._http = session_factory()
        if connection.auth == "basic":
            self._http.auth = (connection.user or "", connection.password or "")
        self._tokens = tokens
        self._csrf_token: str | None = None

    def close(self) -> None:
        self._http.close()

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        deadline: float | None = None,
        fetch_token: bool = False,
        missing_ok: bool = False,
        accept: str = JSON,
    ) -> Answer | None:
        """A read; `fetch_token` asks for the CSRF token on the way (no request of its own)."""
        headers = {"X-CSRF-Token": "Fetch"} if fetch_token or self._csrf_token is None else {}
        return self._send(
            "GET",
            path,
            params=params,
            headers=headers,
            deadline=deadline,
            creates=False,
            missing_ok=missing_ok,
            accept=accept,
        )

    def post(self, path: str, document: Mapping[str, Any], *, deadline: float | None = None) -> Answer:
        """A create: sent with the CSRF token (fetched first if the session has none)."""
        if self._csrf_token is None:
            self.get("", deadline=deadline, fetch_token=True)
        answer = self._send("POST", path, body=document, deadline=deadline, creates=True)
        assert answer is not None
        return answer

    def patch(self, path: str, document: Mapping[str, Any], etag: str, *, deadline: float | None = None) -> None:
        """A change (issue 26) with `If-Match: etag` from a fresh read; a write: a cut line leaves it unknown."""
        if self._csrf_token is None:
            self.get("", deadline=deadline, fetch_token=True)
        self._send("PATCH", path, headers={"If-Match": etag}, body=document, deadline=deadline, creates=True)

    # ------------------------------------------------------------------ one request

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        deadline: float | None,
        creates: bool,
        missing_ok: bool = False,
        accept: str = JSON,
    ) -> Answer | None:
        what = f"{method} {path or '/'}"
        renewed_csrf = renewed_logon = False
        while True:
            # One client span per HTTP request (in the agent: children of its request's span), as the rfc
            # adapter has one per function call; named by the entity set only: keys and filters stay out.
            entity_set = path.split("(", 1)[0].split("/", 1)[0] or "service"
            with telemetry.span(
                f"OData {method} {entity_set}",
                kind="client",
                attributes={"http.request.method": method, "sap.odata.entity_set": entity_set},
            ):
                response = self._exchange(method, path, params, headers, body, deadline, creates, what, accept)
            status = response.status_code
            token = response.headers.get("x-csrf-token")
            if token and token.lower() != "required":
                self._csrf_token = token
            if status == 403 and (token or "").lower() == "required" and not renewed_csrf:
                # Refused before anything was processed: safe to send again, a create too, with a new token.
                renewed_csrf = True
                self._csrf_token = None
                self.get("", deadline=deadline, fetch_token=True)
                continue
            if status == 401 and self._tokens is not None and not renewed_logon:
                renewed_logon = True
                self._tokens.forget()
                continue
            if status == 404 and missing_ok:
                return None
            if 200 <= status < 300:
                answer = Answer(status, response.content, response.headers)
                if accept == JSON and status != 204 and "d" not in answer.body:
                    # An HTML logon page answered 200, say: read as "no partner" it would let a duplicate through.
                    kind = response.headers.get("Content-Type", "no content type")
                    said = (
                        f"{what}: HTTP {status} without OData JSON ({kind}): is SAP_ODATA_URL the service itself, "
                        "not a logon page or proxy?"
                    )
                    raise SapOutcomeUnknown(said) if creates else SapConfigurationError(said)
                return answer
            raise classified_answer(response, what, creates=creates)

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        deadline: float | None,
        creates: bool,
        what: str,
        accept: str,
    ) -> requests.Response:
        timeout = self._connection.timeout_seconds
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SapTransientError(f"{what} not sent: the unit of work ran out of time")
            timeout = min(timeout, remaining)
        sent_headers = {"Accept": accept, **(headers or {})}
        if method != "GET" and self._csrf_token:
            sent_headers["X-CSRF-Token"] = self._csrf_token
        if self._tokens is not None:
            sent_headers["Authorization"] = f"Bearer {self._tokens.token(timeout)}"
        url = f"{self._root}/{path}" if path else f"{self._root}/"
        try:
            return self._http.request(
                method,
                url,
                params=query_string({**self._base_query, **(params or {})}),
                json=body,
                headers=sent_headers,
                timeout=timeout,
                # A redirect is a logon page or a proxy's, never the service: refused (the table), not followed
                # (requests would turn a redirected POST into a GET).
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            raise SapTransientError(f"{what}: SAP could not be reached in time (nothing was sent)") from None
        except requests.exceptions.ConnectionError as error:
            if _never_connected(error):
                raise SapTransientError(f"{what}: SAP could not be reached (nothing was sent)") from None
            raise _cut(what, "the line broke", creates) from None
        except requests.exceptions.Timeout:
            raise _cut(what, "no answer in time", creates) from None
        except requests.exceptions.RequestException as error:
            raise _cut(what, type(error).__name__, creates) from None


def _cut(what: str, how: str, creates: bool) -> SapError:
    if creates:
        return SapOutcomeUnknown(f"{what}: {how} after the create was sent; SAP may hold the Business Partner")
    return SapTransientError(f"{what}: {how}")


def classified_answer(response: requests.Response, what: str, *, creates: bool) -> SapError:
    """The error an unsuccessful answer means (the module's table)."""
    status = response.status_code
    code, text, messages = odata_error(_json(response))
    said = f"{what}: HTTP {status}" + (f" {code}: {text}" if code or text else "")
    if status == 400:
        return SapBusinessRejection(messages or (SapMessage("E", code, "", text or f"HTTP 400 on {what}"),))
    if 300 <= status < 400:
        return SapConfigurationError(
            f"{said}: redirected (a logon page or proxy?): SAP_ODATA_URL must name the "
            "service's API host, reachable with the communication user or OAuth client"
        )
    if status in (401, 403):
        return SapConfigurationError(
            f"{said} (check the communication user or OAuth client and its "
            "authorisations: communication scenario SAP_COM_0008)"
        )
    if status in (412, 428):
        stale = SapTransientError(f"{said} (the entity changed, or was written without its ETag: read again)")
        stale.precondition_failed = True  # type: ignore[attr-defined]  # the change re-reads once
        return stale
    if status == 429:
        return SapTransientError(said, retry_after_seconds=_seconds(response.headers.get("Retry-After")))
    if status >= 500:
        if creates:
            return SapOutcomeUnknown(f"{said}; SAP may hold the Business Partner")
        return SapTransientError(said, retry_after_seconds=_seconds(response.headers.get("Retry-After")))
    return SapPermanentError(said)


def query_string(params: Mapping[str, str]) -> str:
    """The query with spaces as %20, not "+" (form encoding, which requests would use): OData's URI conventions
    write `$filter=Name eq 'x'` with percent-encoded blanks, and a server may take a "+" literally. `$`, quotes,
    commas and parentheses stay as they are."""
    return urlencode(params, quote_via=quote, safe="$',()")


def odata_error(body: Mapping[str, Any]) -> tuple[str, str, tuple[SapMessage, ...]]:
    """(error.code, error.message.value, the error details as SAP messages) of an OData V2 JSON error.

    A detail's code "R1/123" (message class / number, SAP Gateway's spelling) becomes id R1, number 123;
    its severity the message type. Without details the error itself is the one message."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return "", "", ()
    code = str(error.get("code") or "")
    message = error.get("message")
    text = str(message.get("value") if isinstance(message, Mapping) else message or "")
    inner = error.get("innererror")
    details = inner.get("errordetails") if isinstance(inner, Mapping) else None
    messages = tuple(_message(detail) for detail in details or () if isinstance(detail, Mapping))
    if not messages and (code or text):
        messages = (_message({"code": code, "message": text, "severity": "error"}),)
    return code, text, messages


def sap_messages(answer: Answer) -> tuple[SapMessage, ...]:
    """The messages SAP Gateway sends with a success in its `sap-message` header (JSON: code, message,
    severity, details[]); none when absent or unreadable."""
    header = answer.headers.get("sap-message")
    if not header:
        return ()
    try:
        data = json.loads(header)
    except ValueError:
        return ()
    if not isinstance(data, dict):
        return ()
    top = {
        "code": data.get("code"),
        "message": {"value": data.get("message")},
        "innererror": {
            "errordetails": [
                {"code": data.get("code"), "message": data.get("message"), "severity": data.get("severity")},
                *(data.get("details") or []),
            ]
        },
    }
    return odata_error({"error": top})[2]


def _message(detail: Mapping[str, Any]) -> SapMessage:
    # "R1/286": message class R1, number 286; a namespaced class keeps its slashes ("/IWBEP/CX_MGW_BUSI_EXCEPTION").
    code = str(detail.get("code") or "")
    head, slash, tail = code.rpartition("/")
    message_class, number = (head, tail) if slash and head and tail.isdigit() else (code, "")
    kind = _SEVERITY_TYPES.get(str(detail.get("severity") or "error").lower(), "E")
    return SapMessage(kind, message_class, number, str(detail.get("message") or ""))


def _json(response: requests.Response) -> dict[str, Any]:
    return _json_of(response.content)


def _json_of(content: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(value: str | None) -> float | None:
    return float(value) if value and value.strip().isdigit() else None


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never made (refused, no route, DNS), so nothing was sent (as the relay
    transport tells it: shared/sap/relay.py)."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | NameResolutionError)
