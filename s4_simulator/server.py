"""The S/4 double over real HTTP: logon, sessions and CSRF, fault injection, then the OData service.

Served at http://127.0.0.1:PORT/sap/opu/odata/sap/API_BUSINESS_PARTNER (the published service path;
plain HTTP on the loopback, where S/4HANA answers HTTPS). Per request, in this order:

1. Faults (faults.py): latency; `down`, `fail_next_calls`, `unavailable` answer 503 (a plain-text body,
   as a Web Dispatcher or ICM answers before the service: its exact page is not modelled); `cut_before`
   closes the connection without an answer; `stall_before` holds it, then closes.
2. Logon: HTTP basic authentication on every request (a communication user), else 401 with
   `WWW-Authenticate: Basic` (SAP's realm text is not modelled).
3. Session: the cookie SAP_SESSIONID_S4D_100 (with sap-usercontext) identifies the security session; a
   request without a valid one opens a new session and sets the cookies. SAP KBA 3048103: "An XSRF check
   is a simple compare of a XSRF header towards a XSRF cookie"; the session cookie's name "can be
   sap-XSRF_<SID>_<client> or SAP_SESSIONID_<SID>_<CLIENT>" and may change: clients keep all cookies.
4. CSRF (SAP Community blog "How does CSRF token work? SAP Gateway", 2021): a GET with
   `X-CSRF-Token: Fetch` is answered with `X-CSRF-Token: <token>` bound to the session; every modifying
   request (POST, PUT, PATCH, MERGE, DELETE) must carry that token and the session's cookie, else 403
   with `X-CSRF-Token: Required` and the body "CSRF token validation failed" (the text SAP KBA 3048103
   quotes). Sessions live in the process: a restarted double has none, as a restarted server's clients
   must fetch a new token.
5. Format: the double answers OData V2 JSON only; a request that asks neither `$format=json` nor
   `Accept: application/json` gets 406 (SAP would answer Atom XML, which the double does not speak).
   `$metadata` is XML.
6. The service (service.py). After a modifying request was committed: `cut_after_commit` closes the
   connection without the answer, `stall_after_commit` holds it first.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import socket
import sys
import threading
import traceback
from collections import Counter
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from doubles.serving import serve_on_thread, stop_serving
from s4_simulator.faults import FaultPlan
from s4_simulator.model import Customizing, Numbering
from s4_simulator.odata import ODataError
from s4_simulator.reference import seed_reference_customers
from s4_simulator.service import S4Service
from s4_simulator.store import S4Database
from shared.core.business_partner_facts import CSRF_FETCH, CSRF_HEADER, CSRF_REQUIRED, SERVICE_PATH

SESSION_COOKIE = "SAP_SESSIONID_S4D_100"
USER_CONTEXT_COOKIE = "sap-usercontext"
MODIFYING = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})
DEFAULT_USER = "S4_COMM_USER"

Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass
class _Session:
    user: str
    token: str | None = None


class S4Simulator:
    """One simulated S/4HANA system's API_BUSINESS_PARTNER. Thread-safe; start() serves on a thread."""

    def __init__(
        self,
        port: int = 0,
        *,
        state_file: str | Path | None = None,
        credentials: tuple[str, str] | None = None,
        faults: FaultPlan | None = None,
        numbering: Numbering | None = None,
        customizing: Customizing | None = None,
        with_reference_customers: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self._requested = (host, port)
        self.database = S4Database(state_file)
        self.state_file = self.database.path
        self.service = S4Service(self.database, numbering, customizing)
        if with_reference_customers:
            seed_reference_customers(self.database)
        self.credentials = credentials or (DEFAULT_USER, secrets.token_urlsafe(12))
        self.faults = faults or FaultPlan()
        self.counters: Counter[str] = Counter()
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> S4Simulator:
        if self._server is None:
            self._stopping.clear()
            server = ThreadingHTTPServer(self._requested, _Handler)
            server.daemon_threads = True
            server.simulator = self  # type: ignore[attr-defined]
            self._server = server
            self._thread = serve_on_thread(server, "s4-simulator")
        return self

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        stop_serving(server, thread)

    def close(self) -> None:
        self.stop()
        self.database.close()

    def __enter__(self) -> S4Simulator:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the S/4 double is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        """The service root, as SAP_ODATA_URL would name it."""
        return f"{self.base_url}{SERVICE_PATH}"

    def expire_sessions(self) -> None:
        """Every session ends (a timeout or a restart of the server): the next write needs a new token."""
        with self._lock:
            self._sessions.clear()

    # ------------------------------------------------------------------ one exchange

    def _count(self, name: str) -> None:
        with self._lock:  # request threads count at once; Counter's += is no atomic step
            self.counters[name] += 1

    def exchange(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer | None:
        """The answer to one request, or None: close the connection without answering."""
        self._count(f"requests {method}")
        early = self._faults_before()
        if early is not None or self._cut_or_stall("cut_before", "stall_before"):
            return early
        parts = urlsplit(target)
        if not parts.path.lower().startswith(SERVICE_PATH.lower()):
            return (
                404,
                [("Content-Type", "text/plain")],
                b"Service cannot be reached (the double serves only " + SERVICE_PATH.encode() + b")",
            )
        user = self._logon(headers.get("authorization", ""))
        if user is None:
            return (
                401,
                [("WWW-Authenticate", 'Basic realm="S4 double"'), ("Content-Type", "text/plain")],
                b"Logon failed",
            )
        session_id, opened, cookies = self._session(headers.get("cookie", ""), user)
        out: list[tuple[str, str]] = list(cookies)
        if method in MODIFYING:
            session = self._sessions.get(session_id)
            token = headers.get(CSRF_HEADER.lower())
            if opened or session is None or session.token is None or token != session.token:
                self._count("csrf refused")
                return (
                    403,
                    [*out, (CSRF_HEADER, CSRF_REQUIRED), ("Content-Type", "text/plain")],
                    b"CSRF token validation failed",
                )
        elif (headers.get(CSRF_HEADER.lower()) or "").lower() == CSRF_FETCH.lower():
            out.append((CSRF_HEADER, self._token(session_id)))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        path = parts.path[len(SERVICE_PATH) :]
        if path.strip("/") != "$metadata" and not _wants_json(query, headers.get("accept", "")):
            return (
                406,
                [*out, ("Content-Type", "text/plain")],
                b"The S/4 double answers OData V2 JSON only: send Accept: application/json or $format=json",
            )
        host = headers.get("host") or f"127.0.0.1:{self.port}"
        reply = self.service.handle(method, path, query, body, headers, f"http://{host}{SERVICE_PATH}")
        self._count(f"answered {reply.status}")
        if method in MODIFYING and 200 <= reply.status < 300:
            self._count("committed")
            if self._cut_or_stall("cut_after_commit", "stall_after_commit"):
                return None
        return reply.status, [*out, *reply.headers.items()], reply.body

    def _faults_before(self) -> Answer | None:
        if self.faults.latency_ms:
            self._stopping.wait(self.faults.latency_ms / 1000)
        if self.faults.down or self.faults.take_failing_call() or self.faults.should_fire("unavailable"):
            self._count("unavailable")
            return 503, [("Content-Type", "text/plain"), ("Retry-After", "1")], b"Service Unavailable"
        return None

    def _cut_or_stall(self, cut: str, stall: str) -> bool:
        if self.faults.should_fire(cut):
            self._count(cut)
            return True
        if self.faults.should_fire(stall):
            self._count(stall)
            self._stopping.wait(self.faults.stall_ms / 1000)
            return True
        return False

    def _logon(self, authorization: str) -> str | None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        expected_user, expected_password = self.credentials
        same_user = secrets.compare_digest(user.upper().encode(), expected_user.upper().encode())
        same_password = secrets.compare_digest(password.encode(), expected_password.encode())
        return expected_user if same_user and same_password else None

    def _session(self, cookie_header: str, user: str) -> tuple[str, bool, list[tuple[str, str]]]:
        """The request's session (opened when it has no valid one), whether it was opened now, cookies to set."""
        cookies: SimpleCookie = SimpleCookie()
        with contextlib.suppress(CookieError):
            cookies.load(cookie_header)
        session_id = cookies[SESSION_COOKIE].value if SESSION_COOKIE in cookies else ""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.user == user:
                return session_id, False, []
            session_id = secrets.token_urlsafe(24)
            self._sessions[session_id] = _Session(user)
        return (
            session_id,
            True,
            [
                ("Set-Cookie", f"{SESSION_COOKIE}={session_id}; path=/; HttpOnly"),
                ("Set-Cookie", f"{USER_CONTEXT_COOKIE}=sap-client=100; path=/"),
            ],
        )

    def _token(self, session_id: str) -> str:
        with self._lock:
            session = self._sessions[session_id]
            if session.token is None:
                session.token = base64.b64encode(secrets.token_bytes(18)).decode()
            return session.token


def _wants_json(query: dict[str, str], accept: str) -> bool:
    return query.get("$format", "").lower() == "json" or "application/json" in accept.lower()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "S4Simulator/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the client's delayed
    # ACK (about 40 ms on Linux) on a kept-alive connection.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        simulator: S4Simulator = self.server.simulator  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            answer = simulator.exchange(self.command, self.path, headers, body)
        except Exception:  # a bug of the double: answered 500 (as a short dump is), never mistaken for a cut line
            traceback.print_exc(file=sys.stderr)
            simulator._count("answered 500")
            error = ODataError(500, "S4SIM/INTERNAL", "The S/4 double failed on this request (see its stderr)")
            answer = 500, [("Content-Type", "application/json")], error.body()
        if answer is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, response_headers, payload = answer
        self.send_response(status)
        for name, value in response_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_MERGE = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry query strings with external ids; tests do not need them on stderr
