"""The validated request and the values that flow between the service and its ports."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of the request; `field` is the request's camelCase name."""

    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidRequest(ValueError):
    """The request cannot be processed; carries every field problem at once. The one field-error type
    (shared/sap/errors.py's table: rejected, the input is wrong) for the body, the query and the path alike:
    the HTTP answer is 400 `invalid_request` naming every field and its reason (functions/_http.py)."""

    kind = "rejected"
    label = "invalid request"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = errors


@dataclass(frozen=True)
class CustomerRequest:
    """A validated, normalised CreateSAPCustomer request.

    Codes are canonical: `account_id` has 18 characters, `country_code` is ISO 3166-1 alpha-2,
    `region_code` is the ISO 3166-2 subdivision code without the country prefix (e.g. "CA", "BY"),
    `language_code` is ISO 639-1 lower case, `currency_code` ISO 4217, `phone` is E.164 when it could
    be parsed. The mapping turns them into SAP's own keys.
    """

    account_id: str
    name: str
    country_code: str
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region_code: str | None = None
    phone: str | None = None
    currency_code: str | None = None
    language_code: str | None = None
    company_code: str | None = None
    sales_organization: str | None = None
    distribution_channel: str | None = None
    division: str | None = None
    reference_customer: str | None = None

    def to_payload(self) -> dict[str, str]:
        """The request again in the contract's camelCase form (what the retry message carries)."""
        names = {
            "account_id": "accountId",
            "name": "name",
            "country_code": "countryCode",
            "street": "street",
            "city": "city",
            "postal_code": "postalCode",
            "region_code": "stateCode",
            "phone": "phone",
            "currency_code": "currencyIsoCode",
            "language_code": "language",
            "company_code": "companyCode",
            "sales_organization": "salesOrganization",
            "distribution_channel": "distributionChannel",
            "division": "division",
            "reference_customer": "referenceCustomer",
        }
        # Field by field (every value is a flat string): `asdict` would deep-copy each one, a tenth of a
        # millisecond per request. A field missing from `names` still fails loudly here.
        values = ((member.name, getattr(self, member.name)) for member in fields(self))
        return {names[name]: value for name, value in values if value is not None}


@dataclass(frozen=True)
class MappingWarning:
    """A value that had to be changed to fit SAP, reported to the caller, never silent.

    `message` states the rule that changed it (e.g. "street shortened to 35 characters for SAP (STREET):
    ..."), never the value: warnings are kept in the ledger, shown by the status API, logged and written to
    the Salesforce account."""

    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}

    @classmethod
    def from_json(cls, data: object) -> MappingWarning | None:
        """The warning from its to_json form; None for anything else (a ledger written by another version)."""
        if isinstance(data, dict) and isinstance(data.get("field"), str) and isinstance(data.get("message"), str):
            return cls(data["field"], data["message"])
        return None


@dataclass(frozen=True)
class CustomerCreation:
    """Everything the SAP gateway needs for one BAPI_CUSTOMER_CREATEFROMDATA1 call.

    `parameters` holds the BAPI's import parameters by name (PI_COMPANYDATA, PI_OPT_COMPANYDATA,
    PI_COPYREFERENCE), each a dict of field name to string, exactly as pyrfc takes them. Being plain
    data, it also crosses the relay to the on-premise agent as JSON.
    """

    account_id: str
    parameters: dict[str, dict[str, str]]
    warnings: tuple[MappingWarning, ...] = field(default=())
    # Set when an earlier attempt's outcome is unknown (the line broke after the create or commit was
    # sent): the gateway then looks for a customer created since this moment before it creates one.
    search_since: datetime | None = None
    # SAP customers the search leaves out (customer_key spelling): those the ledger gives to other accounts
    # and those an operator rejected for this one (shared.core.guard). The gateway cannot see the ledger.
    excluded_customers: tuple[str, ...] = ()
