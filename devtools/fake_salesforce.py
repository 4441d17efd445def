"""A fake Salesforce over real HTTPS on 127.0.0.1: the OAuth token endpoint and the REST API slice we use.

simple-salesforce always builds `https://{instance}/services/data/...` from an instance URL, so the fake
serves TLS with a certificate chain it generates at start. Callers trust its CA file:
`requests.Session()` with `verify=fake.ca_path` (see `FakeSalesforce.session()`), passed to
simple-salesforce as `session=`. Nothing in simple-salesforce is patched.

What it speaks, with Salesforce's JSON bodies and status codes:
* POST /services/oauth2/token: client_credentials, password and JWT bearer (RS256, checked against the
  public key registered here) grants.
* GET and PATCH /services/data/vNN.N/sobjects/Account/{id}: 15- and 18-character Ids for one record.
* GET /services/data/vNN.N/query?q=SELECT ... FROM Account [WHERE f = 'v' [AND ...]] [ORDER BY f] [LIMIT n],
  paged as the REST API's Query resource documents it (developer.salesforce.com, REST API Developer
  Guide, "Query" and "Query More Results"): every answer has `totalSize` (the whole result's count),
  `done` and `records`; while `done` is false, `nextRecordsUrl` (/services/data/vNN.N/query/<locator>-<offset>)
  is fetched with GET for the next batch. Batch size: the request's `Sforce-Query-Options: batchSize=N`
  ("Query Options Header": default 2,000, minimum 200, maximum 2,000, and "no guarantee that the
  requested batch size is the actual batch size"), capped by this fake's own `query_batch_size` (which
  may be smaller than 200, as a real org's batches may be, so tests see several pages cheaply).
  Not modelled: the locator's expiry (15 minutes idle on a real org), queryAll, relationship queries.
* Restricted picklists, with the values of the project's own metadata (salesforce/force-app/.../objects/
  Account/fields/*.field-meta.xml, `<restricted>true</restricted>`): any other value in a PATCH is refused
  400 INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST naming the field, as Salesforce refuses it (error code and
  `fields`: Salesforce's REST error shape; the message "<label>: bad value for restricted picklist field:
  <value>" as it appears in published Salesforce errors, e.g. SalesforceFoundation/NPSP issue #5409/#5456;
  the exact message text is unverified). `set_picklist(field, values)` acts as an org whose admin changed
  the values.
* Ids in Salesforce's 18-character case-safe form (15 characters + the checksum suffix,
  shared.core.salesforce_id's algorithm), the organization's and the user's included.
* The generic login host: Salesforce's client credentials flow "doesn't support calls to
  login.salesforce.com or test.salesforce.com" (Salesforce Help 000886201). A token request for
  grant_type=client_credentials that arrives for such a host is answered 400
  {"error":"invalid_grant","error_description":"request not supported on this domain"}, the answer
  reported from a real org (pozil/pub-sub-api-node-client issue #58, whose maintainer, a Salesforce
  developer advocate, names the org's My Domain as the fix; not reproduced against a real org here).
  The fake runs on 127.0.0.1, so the generic host is modelled by the Host header: `generic_login_url`
  (https://localhost:PORT) reaches the same server as a generic login host; `base_url`
  (https://127.0.0.1:PORT) is the org's My Domain. Host headers login.salesforce.com and
  test.salesforce.com count as generic too. Other grants are served at either.
Fault controls for tests: `expire_all_sessions()`, `fail_next(n, status)` (403 answers Salesforce's
REQUEST_LIMIT_EXCEEDED body: REST API Developer Guide, "Status Codes and Error Responses": "If the error
code is REQUEST_LIMIT_EXCEEDED, you've exceeded API request limits in your org"; the message text
"TotalRequests Limit exceeded." is what integrations quote, unverified against Salesforce's own docs),
`set_unavailable(flag)`, `refuse_logins(flag)` (every token request: 400 invalid_grant, as for a frozen or
deactivated user).
* The setup side the go-live check asks (`fake.setup`, devtools/fake_salesforce_setup.py, with its sources and
  knobs): GET /services/data/ (the versions; a versioned path of another version is 404), the describe of
  Account, SOQL on User and PermissionSetAssignment (PermissionSet.Name), the Tooling API query on
  WorkflowOutboundMessage. A deactivated integration user (`fake.setup.set_user_active(USER_ID, False)`) is
  refused at the token endpoint like `refuse_logins` (unverified: the exact OAuth error Salesforce gives an
  inactive client credentials Run As user).

    python -m devtools.fake_salesforce --port 8443     # prints base URL, CA file and demo credentials
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import itertools
import json
import re
import secrets
import shutil
import ssl
import tempfile
import threading
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devtools import fake_salesforce_flows
from devtools.fake_salesforce_flows import FakeFlows
from devtools.fake_salesforce_setup import SETUP_OBJECTS, TOOLING_OBJECTS, FakeOrgSetup
from doubles.serving import serve_on_thread, stop_serving
from shared.core.salesforce_id import checksum_suffix
from shared.settings import GENERIC_LOGIN_HOSTS as GENERIC_SALESFORCE_LOGIN_HOSTS
from shared.settings import SalesforceAuth, SalesforceSettings

# The project's Salesforce metadata: the picklists the fake restricts as the deployed org would.
ACCOUNT_FIELDS_METADATA = (
    Path(__file__).resolve().parents[1]
    / "salesforce"
    / "force-app"
    / "main"
    / "default"
    / "objects"
    / "Account"
    / "fields"
)
_METADATA_NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
# What Salesforce calls its generic login hosts (shared.settings.GENERIC_LOGIN_HOSTS) and, here, the host name
# that stands for them on this machine (the certificate covers it).
GENERIC_LOGIN_HOSTS = GENERIC_SALESFORCE_LOGIN_HOSTS | {"localhost"}

# Account fields the fake knows, with the maximum length of text fields (None: not a text field).
ACCOUNT_FIELDS: dict[str, int | None] = {
    "Id": None,
    "Name": 255,
    "Type": 255,
    "BillingStreet": 255,
    "BillingCity": 40,
    "BillingPostalCode": 20,
    "BillingState": 80,
    "BillingStateCode": 10,
    "BillingCountry": 80,
    "BillingCountryCode": 10,
    "Phone": 40,
    "CurrencyIsoCode": 3,
    "CreatedDate": None,
    "LastModifiedDate": None,
    "SystemModstamp": None,
    # The custom fields of salesforce/force-app (lengths from their field-meta.xml).
    "SAP_Customer_Number__c": 10,
    "SAP_Sync_Status__c": 255,
    "SAP_Sync_Error__c": 255,
    "SAP_Sync_Warnings__c": 255,
    "SAP_Synced_At__c": None,
    "SAP_Company_Code__c": 4,
    "SAP_Sales_Organization__c": 4,
    "SAP_Distribution_Channel__c": 2,
    "SAP_Division__c": 2,
    "SAP_Reference_Customer__c": 10,
}
DATETIME_FIELDS = frozenset({"CreatedDate", "LastModifiedDate", "SystemModstamp", "SAP_Synced_At__c"})
READ_ONLY_FIELDS = frozenset({"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"})

# The Query Options header's bounds (REST API Developer Guide, "Query Options Header").
QUERY_BATCH_DEFAULT = 2000
QUERY_BATCH_MINIMUM = 200

_ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_DATA_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<rest>.*)$")
_QUERY = re.compile(
    r"""^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)
        (?:\s+WHERE\s+(?P<where>.+?))?
        (?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?
        (?:\s+LIMIT\s+(?P<limit>\d+))?\s*$""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_LITERAL = r"'(?:[^'\\]|\\.)*'|null\b|true\b|false\b|-?\d+(?:\.\d+)?"
_CONDITION = re.compile(
    rf"""\s*(?P<field>\w+)\s*(?:(?P<operator>=|!=)\s*(?P<value>{_LITERAL})
        |(?P<in>NOT\s+IN|IN)\s*\((?P<values>\s*(?:{_LITERAL})\s*(?:,\s*(?:{_LITERAL})\s*)*)\))\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_IN_VALUE = re.compile(rf"\s*({_LITERAL})\s*,?", re.IGNORECASE)
_AND = re.compile(r"AND\b", re.IGNORECASE)

_NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
_INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_FAULT_BODIES: dict[int, list[dict[str, str]]] = {
    500: [
        {
            "errorCode": "UNKNOWN_EXCEPTION",
            "message": "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1234567890-12345 (-1234567890)",
        }
    ],
    503: [{"errorCode": "SERVER_UNAVAILABLE", "message": "Server is temporarily unavailable, please try again later"}],
    # The org's API request limit (see the module docstring).
    403: [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
}
_NOT_ON_THIS_DOMAIN = {"error": "invalid_grant", "error_description": "request not supported on this domain"}


def salesforce_id18(record_id: str) -> str:
    """The case-insensitive 18-character form of a 15- or 18-character Salesforce Id (the checksum suffix as
    shared.core.salesforce_id computes it)."""
    if not _ID_PATTERN.match(record_id):
        raise ValueError(f"'{record_id}' is not a Salesforce Id")
    return record_id[:15] + checksum_suffix(record_id[:15])


ORGANIZATION_ID = salesforce_id18("00D5g00000FAKEO")
USER_ID = salesforce_id18("0055g00000FAKEU")


def _salesforce_datetime(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FakeCredentials:
    """The connected app and integration user the fake accepts (demo values, generated per instance)."""

    client_id: str
    client_secret: str
    username: str
    password: str
    security_token: str
    private_key_pem: str = ""  # signs JWT assertions; its public key is registered in the fake

    def __repr__(self) -> str:
        return f"FakeCredentials(client_id={self.client_id!r}, username={self.username!r})"


class _QueryError(Exception):
    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.body = [{"message": message, "errorCode": error_code}]


class FakeSalesforce:
    """One fake org. Thread-safe: the server answers each request on its own thread."""

    def __init__(self, port: int = 0, query_batch_size: int = 2000) -> None:
        self._requested_port = port
        self.query_batch_size = query_batch_size
        self._lock = threading.Lock()
        self._accounts: dict[str, dict[str, Any]] = {}
        self._extra_fields: dict[str, int | None] = {}
        self._dropped_fields: set[str] = set()
        self._sessions: set[str] = set()
        self._issued_tokens: list[str] = []  # every token ever issued, for leak tests
        self._query_cursors: dict[str, list[dict[str, Any]]] = {}
        self._patches: Counter[str] = Counter()
        self._token_requests: Counter[str] = Counter()
        self._query_requests = 0
        self._failures_left = 0
        self._failure_status = 503
        self._unavailable = False
        self._refusing_logins = False
        self._cursor_numbers = itertools.count(1)
        # Restricted picklist field -> its allowed values (API names), from the project's metadata.
        self._picklists: dict[str, tuple[str, ...]] = dict(restricted_picklists())
        self._picklist_labels: dict[str, str] = dict(_picklist_labels())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.credentials = FakeCredentials(
            client_id="3MVG9" + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B"),
            client_secret=secrets.token_hex(32).upper(),
            username="integration@sap-sync.example.com",
            password="Demo-" + secrets.token_urlsafe(9),
            security_token=secrets.token_urlsafe(18),
        )
        # Users, permission sets, the outbound message, API versions and field shapes (the go-live check's side).
        self.setup = FakeOrgSetup(USER_ID, self.credentials.username, ACCOUNT_FIELDS, READ_ONLY_FIELDS)
        # The record-triggered flows and the sync's custom metadata record (the change trigger, issue 26).
        self.flows = FakeFlows(USER_ID)

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> FakeSalesforce:
        if self._server is not None:
            return self
        material = _key_material()
        self.credentials = FakeCredentials(
            **{**self.credentials.__dict__, "private_key_pem": material.jwt_private_key_pem}
        )
        server = ThreadingHTTPServer(("127.0.0.1", self._requested_port), _Handler)
        # The handshake then runs on the request's thread, so one slow client cannot stall accept().
        server.socket = material.tls_context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = serve_on_thread(server, "fake-salesforce")
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        stop_serving(server, thread)

    def __enter__(self) -> FakeSalesforce:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSalesforce is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Login URL and instance URL at once, as for an org reached through its My Domain."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def generic_login_url(self) -> str:
        """The same server reached as Salesforce's generic login host (login.salesforce.com stands for it):
        client credentials are refused there, as Salesforce refuses them (see the module docstring)."""
        return f"https://localhost:{self.port}"

    @property
    def ca_path(self) -> str:
        """The CA file to trust. It outlives `stop()`, so a client of a stopped fake sees connection errors."""
        return str(_key_material().directory / "ca.pem")

    @property
    def jwt_private_key_path(self) -> str:
        return str(_key_material().directory / "jwt-private-key.pem")

    def session(self) -> requests.Session:
        """A requests session that trusts the fake's CA (and nothing else)."""
        session = requests.Session()
        session.verify = self.ca_path
        session.trust_env = False  # a developer's HTTPS_PROXY must not swallow 127.0.0.1
        return session

    def salesforce_settings(self, auth: SalesforceAuth, api_version: str = "61.0") -> SalesforceSettings:
        """Settings that log in to this fake with the given OAuth flow."""
        return SalesforceSettings(
            auth=auth,
            login_url=self.base_url,
            api_version=api_version,
            client_id=self.credentials.client_id,
            client_secret=self.credentials.client_secret if auth is not SalesforceAuth.JWT else None,
            username=self.credentials.username if auth is not SalesforceAuth.CLIENT_CREDENTIALS else None,
            password=self.credentials.password if auth is SalesforceAuth.PASSWORD else None,
            security_token=self.credentials.security_token if auth is SalesforceAuth.PASSWORD else None,
            private_key=self.credentials.private_key_pem if auth is SalesforceAuth.JWT else None,
        )

    # ----------------------------------------------------------------------------- data and counters

    def add_account(self, account_id: str, **fields: Any) -> str:
        """Seed an Account; unknown field names become custom fields of the fake org. Returns the 18-char Id."""
        record_id = salesforce_id18(account_id)
        if len(account_id) == 18 and account_id != record_id:
            raise ValueError(f"'{account_id}' has a wrong case-safe suffix (expected {record_id})")
        stamp = _salesforce_datetime(_now())
        with self._lock:
            for name, value in fields.items():
                if name not in ACCOUNT_FIELDS and name not in self._extra_fields:
                    self._extra_fields[name] = None if not isinstance(value, str) else 255
            record = dict.fromkeys(self._field_names(), None)
            record.update(fields, Id=record_id, CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
            self._accounts[record_id] = record
        return record_id

    def set_picklist(self, field: str, values: tuple[str, ...]) -> None:
        """Act as an org whose admin changed a restricted picklist's values (e.g. renamed "Synced")."""
        with self._lock:
            self._picklists[field] = tuple(values)

    def picklist(self, field: str) -> tuple[str, ...] | None:
        """The allowed values of a restricted picklist field, or None for any other field."""
        with self._lock:
            return self._picklists.get(field)

    def drop_field(self, name: str) -> None:
        """Act as an org where this field is not deployed (its metadata is missing): it becomes unknown."""
        with self._lock:
            self._dropped_fields.add(name)
            for record in self._accounts.values():
                record.pop(name, None)

    def account(self, account_id: str) -> dict[str, Any] | None:
        """A copy of the stored record (15- or 18-char Id), or None."""
        try:
            record_id = salesforce_id18(account_id)
        except ValueError:
            return None
        with self._lock:
            record = self._accounts.get(record_id)
            return dict(record) if record is not None else None

    def patch_count(self, account_id: str) -> int:
        """Successful PATCHes of one account."""
        with self._lock:
            return self._patches[salesforce_id18(account_id)]

    @property
    def token_requests(self) -> int:
        """Every POST to the token endpoint, failed ones included."""
        with self._lock:
            return sum(self._token_requests.values())

    @property
    def query_requests(self) -> int:
        """Successful query and query-more requests (one per result page served)."""
        with self._lock:
            return self._query_requests

    # ----------------------------------------------------------------------------- fault controls

    def issued_tokens(self) -> list[str]:
        """Every access token this fake has handed out (tests assert none of them is logged)."""
        with self._lock:
            return list(self._issued_tokens)

    def expire_all_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next `count` REST API requests (not token requests) fail with `status`."""
        with self._lock:
            self._failures_left = count
            self._failure_status = status

    def set_unavailable(self, unavailable: bool) -> None:
        """While set, every request, token requests included, gets 503 SERVER_UNAVAILABLE."""
        with self._lock:
            self._unavailable = unavailable

    def refuse_logins(self, refusing: bool) -> None:
        """While set, the token endpoint refuses every grant (400 invalid_grant: authentication failure,
        what Salesforce answers for a frozen or deactivated integration user); sessions already issued
        keep working."""
        with self._lock:
            self._refusing_logins = refusing

    # ----------------------------------------------------------------------------- request handling
    # Each returns (status, JSON body or None); the handler writes it.

    def _handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        url = urlsplit(target)
        with self._lock:
            if self._unavailable:
                return 503, _FAULT_BODIES[503]
        if url.path == "/services/oauth2/token":
            if method != "POST":
                return 405, _method_not_allowed(method, "POST")
            return self._token(parse_qs(body.decode("utf-8", "replace")), headers.get("Host") or "")
        if url.path == "/services/oauth2/userinfo" and method == "GET":
            return self._userinfo(headers)
        versions = url.path.rstrip("/") == "/services/data"
        match = _DATA_PATH.match(url.path)
        if not versions and (match is None or not self.setup.serves_version(match["version"])):
            return 404, _NOT_FOUND
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                status = self._failure_status
                return status, _FAULT_BODIES.get(status, [{"errorCode": "SERVER_UNAVAILABLE", "message": "Error"}])
        if versions or match is None:
            if method != "GET":
                return 405, _method_not_allowed(method, "GET,HEAD")
            return 200, self.setup.versions()  # "Authentication: none" (see devtools/fake_salesforce_setup.py)
        authorization = headers.get("Authorization", "")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        with self._lock:
            if token not in self._sessions:
                return 401, _INVALID_SESSION
        version, rest = match["version"], match["rest"].rstrip("/")
        parts = rest.split("/")
        if parts[0] == "sobjects" and len(parts) == 3 and parts[2] == "describe" and method == "GET":
            return self._describe(parts[1])
        if parts[:2] == ["tooling", "query"] and len(parts) == 2 and method == "GET":
            return self._tooling_query(parse_qs(url.query).get("q", [""])[0], version)
        if parts[0] == "sobjects" and len(parts) == 3 and parts[1].lower() == "user" and method == "GET":
            user = self.setup.user_record(parts[2], version)
            return (200, user) if user is not None else (404, _NOT_FOUND)
        if parts[0] == "sobjects" and len(parts) == 3:
            if parts[1].lower() != "account":
                return 404, _NOT_FOUND
            if method == "GET":
                return self._get_account(parts[2], version)
            if method == "PATCH":
                return self._patch_account(parts[2], body)
            return 405, _method_not_allowed(method, "GET,PATCH,HEAD,DELETE")
        if parts[0] == "query" and method == "GET":
            batch_size = _requested_batch_size(headers.get("Sforce-Query-Options"))
            if len(parts) == 1:
                query = parse_qs(url.query).get("q", [""])[0]
                return self._query(query, version, batch_size)
            if len(parts) == 2:
                return self._query_more(parts[1], version, batch_size)
        return 404, _NOT_FOUND

    def _token(self, form: Mapping[str, list[str]], host: str) -> tuple[int, Any]:
        def field(name: str) -> str:
            return form.get(name, [""])[0]

        grant_type = field("grant_type")
        with self._lock:
            self._token_requests[grant_type or "(none)"] += 1
            if self._refusing_logins or not self.setup.user_active(USER_ID):
                return 400, {"error": "invalid_grant", "error_description": "authentication failure"}
        if grant_type == "client_credentials" and _host_name(host) in GENERIC_LOGIN_HOSTS:
            return 400, _NOT_ON_THIS_DOMAIN
        expected = self.credentials
        invalid_client = {"error": "invalid_client", "error_description": "invalid client credentials"}
        invalid_client_id = {"error": "invalid_client_id", "error_description": "client identifier invalid"}
        if grant_type == "client_credentials":
            if field("client_id") != expected.client_id or field("client_secret") != expected.client_secret:
                return 400, invalid_client
        elif grant_type == "password":
            if field("client_id") != expected.client_id:
                return 400, invalid_client_id
            if field("client_secret") != expected.client_secret:
                return 400, invalid_client
            if (
                field("username") != expected.username
                or field("password") != expected.password + expected.security_token
            ):
                return 400, {"error": "invalid_grant", "error_description": "authentication failure"}
        elif grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self._jwt_problem(field("assertion"))
            if problem is not None:
                return 400, problem
        else:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}

        # As Salesforce's: the org's 15-character Id, "!", the session (REST API Developer Guide, "Understanding
        # the Username-Password OAuth Authentication Flow": "00Dx0000000BV7z!AR8AQ..."). The identity URL's Ids
        # are 18 characters in the current OAuth guides' samples (".../id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"),
        # 15 in that older guide's: unverified which a current org sends; the app reads neither.
        access_token = f"{ORGANIZATION_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._sessions.add(access_token)
            self._issued_tokens.append(access_token)
        identity_url = f"{self.base_url}/id/{ORGANIZATION_ID}/{USER_ID}"
        issued_at = str(int(_now().timestamp() * 1000))
        # Salesforce signs id + issued_at with the consumer secret so a client can check the answer.
        signature = base64.b64encode(
            hmac.new(expected.client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        answer = {
            "access_token": access_token,
            "instance_url": self.base_url,
            "id": identity_url,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
        }
        if grant_type != "password":
            answer["scope"] = "api"
        return 200, answer

    def _jwt_problem(self, assertion: str) -> dict[str, str] | None:
        try:
            claims = jwt.decode(
                assertion,
                _key_material().jwt_public_key,
                algorithms=["RS256"],
                audience=self.base_url,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return {"error": "invalid_grant", "error_description": "expired authorization code"}
        except jwt.InvalidAudienceError:
            return {"error": "invalid_grant", "error_description": "audience is invalid"}
        except jwt.PyJWTError:
            return {"error": "invalid_grant", "error_description": "invalid assertion"}
        if claims["iss"] != self.credentials.client_id:
            return {"error": "invalid_client_id", "error_description": "client identifier invalid"}
        if claims["sub"] != self.credentials.username:
            return {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}
        return None

    def _field_names(self) -> list[str]:
        return [name for name in (*ACCOUNT_FIELDS, *self._extra_fields) if name not in self._dropped_fields]

    def _field_lengths(self) -> dict[str, int | None]:
        return {**ACCOUNT_FIELDS, **self._extra_fields}

    def _canonical_field(self, name: str) -> str | None:
        """Field names are case-insensitive in the REST API and SOQL."""
        wanted = name.lower()
        return next((field for field in self._field_names() if field.lower() == wanted), None)

    def _get_account(self, account_id: str, version: str) -> tuple[int, Any]:
        try:
            record_id = salesforce_id18(account_id)
        except ValueError:
            return 404, [
                {
                    "errorCode": "NOT_FOUND",
                    "message": f"Provided external ID field does not exist or is not accessible: {account_id}",
                }
            ]
        with self._lock:
            record = self._accounts.get(record_id)
            if record is None:
                return 404, _NOT_FOUND
            return 200, {"attributes": _attributes(record_id, version), **record}

    def _patch_account(self, account_id: str, body: bytes) -> tuple[int, Any]:
        try:
            record_id = salesforce_id18(account_id)
        except ValueError:
            return 404, _NOT_FOUND
        try:
            changes = json.loads(body or b"{}")
        except ValueError:
            return 400, [
                {"message": "Unexpected character: was expecting a JSON value", "errorCode": "JSON_PARSER_ERROR"}
            ]
        if not isinstance(changes, dict):
            return 400, [
                {
                    "message": "Cannot deserialize instance of Account from a JSON array or value",
                    "errorCode": "JSON_PARSER_ERROR",
                }
            ]
        with self._lock:
            record = self._accounts.get(record_id)
            if record is None:
                return 404, _NOT_FOUND
            lengths = self._field_lengths()
            updates: dict[str, Any] = {}
            for name, value in changes.items():
                if name == "attributes":
                    continue
                field = self._canonical_field(name)
                if field is None:
                    return 400, [
                        {
                            "message": f"No such column '{name}' on sobject of type Account",
                            "errorCode": "INVALID_FIELD",
                            "fields": [name],
                        }
                    ]
                if field in READ_ONLY_FIELDS:
                    return 400, [
                        {
                            "message": f"Unable to create/update fields: {field}. Please check the security "
                            "settings of this field and verify that it is read/write for your "
                            "profile or permission set.",
                            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                            "fields": [field],
                        }
                    ]
                if field in DATETIME_FIELDS and value is not None:
                    try:
                        value = _salesforce_datetime(dt.datetime.fromisoformat(str(value)))
                    except ValueError:
                        return 400, [
                            {
                                "message": f"Cannot deserialize instance of datetime from VALUE_STRING value "
                                f"for field {field}",
                                "errorCode": "JSON_PARSER_ERROR",
                            }
                        ]
                allowed = self._picklists.get(field)
                if allowed is not None and value is not None and value not in allowed:
                    label = self._picklist_labels.get(field, field)
                    return 400, [
                        {
                            "message": f"{label}: bad value for restricted picklist field: {value}",
                            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            "fields": [field],
                        }
                    ]
                limit = lengths.get(field)
                if limit is not None and isinstance(value, str) and len(value) > limit:
                    return 400, [
                        {
                            "message": f"{field}: data value too large (max length={limit})",
                            "errorCode": "STRING_TOO_LONG",
                            "fields": [field],
                        }
                    ]
                updates[field] = value
            stamp = _salesforce_datetime(_now())
            record.update(updates, LastModifiedDate=stamp, SystemModstamp=stamp)
            self._patches[record_id] += 1
        return 204, None

    def _userinfo(self, headers: Mapping[str, str]) -> tuple[int, Any]:
        """The session's user (OpenID Connect UserInfo): what the Salesforce CLI asks after a login by access token
        (@salesforce/core, lib/org/authInfo.js, retrieveUserInfo: `user_id`, `organization_id`, then
        GET sobjects/User/{user_id} for the Username). The other claims of a real answer are left out here."""
        authorization = headers.get("Authorization", "")
        with self._lock:
            if authorization[7:] not in self._sessions:
                return 403, "Bad_OAuth_Token"  # unverified: the body Salesforce sends for an invalid token here
        return 200, {
            "sub": f"{self.base_url}/id/{ORGANIZATION_ID}/{USER_ID}",
            "user_id": USER_ID,
            "organization_id": ORGANIZATION_ID,
            "preferred_username": self.credentials.username,
        }

    def _describe(self, sobject: str) -> tuple[int, Any]:
        if sobject.lower() != "account":
            return 404, _NOT_FOUND
        with self._lock:
            lengths = {name: self._field_lengths().get(name) for name in self._field_names()}
            picklists = dict(self._picklists)
        return 200, self.setup.describe_account(lengths, picklists, self._picklist_labels)

    def _setup_query(self, soql: str, version: str, tooling: bool) -> list[dict[str, Any]] | None:
        """The rows of a query on a setup object (None: another object); _QueryError as Salesforce answers."""
        parsed = _QUERY.match(soql)
        if parsed is None:
            raise _QueryError("MALFORMED_QUERY", "unexpected token in query")
        objects = (
            (*TOOLING_OBJECTS, *fake_salesforce_flows.TOOLING_OBJECTS)
            if tooling
            else (*SETUP_OBJECTS, *fake_salesforce_flows.QUERY_OBJECTS)
        )
        sobject = next((name for name in objects if name.lower() == parsed["object"].lower()), None)
        if tooling and sobject is not None and not self.setup.views_setup():
            raise _QueryError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        if sobject is None:
            if tooling:
                raise _QueryError("INVALID_TYPE", f"sObject type '{parsed['object']}' is not supported.")
            return None
        fields = [name.strip() for name in parsed["fields"].split(",")]
        conditions = list(_conditions(parsed["where"] or ""))
        try:
            if sobject in fake_salesforce_flows.TOOLING_OBJECTS:
                rows = self.flows.tooling_rows(sobject, fields, conditions, _compare, version)
            elif sobject in fake_salesforce_flows.QUERY_OBJECTS:
                rows = self.flows.setting_rows(fields, conditions, _compare, version)
            elif tooling:
                rows = self.setup.outbound_messages(fields, conditions, _compare, version)
            else:
                rows = self.setup.rows(sobject, fields, conditions, _compare, version)
        except KeyError as error:
            raise _QueryError("INVALID_FIELD", f"No such column '{error.args[0]}' on entity '{sobject}'.") from None
        except ValueError as error:
            raise _QueryError("MALFORMED_QUERY", str(error)) from None
        return rows[: int(parsed["limit"])] if parsed["limit"] is not None else rows

    def _tooling_query(self, soql: str, version: str) -> tuple[int, Any]:
        try:
            rows = self._setup_query(soql, version, tooling=True) or []
        except _QueryError as error:
            return 400, error.body
        with self._lock:
            self._query_requests += 1
        return 200, {
            "size": len(rows),
            "totalSize": len(rows),
            "done": True,
            "queryLocator": None,
            "entityTypeName": rows[0]["attributes"]["type"] if rows else TOOLING_OBJECTS[0],
            "records": rows,
        }

    def _query(self, soql: str, version: str, batch_size: int) -> tuple[int, Any]:
        try:
            rows = self._setup_query(soql, version, tooling=False)
            if rows is None:
                rows = self._run_query(soql, version)
        except _QueryError as error:
            return 400, error.body
        return 200, self._page(rows, 0, None, version, batch_size)

    def _query_more(self, locator: str, version: str, batch_size: int) -> tuple[int, Any]:
        cursor, _, offset = locator.rpartition("-")
        with self._lock:
            rows = self._query_cursors.get(cursor)
        if rows is None or not offset.isdigit():
            return 400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
        return 200, self._page(rows, int(offset), cursor, version, batch_size)

    def _page(
        self,
        rows: list[dict[str, Any]],
        offset: int,
        cursor: str | None,
        version: str,
        batch_size: int = QUERY_BATCH_DEFAULT,
    ) -> dict[str, Any]:
        with self._lock:
            self._query_requests += 1
        end = offset + min(batch_size, self.query_batch_size)
        page: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if end < len(rows):
            if cursor is None:
                with self._lock:
                    cursor = salesforce_id18(f"01g5g{next(self._cursor_numbers):010d}")
                    self._query_cursors[cursor] = rows
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}-{end}"
        return page

    def _run_query(self, soql: str, version: str) -> list[dict[str, Any]]:
        parsed = _QUERY.match(soql)
        if parsed is None:
            raise _QueryError("MALFORMED_QUERY", "unexpected token in query")
        if parsed["object"].lower() != "account":
            raise _QueryError("INVALID_TYPE", f"sObject type '{parsed['object']}' is not supported.")
        with self._lock:
            selected = [self._column(name.strip()) for name in parsed["fields"].split(",")]
            conditions = [
                (self._column(field), operator, value) for field, operator, value in _conditions(parsed["where"] or "")
            ]
            order = self._column(parsed["order"]) if parsed["order"] else "Id"
            records = [dict(record) for record in self._accounts.values()]
        matching = [
            record
            for record in records
            if all(_compare(record.get(field), operator, value) for field, operator, value in conditions)
        ]
        matching.sort(
            key=lambda record: (record.get(order) is None, str(record.get(order) or "")),
            reverse=(parsed["direction"] or "").upper() == "DESC",
        )
        if parsed["limit"] is not None:
            matching = matching[: int(parsed["limit"])]
        return [
            {"attributes": _attributes(record["Id"], version), **{field: record.get(field) for field in selected}}
            for record in matching
        ]

    def _column(self, name: str) -> str:
        field = self._canonical_field(name)
        if field is None:
            raise _QueryError("INVALID_FIELD", f"No such column '{name}' on entity 'Account'.")
        return field


def _host_name(host_header: str) -> str:
    """The host of a Host header, without its port (an IPv6 literal keeps its brackets)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]


def _restricted_picklist_fields() -> Iterator[tuple[str, ElementTree.Element]]:
    for path in sorted(ACCOUNT_FIELDS_METADATA.glob("*.field-meta.xml")):
        root = ElementTree.parse(path).getroot()
        if (
            root.findtext("md:type", namespaces=_METADATA_NS) == "Picklist"
            and root.findtext("md:valueSet/md:restricted", namespaces=_METADATA_NS) == "true"
        ):
            yield root.findtext("md:fullName", namespaces=_METADATA_NS) or path.name.split(".")[0], root


def restricted_picklists() -> dict[str, tuple[str, ...]]:
    """Each restricted picklist field of the project's Account metadata with its values (API names)."""
    return {
        name: tuple(
            value.findtext("md:fullName", namespaces=_METADATA_NS) or ""
            for value in root.findall("md:valueSet/md:valueSetDefinition/md:value", _METADATA_NS)
        )
        for name, root in _restricted_picklist_fields()
    }


def _picklist_labels() -> dict[str, str]:
    return {
        name: root.findtext("md:label", namespaces=_METADATA_NS) or name for name, root in _restricted_picklist_fields()
    }


def _requested_batch_size(header: str | None) -> int:
    """Sforce-Query-Options: batchSize=N, clamped to the documented 200..2,000 (default 2,000)."""
    match = re.search(r"batchSize\s*=\s*(\d+)", header or "", re.IGNORECASE)
    if match is None:
        return QUERY_BATCH_DEFAULT
    return max(QUERY_BATCH_MINIMUM, min(int(match.group(1)), QUERY_BATCH_DEFAULT))


def _attributes(record_id: str, version: str) -> dict[str, str]:
    return {"type": "Account", "url": f"/services/data/v{version}/sobjects/Account/{record_id}"}


def _method_not_allowed(method: str, allowed: str) -> list[dict[str, str]]:
    return [
        {"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP Method '{method}' not allowed. Allowed are {allowed}"}
    ]


def _conditions(where: str) -> Iterator[tuple[str, str, Any]]:
    position = 0
    while position < len(where):
        condition = _CONDITION.match(where, position)
        if condition is None:
            raise _QueryError("MALFORMED_QUERY", "unexpected token in WHERE clause")
        if condition["in"] is not None:
            values = tuple(_literal(match.group(1)) for match in _IN_VALUE.finditer(condition["values"]))
            yield condition["field"], " ".join(condition["in"].upper().split()), values
        else:
            yield condition["field"], condition["operator"], _literal(condition["value"])
        position = condition.end()
        if position < len(where):
            conjunction = _AND.match(where, position)
            if conjunction is None:
                raise _QueryError("MALFORMED_QUERY", "only AND joins conditions in this fake")
            position = conjunction.end()


_SOQL_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _literal(literal: str) -> Any:
    """A SOQL literal's value (SOQL and SOSL Reference, "Quoted String Escape Sequences")."""
    if literal.startswith("'"):
        return re.sub(r"\\(.)", lambda m: _SOQL_UNESCAPES.get(m.group(1), m.group(1)), literal[1:-1])
    if literal.lower() in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[literal.lower()]
    return float(literal)


def _compare(stored: Any, operator: str, value: Any) -> bool:
    if operator in ("IN", "NOT IN"):
        found = any(_compare(stored, "=", candidate) for candidate in value)
        return found if operator == "IN" else not found
    if isinstance(stored, str) and isinstance(value, str):
        # Text comparison in SOQL ignores case; Ids match in their 15- and 18-char forms.
        with contextlib.suppress(ValueError):
            stored, value = salesforce_id18(stored), salesforce_id18(value)
        equal = stored.lower() == value.lower()
    elif isinstance(stored, (int, float)) and isinstance(value, float):
        equal = float(stored) == value
    else:
        equal = stored == value
    return equal if operator == "=" else not equal


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a stopped server leaves no kept-alive connection serving.
    protocol_version = "HTTP/1.0"
    server_version = "FakeSalesforce/1.0"

    def _serve(self) -> None:
        fake: FakeSalesforce = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = fake._handle(self.command, self.path, self.headers, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry query strings; tests do not need them on stderr


@dataclass(frozen=True)
class _KeyMaterial:
    directory: Path
    tls_context: ssl.SSLContext
    jwt_private_key_pem: str
    jwt_public_key: Any


_material: _KeyMaterial | None = None
_material_lock = threading.Lock()


def _key_material() -> _KeyMaterial:
    """TLS chain and JWT key pair, made once per process (key generation is the slow part of a start)."""
    global _material
    with _material_lock:
        if _material is None:
            directory = Path(tempfile.mkdtemp(prefix="fake-salesforce-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            jwt_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwt_private_pem = jwt_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            (directory / "jwt-private-key.pem").write_text(jwt_private_pem)
            _material = _KeyMaterial(directory, _tls_context(directory), jwt_private_pem, jwt_key.public_key())
        return _material


def _key_usage(*, certificate_authority: bool) -> x509.KeyUsage:
    """Digital signature; a certificate authority also signs certificates and CRLs (RFC 5280, 4.2.1.3)."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=certificate_authority,
        crl_sign=certificate_authority,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _tls_context(directory: Path) -> ssl.SSLContext:
    """A CA and a server certificate for 127.0.0.1/localhost, written to `directory` (ca.pem, server.pem).

    A separate CA (not a self-signed leaf) with the usual extensions passes OpenSSL's strict checks, which
    Python 3.13 turns on by default.
    """
    now = _now()
    validity = (now - dt.timedelta(hours=1), now + dt.timedelta(days=2))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Salesforce test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certificate_authority=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certificate_authority=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server-key.pem").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server-key.pem")
    return context


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Salesforce until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--batch-size", type=int, default=2000, help="records per query page")
    args = parser.parse_args(argv)
    with FakeSalesforce(port=args.port, query_batch_size=args.batch_size) as fake:
        demo_id = fake.add_account(
            "001000000000001", Name="Demo Customer GmbH", Type="Customer", BillingCountryCode="DE"
        )
        credentials = fake.credentials
        print(f"Fake Salesforce at {fake.base_url} (login URL and instance URL)")
        print(f"CA certificate: {fake.ca_path}   (the app: SALESFORCE_CA_BUNDLE={fake.ca_path})")
        print(f"JWT private key: {fake.jwt_private_key_path}")
        print(f"Demo account: {demo_id}")
        print("Settings:")
        print(f"  SALESFORCE_LOGIN_URL={fake.base_url}")
        print(f"  SALESFORCE_CLIENT_ID={credentials.client_id}")
        print(f"  SALESFORCE_CLIENT_SECRET={credentials.client_secret}")
        print(f"  SALESFORCE_USERNAME={credentials.username}")
        print(f"  SALESFORCE_PASSWORD={credentials.password}")
        print(f"  SALESFORCE_SECURITY_TOKEN={credentials.security_token}")
        print("Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
