"""The login to Salesforce and the simple-salesforce client on its session, shared by the write-back, the
account queries and the org inspector (shared/salesforce/org_inspector.py).

simple-salesforce can only log in at `https://{domain}.salesforce.com`, so the OAuth token request
(client credentials, JWT bearer or username-password flow) is ours, against `settings.login_url`;
simple-salesforce then works on the session it is given. It cannot refresh such a session itself,
so an expired one (401 INVALID_SESSION_ID) is renewed here: one new login, one repeat of the call.
simple-salesforce's and requests' errors become the port's (shared/salesforce/port.py) here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jwt
import requests
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_errors

from shared.core.salesforce_org import PASSWORD_FLOW_DEPRECATED, SalesforceAuth, SalesforceSettings
from shared.http_sessions import new_session
from shared.salesforce.port import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceRejected,
    SalesforceUnavailable,
)
from shared.settings_error import SettingsError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Salesforce accepts a JWT assertion for at most 3 minutes after it was issued.
_JWT_LIFETIME_SECONDS = 180
_Result = TypeVar("_Result")

# Which settings each OAuth flow needs, by their app-setting names.
_REQUIRED_SETTINGS: dict[SalesforceAuth, tuple[tuple[str, str], ...]] = {
    SalesforceAuth.CLIENT_CREDENTIALS: (
        ("client_id", "SALESFORCE_CLIENT_ID"),
        ("client_secret", "SALESFORCE_CLIENT_SECRET"),
    ),
    SalesforceAuth.JWT: (
        ("client_id", "SALESFORCE_CLIENT_ID"),
        ("username", "SALESFORCE_USERNAME"),
        ("private_key", "SALESFORCE_PRIVATE_KEY"),
    ),
    # The OAuth username-password flow needs the connected app too (the SOAP login does not, but
    # simple-salesforce only offers that one against *.salesforce.com).
    SalesforceAuth.PASSWORD: (
        ("client_id", "SALESFORCE_CLIENT_ID"),
        ("client_secret", "SALESFORCE_CLIENT_SECRET"),
        ("username", "SALESFORCE_USERNAME"),
        ("password", "SALESFORCE_PASSWORD"),
    ),
}


class _TrustingAdapter(requests.adapters.HTTPAdapter):
    """Verifies Salesforce's certificate against SALESFORCE_CA_BUNDLE. Set on the adapter because
    requests lets a REQUESTS_CA_BUNDLE in the environment override a session's own `verify`."""

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self._ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["verify"] = self._ca_bundle
        return super().send(request, **kwargs)


class SalesforceConnection:
    """One login (OAuth token request against `settings.login_url`) and the simple-salesforce client on
    its session, shared by the write-back and the account queries. Thread-safe; logs in lazily, keeps
    the session, and renews an expired one once (simple-salesforce cannot refresh a session it did not
    obtain itself)."""

    def __init__(
        self,
        settings: SalesforceSettings,
        session: requests.Session | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        _check_settings(settings)
        if settings.auth is SalesforceAuth.PASSWORD:
            logger.warning(PASSWORD_FLOW_DEPRECATED)
        self._settings = settings
        self._http = session if session is not None else new_session()
        if session is None and settings.ca_bundle:
            self._http.mount("https://", _TrustingAdapter(settings.ca_bundle))
        self.timeout_seconds = timeout_seconds
        self._login_lock = threading.Lock()
        self._client: Salesforce | None = None

    def call(self, operation: Callable[[Salesforce], _Result], what: str) -> _Result:
        """Run `operation` on the logged-in client; an expired session is renewed and the operation run
        once more. simple-salesforce's and requests' errors become the port's (`what` names the
        resource in their messages, e.g. "account 001..." or "the account query")."""
        try:
            client = self._logged_in_client()
            try:
                return operation(client)
            except sf_errors.SalesforceExpiredSession:
                logger.info("Salesforce session expired; logging in again")
                client = self._login_again(expired=client)
                return operation(client)
        except SalesforceError:
            raise
        except sf_errors.SalesforceError as error:
            raise _translate(error, what) from None
        except requests.RequestException as error:
            raise SalesforceUnavailable(f"Salesforce unreachable: {type(error).__name__}") from None

    def fresh_login(self) -> Salesforce:
        """A new login, whatever session is kept (the health check proves the credentials still work)."""
        client = self._login()
        with self._login_lock:
            self._client = client
        return client

    def _logged_in_client(self) -> Salesforce:
        with self._login_lock:
            if self._client is None:
                self._client = self._login()
            return self._client

    def _login_again(self, expired: Salesforce) -> Salesforce:
        with self._login_lock:
            # Another thread may have renewed the session already; one login is enough for all.
            if self._client is expired or self._client is None:
                self._client = self._login()
            return self._client

    def _login(self) -> Salesforce:
        answer = self._request_token()
        instance_url = answer.get("instance_url") or self._settings.instance_url
        access_token = answer.get("access_token")
        if not access_token or not instance_url:
            raise SalesforceAuthenticationFailed("Salesforce login answer had no access token or instance URL")
        logger.info("Salesforce login succeeded", extra={"salesforce_auth": self._auth.value})
        return Salesforce(
            instance_url=instance_url, session_id=access_token, version=self._settings.api_version, session=self._http
        )

    @property
    def _auth(self) -> SalesforceAuth:
        assert self._settings.auth is not None  # checked in __init__
        return self._settings.auth

    def _request_token(self) -> dict[str, Any]:
        url = f"{self._settings.login_url.rstrip('/')}/services/oauth2/token"
        try:
            response = self._http.post(
                url, data=self._token_form(), headers={"Accept": "application/json"}, timeout=self.timeout_seconds
            )
        except requests.RequestException as error:
            raise SalesforceUnavailable(f"Salesforce login unreachable: {type(error).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise SalesforceUnavailable(f"Salesforce login answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict):
            code = answer.get("error") if isinstance(answer, dict) else None
            description = answer.get("error_description") if isinstance(answer, dict) else None
            # OAuth error codes and descriptions are fixed texts ("invalid_grant: authentication failure").
            hint = ""
            if self._auth is SalesforceAuth.CLIENT_CREDENTIALS and "not supported on this domain" in str(description):
                # What Salesforce answers client credentials at a generic login host (see devtools/fake_salesforce.py).
                hint = "; set SALESFORCE_LOGIN_URL to your org's My Domain login URL"
            raise SalesforceAuthenticationFailed(
                f"Salesforce login ({self._auth.value}) failed with {response.status_code}: "
                f"{code or 'no error code'}: {description or ''}".rstrip(": ")
                + hint
            )
        return answer

    def _token_form(self) -> dict[str, str]:
        settings = self._settings
        if self._auth is SalesforceAuth.CLIENT_CREDENTIALS:
            return {
                "grant_type": "client_credentials",
                "client_id": settings.client_id or "",
                "client_secret": settings.client_secret or "",
            }
        if self._auth is SalesforceAuth.PASSWORD:
            return {
                "grant_type": "password",
                "client_id": settings.client_id or "",
                "client_secret": settings.client_secret or "",
                "username": settings.username or "",
                "password": (settings.password or "") + (settings.security_token or ""),
            }
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self._jwt_assertion()}

    def _jwt_assertion(self) -> str:
        settings = self._settings
        claims = {
            "iss": settings.client_id,
            "sub": settings.username,
            "aud": jwt_audience(settings.login_url),
            "exp": int(time.time()) + _JWT_LIFETIME_SECONDS,
        }
        try:
            return jwt.encode(claims, _pem(settings.private_key or ""), algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            # The key text itself must not reach the message.
            raise SalesforceAuthenticationFailed("SALESFORCE_PRIVATE_KEY is not a usable RSA private key") from None


def jwt_audience(login_url: str) -> str:
    """The `aud` claim Salesforce expects for a login URL.

    A My Domain login URL still takes login.salesforce.com (test.salesforce.com for sandboxes) as
    audience; any other login URL (an Experience Cloud site, a test server) is its own audience.
    """
    host = urlsplit(login_url).hostname or ""
    if host.endswith(".sandbox.my.salesforce.com") or host == "test.salesforce.com":
        return "https://test.salesforce.com"
    if host.endswith(".my.salesforce.com") or host == "login.salesforce.com":
        return "https://login.salesforce.com"
    return login_url.rstrip("/")


def _check_settings(settings: SalesforceSettings) -> None:
    if settings.auth is None:
        raise SettingsError(
            "SALESFORCE_AUTH: required for the Salesforce write-back (client_credentials, jwt or password)"
        )
    for attribute, setting in _REQUIRED_SETTINGS[settings.auth]:
        if not getattr(settings, attribute):
            raise SettingsError(f"{setting}: required when SALESFORCE_AUTH={settings.auth.value}")


def _pem(key: str) -> str:
    # App settings often carry a PEM on one line with literal "\n" escapes.
    return key.replace("\\n", "\n") if "\n" not in key else key


def _error_codes(error: sf_errors.SalesforceError) -> str:
    """errorCode (and field names) from Salesforce's error list; never the messages, which may quote data."""
    content = error.content
    if not isinstance(content, list):
        return ""
    codes = []
    for item in content:
        if isinstance(item, dict) and item.get("errorCode"):
            fields = item.get("fields") or []
            codes.append(f"{item['errorCode']}" + (f" ({', '.join(map(str, fields))})" if fields else ""))
    return "; ".join(codes)


def _translate(error: sf_errors.SalesforceError, subject: str) -> SalesforceError:
    status = error.status
    detail = _error_codes(error)
    what = f"Salesforce answered {status}" + (f" {detail}" if detail else "") + f" for {subject}"
    if isinstance(error, sf_errors.SalesforceAuthenticationFailed):
        return SalesforceAuthenticationFailed(f"Salesforce login failed (code: {error.code})")
    if isinstance(error, sf_errors.SalesforceExpiredSession):
        # Refused straight after a fresh login: the integration user or app lost access.
        return SalesforceAuthenticationFailed(f"Salesforce refused a new session: {what}")
    if status >= 500 or status == 429 or "REQUEST_LIMIT_EXCEEDED" in detail:
        # The daily API limit heals by itself, like an outage.
        return SalesforceUnavailable(what)
    return SalesforceRejected(what)
