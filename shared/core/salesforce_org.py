"""The Salesforce organization (org): its Id (which org's outbound messages the push path accepts), and
how this app logs in to it (`SalesforceSettings`, the Salesforce adapter's settings: shared/settings/
fills them from the environment and the composition root hands them to the adapter, which reads no
settings of its own; declared here, below both, so neither imports the other)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from enum import StrEnum

from shared.core.account_fields import DEFAULT_CUSTOMER_TYPES
from shared.core.salesforce_id import InvalidSalesforceId, normalize_salesforce_id

# Organization Ids are Salesforce Ids with this key prefix (Setup > Company Information shows the
# 15-character form; the OrganizationId of an outbound message is the 18-character form, ent:ID).
ORGANIZATION_KEY_PREFIX = "00D"


def organization_id(text: str) -> str:
    """The 18-character form of an Organization Id (15 or 18 characters, key prefix 00D); ValueError otherwise."""
    try:
        return normalize_salesforce_id(text, key_prefix=ORGANIZATION_KEY_PREFIX)
    except InvalidSalesforceId as error:
        raise ValueError(str(error)) from None


def same_organization(received: str, configured: str) -> bool:
    """Whether two Organization Ids name the same org. Both are compared in their 18-character form, so
    a 15-character setting matches Salesforce's 18-character OrganizationId while the case-sensitive 15
    characters must agree (Microsoft's receiver compares the first 15 characters the same way); in
    constant time. Anything that is not an Organization Id matches nothing."""
    try:
        left, right = organization_id(received), organization_id(configured)
    except ValueError:
        return False
    return hmac.compare_digest(left.encode(), right.encode())


class SalesforceAuth(StrEnum):
    CLIENT_CREDENTIALS = "client_credentials"
    JWT = "jwt"
    PASSWORD = "password"


# Salesforce's generic login hosts. The OAuth client credentials flow "doesn't support calls to
# login.salesforce.com or test.salesforce.com": it needs the org's My Domain login URL (Salesforce Help
# 000886201, "Migrate from OAuth Username-Password to Client Credentials Flow").
GENERIC_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
# Same article, and Help 005461976: Salesforce is retiring the OAuth username-password flow.
# Worded without a "password: ..." or "password=..." pair, which shared/log.py would mask as a secret.
PASSWORD_FLOW_DEPRECATED = (
    "Salesforce is retiring the OAuth username-password flow that SALESFORCE_AUTH "
    "password uses (Salesforce Help 000886201); move to client_credentials with your "
    "My Domain login URL in SALESFORCE_LOGIN_URL, or to jwt"
)


@dataclass(frozen=True)
class SalesforceSettings:
    auth: SalesforceAuth | None = None
    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    api_version: str = "61.0"
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    # A CA bundle for Salesforce's TLS certificate only (a test double or a TLS-inspecting proxy);
    # the rest of the app keeps the system's CAs.
    ca_bundle: str | None = None
    # The org whose outbound messages the push path accepts (18-character form); None: it accepts none.
    organization_id: str | None = None
    # The Account Type values that mean "customer" (SALESFORCE_CUSTOMER_TYPES): the push path's and the
    # reconcile's test, as the Salesforce and Power Automate flows have it.
    customer_types: tuple[str, ...] = DEFAULT_CUSTOMER_TYPES
