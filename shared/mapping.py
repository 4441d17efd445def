"""A validated CustomerRequest -> the import parameters of BAPI_CUSTOMER_CREATEFROMDATA1.

Pure functions, no I/O. What SAP cannot hold is never dropped silently: names are spread over the
four KNA1 name lines without losing a character, street and city are shortened by the documented
rules below and every shortening is reported as a MappingWarning. Organisational data that cannot
be resolved is an InvalidCustomerRequest naming each field (and the setting to change).

Warnings may carry the stored (personal) value because they go back to the caller; they are never
logged, and nothing in this module logs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.models import CustomerCreation, CustomerRequest, FieldError, InvalidCustomerRequest, MappingWarning
from shared.reference import default_language_for_country, sap_language_key, sap_region_code
from shared.settings import SalesArea, SapOrganisation, SettingsError

# BAPIKNA106 (PI_COMPANYDATA): the fields the mapping fills, with their lengths in characters.
COMPANY_DATA_LENGTHS: dict[str, int] = {
    "NAME": 35,
    "NAME_2": 35,
    "NAME_3": 35,
    "NAME_4": 35,
    "CITY": 35,
    "POSTL_COD1": 10,
    "STREET": 35,
    "COUNTRY": 3,
    "COUNTRYISO": 2,
    "REGION": 3,
    "LANGU": 1,
    "LANGU_ISO": 2,
    "CURRENCY": 5,
    "CURRENCY_ISO": 3,
    "TEL1_NUMBR": 30,
    "TEL1_EXT": 10,
    "SORT1": 20,
    "SORT2": 20,
}
NAME_FIELDS = ("NAME", "NAME_2", "NAME_3", "NAME_4")
NAME_WIDTH = 35
SORT1_WIDTH = COMPANY_DATA_LENGTHS["SORT1"]

# BAPIKNA102 (PI_COPYREFERENCE) key lengths: VKORG, VTWEG, SPART, KUNNR.
_SALES_ORGANIZATION_LENGTH = 4
_DISTRIBUTION_CHANNEL_LENGTH = 2
_DIVISION_LENGTH = 2
_CUSTOMER_NUMBER_LENGTH = 10

# A Salesforce Id has 18 characters; the field that carries it must hold them all, and must not
# be a name line (the name may need all four).
_ACCOUNT_ID_LENGTH = 18
ACCOUNT_ID_FIELDS = tuple(
    name for name, length in COMPANY_DATA_LENGTHS.items()
    if length >= _ACCOUNT_ID_LENGTH and name not in NAME_FIELDS
)

# The request fields (camelCase, as the caller knows them) that feed each shortened SAP field.
_REQUEST_FIELD_OF = {"STREET": "street", "CITY": "city", "TEL1_NUMBR": "phone"}


# --------------------------------------------------------------------------- names


def split_name_with_separators(name: str, width: int = NAME_WIDTH, lines: int = 4) -> tuple[list[str], list[str]]:
    """The name as at most `lines` parts of at most `width` characters, and what each break consumed.

    `separators[i]` is what was taken out between `parts[i]` and `parts[i + 1]`: " " when the break
    fell on a space, "" when a word was cut, so `join_name(parts, separators) == name` always.

    Rule: fill lines word by word; a word longer than `width` starts a new line and is cut every
    `width` characters. If that needs more than `lines` lines, cut the whole name every `width`
    characters instead (4 x 35 = 140 always fits); a space that falls on such a cut is consumed as
    the break, so no part starts or ends with a blank (SAP would drop a trailing one).
    Raises ValueError if even that does not fit (the name is longer than width x lines).
    """
    parts, separators = _split_on_words(name, width)
    if len(parts) > lines:
        parts, separators = _split_hard(name, width)
    if len(parts) > lines:
        raise ValueError(f"a name of {len(name)} characters does not fit {lines} lines of {width}")
    return parts, separators


def split_name(name: str, width: int = NAME_WIDTH, lines: int = 4) -> list[str]:
    """The name over SAP's name lines (NAME, NAME_2, ...); see split_name_with_separators for the rule."""
    return split_name_with_separators(name, width, lines)[0]


def join_name(parts: Sequence[str], separators: Sequence[str]) -> str:
    """The inverse of split_name_with_separators: the name exactly as it was before the split."""
    if len(separators) != max(len(parts) - 1, 0):
        raise ValueError("expected one separator between each two parts")
    joined = parts[0] if parts else ""
    for separator, part in zip(separators, parts[1:], strict=True):
        joined += separator + part
    return joined


def _split_on_words(name: str, width: int) -> tuple[list[str], list[str]]:
    parts: list[str] = []
    separators: list[str] = []
    current: str | None = None
    for word in name.split(" "):
        pieces = [word[start:start + width] for start in range(0, len(word), width)] or [""]
        for piece_index, piece in enumerate(pieces):
            if current is None:
                current = piece
            elif piece_index == 0 and len(current) + 1 + len(piece) <= width:
                current = f"{current} {piece}"
            else:
                parts.append(current)
                # A new word consumed the space before it; the rest of a cut word consumed nothing.
                separators.append(" " if piece_index == 0 else "")
                current = piece
    parts.append(current or "")
    return parts, separators


def _split_hard(name: str, width: int) -> tuple[list[str], list[str]]:
    parts: list[str] = []
    separators: list[str] = []
    position = 0
    while True:
        chunk = name[position:position + width]
        position += len(chunk)
        if position >= len(name):
            parts.append(chunk)
            return parts, separators
        separator = ""
        if name[position] == " ":
            separator = " "
            position += 1
        elif chunk.endswith(" "):
            separator = " "
            chunk = chunk[:-1]
        parts.append(chunk)
        separators.append(separator)


# --------------------------------------------------------------------------- street and city

# Applied word-wise to a street that does not fit, before anything is cut. Postal-service
# abbreviations that a carrier and a reader both recognise; directions (North, West) are left
# alone because they are as often part of a street's proper name.
_STREET_ABBREVIATIONS = {
    "street": "St.",
    "avenue": "Ave.",
    "boulevard": "Blvd.",
    "road": "Rd.",
    "drive": "Dr.",
    "lane": "Ln.",
    "court": "Ct.",
    "place": "Pl.",
    "square": "Sq.",
    "highway": "Hwy.",
    "parkway": "Pkwy.",
    "suite": "Ste.",
    "building": "Bldg.",
    "floor": "Fl.",
    "apartment": "Apt.",
    "straße": "Str.",
    "strasse": "Str.",
}
# Whole words only, never followed by a dot already ("Street." must not become "St..").
_ABBREVIATION_PATTERN = re.compile(
    r"\b(" + "|".join(sorted(_STREET_ABBREVIATIONS, key=len, reverse=True)) + r")\b(?!\.)", re.IGNORECASE
)
# German compounds carry the street type as a suffix: Bahnhofstraße -> Bahnhofstr.
_GERMAN_STREET_SUFFIX = re.compile(r"(?<=\w)(stra(?:ß|ss)e)\b(?!\.)", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def shorten_street(street: str, width: int = COMPANY_DATA_LENGTHS["STREET"]) -> tuple[str, bool]:
    """The street as SAP's one-line STREET field holds it, and whether it had to be shortened.

    Rule: lines become one line joined by ", " (always: STREET has one line); if that is longer than
    `width`, the street types in _STREET_ABBREVIATIONS are abbreviated; if still too long, it is cut
    at the last word boundary that fits (a single word longer than `width` is cut at `width`).
    """
    lines = [" ".join(line.split()) for line in _LINE_BREAK.split(street)]
    one_line = ", ".join(line for line in lines if line)
    if len(one_line) <= width:
        return one_line, False
    abbreviated = _ABBREVIATION_PATTERN.sub(lambda match: _STREET_ABBREVIATIONS[match.group(1).lower()], one_line)
    abbreviated = _GERMAN_STREET_SUFFIX.sub(lambda match: match.group(1)[:3] + ".", abbreviated)
    return _cut_at_word_boundary(abbreviated, width), True


def shorten_city(city: str, width: int = COMPANY_DATA_LENGTHS["CITY"]) -> tuple[str, bool]:
    """The city cut at the last word boundary that fits `width`, and whether it had to be cut."""
    one_line = " ".join(city.split())
    if len(one_line) <= width:
        return one_line, False
    return _cut_at_word_boundary(one_line, width), True


def _cut_at_word_boundary(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    boundary = text.rfind(" ", 0, width + 1)
    cut = text[:boundary] if boundary > 0 else text[:width]
    # "Main St. 1, Building 5," reads better without the dangling separator.
    return cut.rstrip(" ,;-/") or text[:width]


# --------------------------------------------------------------------------- the mapping


def map_customer_request(request: CustomerRequest, organisation: SapOrganisation) -> CustomerCreation:
    """The BAPI_CUSTOMER_CREATEFROMDATA1 parameters for one validated request.

    Raises InvalidCustomerRequest (every field problem at once) when the sales area or the reference
    customer cannot be resolved or a value cannot be stored in SAP at all, and SettingsError when
    SAP_ACCOUNT_ID_FIELD names a field that cannot carry the account Id.
    """
    account_id_field = _account_id_field(organisation)
    errors: list[FieldError] = []
    warnings: list[MappingWarning] = []

    sales_area = _resolve_sales_area(request, organisation, errors)
    reference_customer = _resolve_reference_customer(request, organisation, sales_area, errors)
    company_data = _company_data(request, errors, warnings)
    if errors:
        raise InvalidCustomerRequest(errors)
    assert sales_area is not None and reference_customer is not None  # no errors means both resolved

    replaced = company_data.get(account_id_field)
    if replaced and account_id_field in _REQUEST_FIELD_OF:
        # The duplicate guard cannot work without the Id, so the Id wins over request data; say so.
        warnings.append(MappingWarning(
            _REQUEST_FIELD_OF[account_id_field],
            f"not passed to SAP: {account_id_field} carries the Salesforce account Id (SAP_ACCOUNT_ID_FIELD)",
        ))
    # SORT1 is derived from the name only for SAP's search help; if it is configured to carry the
    # Id, the Id wins because the guard that prevents a second customer depends on it.
    company_data[account_id_field] = request.account_id

    return CustomerCreation(
        account_id=request.account_id,
        parameters={
            "PI_COMPANYDATA": company_data,
            # Everything optional (transport zone, reconciliation account, payment terms, ...) is
            # copied from the reference customer; the empty structure keeps the parameter shape explicit.
            "PI_OPT_COMPANYDATA": {},
            "PI_COPYREFERENCE": {
                "SALESORG": sales_area.sales_organization,
                "DISTR_CHAN": sales_area.distribution_channel,
                "DIVISION": sales_area.division,
                "REF_CUSTMR": reference_customer,
            },
        },
        warnings=tuple(warnings),
        account_id_field=account_id_field,
    )


def _account_id_field(organisation: SapOrganisation) -> str:
    field_name = organisation.account_id_field.strip().upper()
    if field_name not in ACCOUNT_ID_FIELDS:
        raise SettingsError(
            f"SAP_ACCOUNT_ID_FIELD: '{organisation.account_id_field}' cannot carry an 18-character account Id; "
            f"use one of {', '.join(ACCOUNT_ID_FIELDS)}"
        )
    return field_name


def _sap_key(value: str | None) -> str | None:
    """Organisational keys as SAP stores them (upper case, no blanks); None when not given."""
    if value is None:
        return None
    value = value.strip().upper()
    return value or None


def _resolve_sales_area(request: CustomerRequest, organisation: SapOrganisation,
                        errors: list[FieldError]) -> SalesArea | None:
    given = {
        "salesOrganization": (_sap_key(request.sales_organization), _SALES_ORGANIZATION_LENGTH),
        "distributionChannel": (_sap_key(request.distribution_channel), _DISTRIBUTION_CHANNEL_LENGTH),
        "division": (_sap_key(request.division), _DIVISION_LENGTH),
    }
    company_code = _sap_key(request.company_code)
    present = [name for name, (value, _) in given.items() if value is not None]

    if present and len(present) < len(given):
        for name in given:
            if name not in present:
                errors.append(FieldError(
                    name, "required: a sales area needs salesOrganization, distributionChannel and division"))
        return None
    if present:
        too_long = [FieldError(name, f"at most {length} characters (SAP key)")
                    for name, (value, length) in given.items() if value is not None and len(value) > length]
        if too_long:
            errors.extend(too_long)
            return None
        sales_organization, distribution_channel, division = (value for value, _ in given.values())
        sales_area = SalesArea(str(sales_organization), str(distribution_channel), str(division))
    elif company_code is not None:
        candidates = organisation.sales_areas_of_company_code(company_code)
        if len(candidates) != 1:
            errors.append(FieldError("companyCode", _ambiguous_company_code(company_code, candidates, organisation)))
            return None
        sales_area = candidates[0]
    elif organisation.default_sales_area is not None:
        sales_area = organisation.default_sales_area
    else:
        errors.append(FieldError(
            "salesOrganization", "required: no default sales area is configured (SAP_DEFAULT_SALES_AREA)"))
        return None

    if company_code is not None:
        configured = _company_code_of_sales_organization(sales_area.sales_organization, organisation)
        # SAP derives the company code from the sales organisation (TVKO-BUKRS); the BAPI takes none,
        # so a request that names another one would silently land in the wrong company code.
        if configured is not None and configured != company_code:
            errors.append(FieldError(
                "companyCode",
                f"sales organization {sales_area.sales_organization} belongs to company code {configured}, "
                f"not {company_code}",
            ))
            return None
    return sales_area


def _ambiguous_company_code(company_code: str, candidates: list[SalesArea], organisation: SapOrganisation) -> str:
    choose = "choose one with salesOrganization, distributionChannel and division"
    if candidates:
        listed = ", ".join(sorted(str(area) for area in candidates))
        return f"company code {company_code} has several sales areas ({listed}): {choose}"
    configured = ", ".join(sorted(str(area) for area in organisation.sales_areas)) or "none"
    return (f"no sales area is configured for company code {company_code} in SAP_SALES_AREAS "
            f"(configured: {configured}): {choose}")


def _company_code_of_sales_organization(sales_organization: str, organisation: SapOrganisation) -> str | None:
    # A sales organisation belongs to one company code whatever the channel and division, so any
    # configured sales area of it tells.
    for area, setup in organisation.sales_areas.items():
        if area.sales_organization == sales_organization and setup.company_code:
            return setup.company_code.strip().upper()
    return None


def _resolve_reference_customer(request: CustomerRequest, organisation: SapOrganisation,
                                sales_area: SalesArea | None, errors: list[FieldError]) -> str | None:
    given = _sap_key(request.reference_customer)
    if given is not None:
        return _customer_number(given, "referenceCustomer", "", errors)
    if sales_area is None:
        return None  # the sales area error already explains; without it there is nothing to look up
    setup = organisation.sales_areas.get(sales_area)
    configured = _sap_key(setup.reference_customer) if setup else None
    if configured is None:
        errors.append(FieldError(
            "referenceCustomer",
            f"required: no reference customer is configured for sales area {sales_area} (SAP_SALES_AREAS)",
        ))
        return None
    return _customer_number(configured, "referenceCustomer", " (configured in SAP_SALES_AREAS)", errors)


def _customer_number(value: str, field_name: str, origin: str, errors: list[FieldError]) -> str | None:
    # KUNNR's conversion exit (ALPHA) pads numeric numbers with leading zeros; pyrfc does not run
    # conversion exits, so "1000" would not find customer 0000001000.
    if len(value) > _CUSTOMER_NUMBER_LENGTH:
        errors.append(FieldError(field_name, f"'{value}'{origin} is not an SAP customer number: "
                                             f"at most {_CUSTOMER_NUMBER_LENGTH} characters"))
        return None
    if re.fullmatch(r"[0-9]+", value):
        return value.zfill(_CUSTOMER_NUMBER_LENGTH)
    return value


def _company_data(request: CustomerRequest, errors: list[FieldError],
                  warnings: list[MappingWarning]) -> dict[str, str]:
    data: dict[str, str] = {}
    try:
        name_lines = split_name(request.name)
    except ValueError:
        errors.append(FieldError("name", f"at most {NAME_WIDTH * len(NAME_FIELDS)} characters"))
        name_lines = []
    if not request.name.strip():
        errors.append(FieldError("name", "required"))
    data.update((field_name, line) for field_name, line in zip(NAME_FIELDS, name_lines, strict=False) if line)

    if request.street:
        street, shortened = shorten_street(request.street)
        if street:
            data["STREET"] = street
        if shortened:
            warnings.append(_shortened("street", "STREET", street))
    if request.city:
        city, shortened = shorten_city(request.city)
        if city:
            data["CITY"] = city
        if shortened:
            warnings.append(_shortened("city", "CITY", city))

    postal_code = (request.postal_code or "").strip()
    if len(postal_code) > COMPANY_DATA_LENGTHS["POSTL_COD1"]:
        errors.append(FieldError("postalCode", f"at most {COMPANY_DATA_LENGTHS['POSTL_COD1']} characters "
                                               "for SAP (POSTL_COD1)"))
    elif postal_code:
        data["POSTL_COD1"] = postal_code

    country = request.country_code.strip().upper()
    if len(country) != COMPANY_DATA_LENGTHS["COUNTRYISO"]:
        errors.append(FieldError("countryCode", "expected an ISO 3166-1 alpha-2 code"))
        return data
    region_suffix = _sap_key(request.region_code)
    if region_suffix is not None:
        # SAP's region keys (T005S) are mostly the ISO suffix; where they are not (Germany's are
        # "01".."16"), the reference table knows the SAP key.
        region = sap_region_code(country, region_suffix) or region_suffix
        if len(region) > COMPANY_DATA_LENGTHS["REGION"]:
            errors.append(FieldError("stateCode", f"SAP has no region key for {country}-{region_suffix}"))
        else:
            data["REGION"] = region
    # Standard customising keys countries by their ISO code, so COUNTRY and COUNTRYISO agree.
    data["COUNTRY"] = country
    data["COUNTRYISO"] = country

    _add_language(request, country, data, errors)

    currency = _sap_key(request.currency_code)
    if currency is not None:
        if len(currency) > COMPANY_DATA_LENGTHS["CURRENCY_ISO"]:
            errors.append(FieldError("currencyIsoCode", "expected an ISO 4217 code"))
        else:
            # Standard customising keys currencies (TCURC) by their ISO code too.
            data["CURRENCY"] = currency
            data["CURRENCY_ISO"] = currency

    phone = (request.phone or "").strip()
    if len(phone) > COMPANY_DATA_LENGTHS["TEL1_NUMBR"]:
        warnings.append(MappingWarning(
            "phone", f"not passed to SAP: longer than the {COMPANY_DATA_LENGTHS['TEL1_NUMBR']} characters "
                     "SAP holds (TEL1_NUMBR)"))
    elif phone:
        # Validation writes an extension the way RFC 3966 does ("+4989123;ext=45"); SAP keeps it apart.
        number, _, extension = phone.partition(";ext=")
        data["TEL1_NUMBR"] = number
        if extension:
            data["TEL1_EXT"] = extension[: COMPANY_DATA_LENGTHS["TEL1_EXT"]]

    # Search term 1 is what SAP users search customers by in the F4 help and reports (the dialog
    # transaction asks for it); the BAPI does not derive it, so fill it the usual way: the name in
    # upper case, cut to the field.
    sort1 = request.name.upper()[:SORT1_WIDTH].rstrip()
    if sort1:
        data["SORT1"] = sort1
    return data


def _add_language(request: CustomerRequest, country: str, data: dict[str, str], errors: list[FieldError]) -> None:
    requested = (request.language_code or "").strip().lower()
    if requested:
        try:
            data["LANGU"] = sap_language_key(requested)
        except KeyError:
            errors.append(FieldError("language", f"SAP has no language key for '{requested}'"))
            return
        data["LANGU_ISO"] = requested.upper()
        return
    default = default_language_for_country(country).strip().lower()
    try:
        data["LANGU"] = sap_language_key(default)
    except KeyError:
        return  # SAP then takes the reference customer's language; the request asked for none
    data["LANGU_ISO"] = default.upper()


def _shortened(request_field: str, sap_field: str, stored: str) -> MappingWarning:
    width = COMPANY_DATA_LENGTHS[sap_field]
    return MappingWarning(request_field, f"{request_field} shortened to {width} characters for SAP ({sap_field}): "
                                         f"stored '{stored}'")
