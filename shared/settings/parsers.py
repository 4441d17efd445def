"""How a setting's text becomes its value: pure functions that raise SettingsError naming the setting.

Defaults and bounds are not written here: `_integer` and `_number` take them from the setting's
declaration (shared/settings/declarations.py), the one place each setting is described.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from shared.core.account_fields import DEFAULT_CUSTOMER_TYPES
from shared.core.organization import SalesArea, SalesAreaSetup
from shared.core.reference import iso_language
from shared.core.salesforce_org import GENERIC_LOGIN_HOSTS, organization_id
from shared.hosting import running_in_azure
from shared.settings.declarations import DECLARED
from shared.settings_error import SettingsError

_Choice = TypeVar("_Choice", bound=StrEnum)


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _with_default(env: Mapping[str, str], name: str) -> str:
    """A text setting that has a declared default."""
    return _text(env, name) or DECLARED[name].default or ""


def _integer(env: Mapping[str, str], name: str) -> int:
    """An integer setting: its default and minimum are its declaration's."""
    declared = DECLARED[name]
    minimum = int(declared.minimum or 0)
    raw = _text(env, name)
    if raw is None:
        return int(declared.default or 0)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: '{raw}' is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}: {value} is below the minimum of {minimum}")
    return value


def _number(env: Mapping[str, str], name: str) -> float:
    """A number setting, greater than 0: its default is its declaration's."""
    raw = _text(env, name)
    if raw is None:
        return float(DECLARED[name].default or 0)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: '{raw}' is not a number") from None
    if value <= 0:
        raise SettingsError(f"{name}: must be greater than 0")
    return value


def _choice(env: Mapping[str, str], name: str, enum: type[_Choice], default: _Choice | None) -> _Choice | None:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        return enum(raw.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise SettingsError(f"{name}: '{raw}' is not one of {allowed}") from None


def _sales_areas(text: str) -> dict[SalesArea, SalesAreaSetup]:
    """JSON object: {"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000"}, ...}; an
    area may add "language" (as SAP_DEFAULT_LANGUAGE) for its customers whose request has none."""
    name = "SAP_SALES_AREAS"
    try:
        data = json.loads(text)
    except ValueError:
        raise SettingsError(f"{name}: not valid JSON") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{name}: expected a JSON object keyed by SALESORG/CHANNEL/DIVISION")
    areas: dict[SalesArea, SalesAreaSetup] = {}
    for key, setup in data.items():
        if not isinstance(setup, dict) or not set(setup) <= {"companyCode", "referenceCustomer", "language"}:
            raise SettingsError(
                f"{name}: '{key}' must map to an object with companyCode, referenceCustomer and/or language"
            )
        areas[_sales_area(key, name)] = SalesAreaSetup(
            company_code=str(setup["companyCode"]) if setup.get("companyCode") else None,
            reference_customer=str(setup["referenceCustomer"]) if setup.get("referenceCustomer") else None,
            language=_language(str(setup["language"]), f"{name} ('{key}' language)") if setup.get("language") else None,
        )
    return areas


def _language(text: str, setting: str) -> str:
    """A language as SAP shows it, ISO 639-1 ("EN", "de") or SAP's one-character key ("E", "D"): stored as
    ISO 639-1, the form the request's `language` has, so the mapping sends LANGU and LANGU_ISO alike."""
    try:
        return iso_language(text)
    except KeyError:
        raise SettingsError(
            f"{setting}: '{text}' is not a language SAP has a key for; give its ISO 639-1 code "
            "(e.g. EN, DE) or SAP's one-character key (e.g. E, D)"
        ) from None


# Storage's queue naming rules ("Naming Queues and Metadata", learn.microsoft.com): 3 to 63 lowercase
# letters, digits and single dashes, a letter or digit at both ends. 56 at most here, so that the poison
# queue the Functions host adds ("<name>-poison") still fits.
_QUEUE_NAME = re.compile(r"(?=.{3,56}$)[a-z0-9]+(-[a-z0-9]+)*")


def _queue_name(text: str) -> str:
    if not _QUEUE_NAME.fullmatch(text):
        raise SettingsError(
            "RETRY_QUEUE_NAME: a Storage queue name: 3 to 56 lowercase letters, digits and single "
            "dashes, starting and ending with a letter or digit (56, so that '<name>-poison' "
            "stays within Storage's 63), e.g. sap-customer-retry"
        )
    return text


def _storage_connection(text: str | None) -> str | None:
    """AzureWebJobsStorage's form, checked at start rather than by the SDK's first call (a traceback).

    What the two SDKs the app uses need (azure-core parse_connection_string, azure-data-tables and
    azure-storage-queue parse_connection_str): Key=Value pairs separated by ';' with no key twice, a
    credential (AccountName with AccountKey, or SharedAccessSignature) and an endpoint for tables and
    for queues (TableEndpoint / QueueEndpoint, or AccountName to derive them); or the Azurite shortcut
    UseDevelopmentStorage=true alone (shared/storage/clients.py expands only that). The message never
    shows the value: it holds the account key."""
    if text is None:
        return None
    name = "AzureWebJobsStorage"
    if text.replace(" ", "").rstrip(";").lower() == "usedevelopmentstorage=true":
        return text
    pairs = [segment.split("=", 1) for segment in text.rstrip(";").split(";")]
    if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
        raise SettingsError(
            f"{name}: not a storage connection string: expected Key=Value pairs separated by ';' "
            "(AccountName=...;AccountKey=...;EndpointSuffix=...) or UseDevelopmentStorage=true"
        )
    keys = [key.strip().lower() for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise SettingsError(f"{name}: a key appears twice in the connection string")
    if "usedevelopmentstorage" in keys:
        raise SettingsError(f"{name}: UseDevelopmentStorage=true stands alone (the local emulator's shortcut)")
    if not ({"accountname", "accountkey"} <= set(keys) or "sharedaccesssignature" in keys):
        raise SettingsError(
            f"{name}: the connection string has no credential: AccountName with AccountKey, or SharedAccessSignature"
        )
    for endpoint in ("TableEndpoint", "QueueEndpoint"):
        if endpoint.lower() not in keys and "accountname" not in keys:
            raise SettingsError(
                f"{name}: the connection string names no {endpoint} and no AccountName to derive it from"
            )
    return text


def _guard_search_since(env: Mapping[str, str]) -> datetime | None:
    """SAP_GUARD_SEARCH_SINCE: an ISO 8601 moment with its offset (2026-12-01T08:00:00Z), not in the future."""
    name = "SAP_GUARD_SEARCH_SINCE"
    text = _text(env, name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{name}: '{text}' is not an ISO 8601 date and time, e.g. 2026-12-01T08:00:00Z") from None
    if moment.tzinfo is None:
        raise SettingsError(
            f"{name}: '{text}' has no offset; give it in UTC with Z (2026-12-01T08:00:00Z) or with its offset (+01:00)"
        )
    if moment > datetime.now(UTC):
        raise SettingsError(
            f"{name}: '{text}' is in the future; give the moment from which the ledger may have "
            "lost writes (a backup's time, or when the product first ran)"
        )
    return moment.astimezone(UTC)


def _relay_url(text: str, name: str = "SAP_RELAY_URL") -> str:
    """SAP_RELAY_URL: the hybrid connection, https://{namespace}/{hybrid connection name}."""
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/") or parts.query:
        raise SettingsError(
            f"{name}: '{text}' is not https://{{namespace}}/{{hybrid connection}} "
            "(e.g. https://contoso.servicebus.windows.net/sap-agent)"
        )
    return f"https://{parts.netloc}/{parts.path.strip('/')}"


def _relay_base_url(
    text: str | None, env: Mapping[str, str], schemes: tuple[str, ...], name: str = "SAP_RELAY_BASE_URL"
) -> str | None:
    """SAP_RELAY_BASE_URL: where the relay's requests go instead of the namespace (a local relay double);
    refused in Azure, where the namespace itself is the only relay."""
    if text is None:
        return None
    if running_in_azure(env):
        raise SettingsError(
            f"{name}: refused inside an Azure-hosted app (it points the relay "
            "transport at a local relay double); remove it"
        )
    parts = urlsplit(text)
    if parts.scheme not in schemes or not parts.hostname or parts.path.strip("/") or parts.query:
        raise SettingsError(f"{name}: '{text}' is not {' or '.join(schemes)}://host:port (e.g. http://127.0.0.1:9352)")
    return text.rstrip("/")


MIN_PROOF_KEY_LENGTH = 32


def _proof_key(text: str, name: str) -> str:
    if len(text) < MIN_PROOF_KEY_LENGTH:
        raise SettingsError(f"{name}: at least {MIN_PROOF_KEY_LENGTH} characters (e.g. `openssl rand -base64 48`)")
    return text


def _sales_area(text: str, setting: str) -> SalesArea:
    try:
        return SalesArea.parse(text, setting)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _no_match_messages(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """SAP_FIND_NO_MATCH_MESSAGE: "F2 173" or "F2/173", several separated by commas."""
    text = _text(env, "SAP_FIND_NO_MATCH_MESSAGE")
    if text is None:
        return ()
    messages = []
    for item in text.split(","):
        parts = item.replace("/", " ").split()
        if len(parts) != 2 or not parts[1].isdigit() or len(parts[1]) > 3:
            raise SettingsError(
                f"SAP_FIND_NO_MATCH_MESSAGE: '{item.strip()}' is not 'MESSAGE_CLASS NUMBER' (e.g. 'F2 173')"
            )
        messages.append((parts[0].upper(), parts[1].zfill(3)))
    return tuple(messages)


def _organization_id(text: str | None) -> str | None:
    """SALESFORCE_ORGANIZATION_ID: the org's 15- or 18-character Id (Setup > Company Information)."""
    if text is None:
        return None
    try:
        return organization_id(text)
    except ValueError as error:
        raise SettingsError(
            f"SALESFORCE_ORGANIZATION_ID: {error} (Setup > Company Information > "
            "Salesforce.com Organization ID, e.g. 00D5g000004XyZ1EAK)"
        ) from None


def _customer_types(text: str | None) -> tuple[str, ...]:
    """SALESFORCE_CUSTOMER_TYPES: the Account Type picklist values (API names) that mean "customer",
    comma-separated, e.g. "Customer - Direct,Customer - Channel" (the older default picklist)."""
    if text is None:
        return DEFAULT_CUSTOMER_TYPES
    values = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not values:
        raise SettingsError(
            "SALESFORCE_CUSTOMER_TYPES: no value; give the Account Type values that mean "
            "customer, comma-separated (e.g. Customer - Direct,Customer - Channel)"
        )
    for value in values:
        # A picklist value's API name is at most 255 characters (Salesforce's picklist limits).
        if len(value) > 255 or any(ord(char) < 32 for char in value):
            raise SettingsError(f"SALESFORCE_CUSTOMER_TYPES: '{value[:40]}' is not an Account Type picklist value")
    return values


def _require_my_domain(login_url: str) -> None:
    """client_credentials is refused at the generic login hosts (GENERIC_LOGIN_HOSTS): fail at start."""
    if (urlsplit(login_url).hostname or "").lower() in GENERIC_LOGIN_HOSTS:
        raise SettingsError(
            f"SALESFORCE_LOGIN_URL: {login_url} does not take the client credentials flow "
            "(SALESFORCE_AUTH=client_credentials); set your org's My Domain login URL, e.g. "
            "https://yourcompany.my.salesforce.com (Setup > My Domain; Salesforce Help 000886201)"
        )
