"""The S/4HANA transport's settings (SAP_TRANSPORT=odata: the OData V2 service API_BUSINESS_PARTNER over
HTTPS), read once into typed values; declared in declarations.py like every other setting. The composition
root hands them to the Business Partner gateway (shared/bootstrap/s4.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from shared.hosting import running_in_azure
from shared.settings.declarations import DECLARED
from shared.settings.parsers import _choice, _text
from shared.settings_error import SettingsError

# Plain http only to a local S/4 double (s4_simulator), never in Azure: a logon travels with every request.
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class ODataAuth(StrEnum):
    BASIC = "basic"  # a communication user and its password
    OAUTH = "oauth"  # OAuth 2.0 client credentials


@dataclass(frozen=True)
class ODataSettings:
    """SAP_ODATA_*: where API_BUSINESS_PARTNER is and how to log on; SAP_BP_GROUPING."""

    url: str
    auth: ODataAuth = ODataAuth.BASIC
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_url: str | None = None
    grouping: str = ""


def load_odata_settings(env: Mapping[str, str], required: bool) -> ODataSettings | None:
    """The S/4 settings when SAP_TRANSPORT=odata (`required`), else None; SettingsError names the first wrong."""
    if not required:
        return None
    url = _service_url(_text(env, "SAP_ODATA_URL"), env)
    auth = _choice(env, "SAP_ODATA_AUTH", ODataAuth, ODataAuth(DECLARED["SAP_ODATA_AUTH"].default or "basic"))
    assert auth is not None
    grouping = _text(env, "SAP_BP_GROUPING")
    if grouping is None or len(grouping) > 4:
        raise SettingsError(
            "SAP_BP_GROUPING: required when SAP_TRANSPORT=odata: the Business Partner grouping "
            "(at most 4 characters) whose number range new partners get, e.g. BP02"
        )
    settings = ODataSettings(
        url=url,
        auth=auth,
        user=_text(env, "SAP_ODATA_USER"),
        password=_text(env, "SAP_ODATA_PASSWORD"),
        client_id=_text(env, "SAP_ODATA_CLIENT_ID"),
        client_secret=_text(env, "SAP_ODATA_CLIENT_SECRET"),
        token_url=_text(env, "SAP_ODATA_TOKEN_URL"),
        grouping=grouping.upper(),
    )
    needed = (
        (("SAP_ODATA_USER", settings.user), ("SAP_ODATA_PASSWORD", settings.password))
        if auth is ODataAuth.BASIC
        else (
            ("SAP_ODATA_CLIENT_ID", settings.client_id),
            ("SAP_ODATA_CLIENT_SECRET", settings.client_secret),
            ("SAP_ODATA_TOKEN_URL", settings.token_url),
        )
    )
    for name, value in needed:
        if value is None:
            raise SettingsError(f"{name}: required when SAP_ODATA_AUTH={auth.value}")
    if settings.token_url is not None:
        _service_url(settings.token_url, env, "SAP_ODATA_TOKEN_URL")
    return settings


def _service_url(text: str | None, env: Mapping[str, str], name: str = "SAP_ODATA_URL") -> str:
    if text is None:
        raise SettingsError(
            f"{name}: required when SAP_TRANSPORT=odata (e.g. https://my000000-api.s4hana.cloud.sap"
            "/sap/opu/odata/sap/API_BUSINESS_PARTNER)"
        )
    parts = urlsplit(text)
    local = parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS and not running_in_azure(env)
    if not parts.hostname or not (parts.scheme == "https" or local):
        raise SettingsError(
            f"{name}: '{text}' is not an https:// URL (plain http only to a local double, never in Azure)"
        )
    return text.rstrip("/")
