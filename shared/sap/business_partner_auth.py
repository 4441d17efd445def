"""OAuth 2.0 client credentials for the Business Partner gateway (SAP_ODATA_AUTH=oauth): S/4HANA Cloud's
communication arrangements offer OAuth 2.0 beside basic logon for inbound services such as SAP_COM_0008."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import requests

from shared.http_sessions import new_session
from shared.sap.errors import SapConfigurationError, SapTransientError


class BearerTokens:
    """OAuth 2.0 client credentials (RFC 6749 section 4.4): one token for every session, fetched when none is
    held or it is about to expire, forgotten on a 401. Thread-safe."""

    _EARLY_SECONDS = 60  # renewed this long before `expires_in` ends

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        session_factory: Callable[[], requests.Session] = new_session,
    ) -> None:
        self._token_url, self._client_id, self._client_secret = token_url, client_id, client_secret
        self._http = session_factory()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def forget(self) -> None:
        with self._lock:
            self._token = None

    def token(self, timeout: float) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._token, self._expires = self._fetch(timeout)
            return self._token

    def _fetch(self, timeout: float) -> tuple[str, float]:
        try:
            response = self._http.post(
                self._token_url,
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
                timeout=timeout,
            )
        except requests.exceptions.RequestException as error:
            raise SapTransientError(f"OAuth token endpoint: {type(error).__name__}") from None
        if response.status_code in (400, 401, 403):
            raise SapConfigurationError(
                f"OAuth token endpoint refused the client (HTTP {response.status_code}): "
                "check SAP_ODATA_CLIENT_ID and SAP_ODATA_CLIENT_SECRET"
            )
        data = _json(response.content)
        token = data.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise SapTransientError(f"OAuth token endpoint answered HTTP {response.status_code} without a token")
        lifetime = float(data.get("expires_in") or 300)
        return token, time.monotonic() + max(lifetime - self._EARLY_SECONDS, lifetime / 2)


def _json(content: bytes) -> dict[str, object]:
    try:
        data = json.loads(content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
