"""The request's organizational data resolved against the configured SAP organization (SAP_SALES_AREAS,
SAP_DEFAULT_SALES_AREA, SAP_DEFAULT_LANGUAGE): the sales area, the reference customer whose data SAP copies,
and the language configured for requests that give none. Used by the mapping (shared/core/mapping.py).

Pure functions, no I/O. What cannot be resolved is a FieldError naming the request field and, where a
setting decides, the setting to change; the caller collects them into one InvalidRequest.
"""

from __future__ import annotations

import re

from shared.core.models import CustomerRequest, FieldError
from shared.core.organization import SalesArea, SapOrganization

# BAPIKNA102 (PI_COPYREFERENCE) key lengths: VKORG, VTWEG, SPART, KUNNR.
_SALES_ORGANIZATION_LENGTH = 4
_DISTRIBUTION_CHANNEL_LENGTH = 2
_DIVISION_LENGTH = 2
_CUSTOMER_NUMBER_LENGTH = 10


def sap_key(value: str | None) -> str | None:
    """Organizational keys as SAP stores them (upper case, no blanks); None when not given."""
    if value is None:
        return None
    value = value.strip().upper()
    return value or None


def resolve_sales_area(
    request: CustomerRequest, organization: SapOrganization, errors: list[FieldError]
) -> SalesArea | None:
    given = {
        "salesOrganization": (sap_key(request.sales_organization), _SALES_ORGANIZATION_LENGTH),
        "distributionChannel": (sap_key(request.distribution_channel), _DISTRIBUTION_CHANNEL_LENGTH),
        "division": (sap_key(request.division), _DIVISION_LENGTH),
    }
    company_code = sap_key(request.company_code)
    present = [name for name, (value, _) in given.items() if value is not None]

    if present and len(present) < len(given):
        for name in given:
            if name not in present:
                errors.append(
                    FieldError(name, "required: a sales area needs salesOrganization, distributionChannel and division")
                )
        return None
    if present:
        too_long = [
            FieldError(name, f"at most {length} characters (SAP key)")
            for name, (value, length) in given.items()
            if value is not None and len(value) > length
        ]
        if too_long:
            errors.extend(too_long)
            return None
        sales_organization, distribution_channel, division = (value for value, _ in given.values())
        sales_area = SalesArea(str(sales_organization), str(distribution_channel), str(division))
    elif company_code is not None:
        candidates = organization.sales_areas_of_company_code(company_code)
        if len(candidates) != 1:
            errors.append(FieldError("companyCode", _ambiguous_company_code(company_code, candidates, organization)))
            return None
        sales_area = candidates[0]
    elif organization.default_sales_area is not None:
        sales_area = organization.default_sales_area
    else:
        errors.append(
            FieldError("salesOrganization", "required: no default sales area is configured (SAP_DEFAULT_SALES_AREA)")
        )
        return None

    if company_code is not None:
        configured = _company_code_of_sales_organization(sales_area.sales_organization, organization)
        # SAP derives the company code from the sales organization (TVKO-BUKRS); the BAPI takes none,
        # so a request that names another one would silently land in the wrong company code.
        if configured is not None and configured != company_code:
            errors.append(
                FieldError(
                    "companyCode",
                    f"sales organization {sales_area.sales_organization} belongs to company code {configured}, "
                    f"not {company_code}",
                )
            )
            return None
    return sales_area


def _ambiguous_company_code(company_code: str, candidates: list[SalesArea], organization: SapOrganization) -> str:
    choose = "choose one with salesOrganization, distributionChannel and division"
    if candidates:
        listed = ", ".join(sorted(str(area) for area in candidates))
        return f"company code {company_code} has several sales areas ({listed}): {choose}"
    configured = ", ".join(sorted(str(area) for area in organization.sales_areas)) or "none"
    return (
        f"no sales area is configured for company code {company_code} in SAP_SALES_AREAS "
        f"(configured: {configured}): {choose}"
    )


def _company_code_of_sales_organization(sales_organization: str, organization: SapOrganization) -> str | None:
    # A sales organization belongs to one company code whatever the channel and division, so any
    # configured sales area of it tells.
    for area, setup in organization.sales_areas.items():
        if area.sales_organization == sales_organization and setup.company_code:
            return setup.company_code.strip().upper()
    return None


def resolve_reference_customer(
    request: CustomerRequest, organization: SapOrganization, sales_area: SalesArea | None, errors: list[FieldError]
) -> str | None:
    given = sap_key(request.reference_customer)
    if given is not None:
        return _customer_number(given, "referenceCustomer", "", errors)
    if sales_area is None:
        return None  # the sales area error already explains; without it there is nothing to look up
    setup = organization.sales_areas.get(sales_area)
    configured = sap_key(setup.reference_customer) if setup else None
    if configured is None:
        errors.append(
            FieldError(
                "referenceCustomer",
                f"required: no reference customer is configured for sales area {sales_area} (SAP_SALES_AREAS)",
            )
        )
        return None
    return _customer_number(configured, "referenceCustomer", " (configured in SAP_SALES_AREAS)", errors)


def _customer_number(value: str, field_name: str, origin: str, errors: list[FieldError]) -> str | None:
    # KUNNR's conversion exit (ALPHA) pads numeric numbers with leading zeros; pyrfc does not run
    # conversion exits, so "1000" would not find customer 0000001000.
    if len(value) > _CUSTOMER_NUMBER_LENGTH:
        errors.append(
            FieldError(
                field_name, f"is not an SAP customer number{origin}: at most {_CUSTOMER_NUMBER_LENGTH} characters"
            )
        )
        return None
    if re.fullmatch(r"[0-9]+", value):
        return value.zfill(_CUSTOMER_NUMBER_LENGTH)
    return value


def configured_language(organization: SapOrganization, sales_area: SalesArea | None) -> str | None:
    """The language (ISO 639-1) configured for requests that give none: the sales area's own
    (SAP_SALES_AREAS "language") before SAP_DEFAULT_LANGUAGE; None when neither is set."""
    setup = organization.sales_areas.get(sales_area) if sales_area is not None else None
    if setup is not None and setup.language:
        return setup.language
    return organization.default_language
