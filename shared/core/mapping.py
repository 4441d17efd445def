"""A validated CustomerRequest -> the import parameters of BAPI_CUSTOMER_CREATEFROMDATA1.

Pure functions, no I/O. What SAP cannot hold is never dropped silently: names are spread over the
four KNA1 name lines without losing a character, street and city are shortened by the documented
rules of shortening.py and every shortening is reported as a MappingWarning. Organizational data that cannot
be resolved (organizational_data.py: sales area, reference customer, configured language) is an InvalidRequest
naming each field (and the setting to change).

Warnings may carry the stored (personal) value because they go back to the caller; they are never
logged, and nothing in this module logs.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.core.models import CustomerCreation, CustomerRequest, FieldError, InvalidRequest, MappingWarning
from shared.core.organization import SapOrganization
from shared.core.organizational_data import (
    configured_language,
    resolve_reference_customer,
    resolve_sales_area,
    sap_key,
)
from shared.core.reference import default_language_for_country, sap_language_key, sap_region_code
from shared.core.sap_lengths import utf16_units
from shared.core.shortening import (  # noqa: F401 - the name rules are part of the mapping's surface
    CITY_WIDTH,
    NAME_WIDTH,
    STREET_WIDTH,
    join_name,
    shorten_city,
    shorten_street,
    split_name,
    split_name_with_separators,
)

# BAPIKNA106 (PI_COMPANYDATA): the fields the mapping fills, with the widths it shortens to when the
# live metadata allows at least that much. They are KNA1's widths (NAME1..4, ORT01, STRAS are 35
# characters), the narrowest table the BAPI writes the customer to; a wider BAPIKNA106 field (the
# central address allows 40 and 60) would be cut in KNA1 without a word. The rfc adapter reads the
# real lengths from SAP (`SapInterface.company_data_lengths`); the mapping uses the smaller of the two.
# Lengths count UTF-16 code units, as a Unicode SAP system does (shared/core/sap_lengths.py).
COMPANY_DATA_LENGTHS: dict[str, int] = {
    "NAME": NAME_WIDTH,
    "NAME_2": NAME_WIDTH,
    "NAME_3": NAME_WIDTH,
    "NAME_4": NAME_WIDTH,
    "CITY": CITY_WIDTH,
    "POSTL_COD1": 10,
    "STREET": STREET_WIDTH,
    "COUNTRY": 3,
    "COUNTRYISO": 2,
    "REGION": 3,
    "LANGU": 1,
    "LANGU_ISO": 2,
    "CURRENCY": 5,
    "CURRENCY_ISO": 3,
    "TEL1_NUMBR": 30,
    "TEL1_EXT": 10,
}
# Every PI_COMPANYDATA field the mapping may send (the rfc adapter checks each against SAP's metadata).
COMPANY_DATA_FIELDS: tuple[str, ...] = tuple(COMPANY_DATA_LENGTHS)
# BAPIKNA102 (PI_COPYREFERENCE): sales organization, distribution channel, division, reference customer.
COPY_REFERENCE_FIELDS: tuple[str, ...] = ("SALESORG", "DISTR_CHAN", "DIVISION", "REF_CUSTMR")
NAME_FIELDS = ("NAME", "NAME_2", "NAME_3", "NAME_4")


def effective_lengths(live_lengths: Mapping[str, int] | None) -> dict[str, int]:
    """The widths the mapping shortens to: the smaller of ours and the live system's, per field."""
    if not live_lengths:
        return dict(COMPANY_DATA_LENGTHS)
    return {name: min(width, live_lengths.get(name, width)) for name, width in COMPANY_DATA_LENGTHS.items()}


# --------------------------------------------------------------------------- the mapping


def map_customer_request(
    request: CustomerRequest, organization: SapOrganization, live_lengths: Mapping[str, int] | None = None
) -> CustomerCreation:
    """The BAPI_CUSTOMER_CREATEFROMDATA1 parameters for one validated request.

    `live_lengths` are the PI_COMPANYDATA lengths the live system reported (the rfc adapter's
    metadata check); values are shortened to the smaller of those and COMPANY_DATA_LENGTHS.
    Raises InvalidRequest (every field problem at once) when the sales area or the reference
    customer cannot be resolved or a value cannot be stored in SAP at all.
    """
    lengths = effective_lengths(live_lengths)
    errors: list[FieldError] = []
    warnings: list[MappingWarning] = []

    sales_area = resolve_sales_area(request, organization, errors)
    reference_customer = resolve_reference_customer(request, organization, sales_area, errors)
    company_data = _company_data(request, lengths, configured_language(organization, sales_area), errors, warnings)
    if errors:
        raise InvalidRequest(errors)
    assert sales_area is not None and reference_customer is not None  # no errors means both resolved

    return CustomerCreation(
        account_id=request.account_id,
        parameters={
            "PI_COMPANYDATA": company_data,
            # Everything optional (transport zone, reconciliation account, payment terms, ...) is
            # copied from the reference customer; the empty structure keeps the parameter shape explicit.
            "PI_OPT_COMPANYDATA": {},
            "PI_COPYREFERENCE": dict(
                zip(
                    COPY_REFERENCE_FIELDS,
                    (
                        sales_area.sales_organization,
                        sales_area.distribution_channel,
                        sales_area.division,
                        reference_customer,
                    ),
                    strict=True,
                )
            ),
        },
        warnings=tuple(warnings),
    )


def _company_data(
    request: CustomerRequest,
    lengths: Mapping[str, int],
    configured_language: str | None,
    errors: list[FieldError],
    warnings: list[MappingWarning],
) -> dict[str, str]:
    data: dict[str, str] = {}
    name_width = min(lengths[field_name] for field_name in NAME_FIELDS)
    try:
        name_lines = split_name(request.name, name_width)
    except ValueError:
        errors.append(
            FieldError(
                "name",
                f"at most {name_width * len(NAME_FIELDS)} characters for SAP "
                f"({len(NAME_FIELDS)} name lines of {name_width}), counted in UTF-16 "
                "units as SAP and Salesforce count: an emoji takes 2 and stays whole "
                "on its line",
            )
        )
        name_lines = []
    if not request.name.strip():
        errors.append(FieldError("name", "required"))
    data.update((field_name, line) for field_name, line in zip(NAME_FIELDS, name_lines, strict=False) if line)

    if request.street:
        street, shortened = shorten_street(request.street, lengths["STREET"])
        if street:
            data["STREET"] = street
        if shortened:
            warnings.append(
                _shortened(
                    "street",
                    "STREET",
                    lengths,
                    "street types abbreviated and, if still too long, cut after the last whole word that fits",
                )
            )
    if request.city:
        city, shortened = shorten_city(request.city, lengths["CITY"])
        if city:
            data["CITY"] = city
        if shortened:
            warnings.append(_shortened("city", "CITY", lengths, "cut after the last whole word that fits"))

    postal_code = (request.postal_code or "").strip()
    if utf16_units(postal_code) > lengths["POSTL_COD1"]:
        errors.append(FieldError("postalCode", f"at most {lengths['POSTL_COD1']} characters for SAP (POSTL_COD1)"))
    elif postal_code:
        data["POSTL_COD1"] = postal_code

    country = request.country_code.strip().upper()
    if len(country) != COMPANY_DATA_LENGTHS["COUNTRYISO"]:
        errors.append(FieldError("countryCode", "expected an ISO 3166-1 alpha-2 code"))
        return data
    region_suffix = sap_key(request.region_code)
    if region_suffix is not None:
        # SAP's region keys (T005S) are mostly the ISO suffix; where they are not (Germany's are
        # "01".."16"), the reference table knows the SAP key.
        region = sap_region_code(country, region_suffix) or region_suffix
        if len(region) > lengths["REGION"]:
            errors.append(FieldError("stateCode", "is a region SAP has no region key for (REGION)"))
        else:
            data["REGION"] = region
    # Standard customising keys countries by their ISO code, so COUNTRY and COUNTRYISO agree.
    data["COUNTRY"] = country
    data["COUNTRYISO"] = country

    _add_language(request, country, configured_language, data, errors)

    currency = sap_key(request.currency_code)
    if currency is not None:
        if len(currency) > lengths["CURRENCY_ISO"]:
            errors.append(FieldError("currencyIsoCode", "expected an ISO 4217 code"))
        else:
            # Standard customising keys currencies (TCURC) by their ISO code too.
            data["CURRENCY"] = currency
            data["CURRENCY_ISO"] = currency

    # Validation writes an extension the way RFC 3966 does ("+4989123;ext=45"); SAP keeps it apart.
    number, _, extension = (request.phone or "").strip().partition(";ext=")
    if utf16_units(number) > lengths["TEL1_NUMBR"]:
        warnings.append(
            MappingWarning(
                "phone",
                f"phone not passed to SAP: longer than the {lengths['TEL1_NUMBR']} characters SAP holds (TEL1_NUMBR)",
            )
        )
    elif number:
        data["TEL1_NUMBR"] = number
        if utf16_units(extension) > lengths["TEL1_EXT"]:
            warnings.append(
                MappingWarning(
                    "phone",
                    f"phone extension not passed to SAP: longer than the {lengths['TEL1_EXT']} characters SAP "
                    "holds (TEL1_EXT)",
                )
            )
        elif extension:
            data["TEL1_EXT"] = extension

    return data


def _add_language(
    request: CustomerRequest, country: str, configured: str | None, data: dict[str, str], errors: list[FieldError]
) -> None:
    """LANGU and LANGU_ISO, always both or an error: SAP's documentation of the create BAPIs says "a
    language key in R/3 format or ISO 639 standard must also be transferred to the BAPI" (stechno.net,
    BAPI_CUSTOMER_CREATEFROMDATA, Notes; its successor CREATEFROMDATA1 checks it in SD_CUSTOMER_CHECK_1).

    In order: the request's language, the country's usual language (shared/core/reference/country_languages.json), the
    configured one (the sales area's, then SAP_DEFAULT_LANGUAGE). Nothing: a field error, never a create
    without a language."""
    requested = (request.language_code or "").strip().lower()
    if requested:
        try:
            data["LANGU"] = sap_language_key(requested)
        except KeyError:
            errors.append(FieldError("language", "is a language SAP has no language key for"))
            return
        data["LANGU_ISO"] = requested.upper()
        return
    # The settings accept only languages SAP has a key for; a country's usual language without one is skipped.
    for language in (default_language_for_country(country), configured):
        if not language:
            continue
        try:
            data["LANGU"] = sap_language_key(language)
        except KeyError:
            continue
        data["LANGU_ISO"] = language.upper()
        return
    errors.append(
        FieldError(
            "language",
            f"required: the request has none, {country} has no usual language in our table, and no "
            'default is configured (SAP_DEFAULT_LANGUAGE, or a sales area\'s "language" in SAP_SALES_AREAS)',
        )
    )


def _shortened(request_field: str, sap_field: str, lengths: Mapping[str, int], how: str) -> MappingWarning:
    # The rule, never the value: a warning is kept in the ledger, shown by the status API, logged and
    # written to the account in Salesforce, and a street or city may be personal data.
    width = lengths[sap_field]
    return MappingWarning(
        request_field, f"{request_field} shortened to {width} characters for SAP ({sap_field}): {how}"
    )
