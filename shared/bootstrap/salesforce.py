"""The composition root's Salesforce part of the go-live check (issue 24): the org inspector built from the
settings (the adapter reads none itself) and what the settings expect of the org.

`app_url` is this app's base URL (https://APP.azurewebsites.net), which no setting of the app holds: the
operations command passes it (its option), so the outbound message's endpoint can be compared with it; without
it the outbound message check fails closed, saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.core.preflight_salesforce import SalesforceExpectations
from shared.settings import Settings

if TYPE_CHECKING:
    import requests

    from shared.usecases.preflight.salesforce import SalesforcePreflightParts


def salesforce_expectations(config: Settings, app_url: str | None = None) -> SalesforceExpectations:
    salesforce = config.salesforce
    return SalesforceExpectations(
        auth=salesforce.auth.value if salesforce.auth is not None else None,
        login_url=salesforce.login_url,
        api_version=salesforce.api_version,
        customer_types=salesforce.customer_types,
        writeback=config.writeback.value,
        push_path=salesforce.organization_id is not None,
        app_url=app_url.rstrip("/") if app_url else None,
        integration_username=salesforce.username,
    )


def salesforce_preflight_parts(
    config: Settings, *, app_url: str | None = None, session: requests.Session | None = None
) -> SalesforcePreflightParts:
    """The Salesforce checks' parts: the org (None when SALESFORCE_AUTH is not set) and the expectations.
    `session`: a requests session of the caller's (tests: one that trusts the fake Salesforce)."""
    from shared.usecases.preflight.salesforce import SalesforcePreflightParts

    expected = salesforce_expectations(config, app_url)
    if config.salesforce.auth is None:
        return SalesforcePreflightParts(org=None, expected=expected)
    from shared.salesforce.org_inspector import SimpleSalesforceOrgInspector

    return SalesforcePreflightParts(
        org=SimpleSalesforceOrgInspector(config.salesforce, session=session), expected=expected
    )
