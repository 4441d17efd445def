"""The Salesforce organisation (org) Id: which org's outbound messages the push path accepts."""

from __future__ import annotations

import hmac

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


def same_organisation(received: str, configured: str) -> bool:
    """Whether two Organization Ids name the same org. Both are compared in their 18-character form, so
    a 15-character setting matches Salesforce's 18-character OrganizationId while the case-sensitive 15
    characters must agree (Microsoft's receiver compares the first 15 characters the same way); in
    constant time. Anything that is not an Organization Id matches nothing."""
    try:
        left, right = organization_id(received), organization_id(configured)
    except ValueError:
        return False
    return hmac.compare_digest(left.encode(), right.encode())
