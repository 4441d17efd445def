"""The reference customers the S/4 double starts with: IDES's 1000 (Becker Berlin) and 3000 (Thomas Bush
Inc.), the same customers the RFC simulator holds (sap_simulator/records.py, ides_reference_customers),
here as Business Partners with the customer roles, their customer (same number, as a converted ECC
customer keeps its number), sales area and company code data. The product copies a reference customer's
sales area and company code values (SAP_SALES_AREAS referenceCustomer), so both back ends start alike.

Written only where missing, so a state file keeps what a run changed.
"""

from __future__ import annotations

from typing import Any

from s4_simulator.creation import PARTNER_OF_CUSTOMER
from s4_simulator.model import new_etag, partner_names
from s4_simulator.store import S4Database, Transaction
from shared.core.business_partner_facts import (
    BUSINESS_PARTNER,
    BUSINESS_PARTNER_ADDRESS,
    BUSINESS_PARTNER_ROLE,
    CUSTOMER,
    CUSTOMER_COMPANY,
    CUSTOMER_SALES_AREA,
    ROLE_CUSTOMER,
    ROLE_FI_CUSTOMER,
    EntitySetFact,
)

_REFERENCES: tuple[dict[str, Any], ...] = (
    {
        "number": "0000001000",
        "name": "Becker Berlin",
        "language": "DE",
        "address": {
            "StreetName": "Calvinstr.",
            "HouseNumber": "36",
            "PostalCode": "13467",
            "CityName": "Berlin",
            "Country": "DE",
            "Region": "11",
        },
        "address_id": "1000",
        "sales_area": {
            "SalesOrganization": "1000",
            "DistributionChannel": "10",
            "Division": "00",
            "Currency": "EUR",
            "CustomerPaymentTerms": "ZB01",
            "ShippingCondition": "01",
            "CustomerPricingProcedure": "01",
            "IncotermsClassification": "CIF",
            "IncotermsLocation1": "Berlin",
        },
        "company": {"CompanyCode": "1000", "ReconciliationAccount": "140000", "PaymentTerms": "ZB01"},
    },
    {
        "number": "0000003000",
        "name": "Thomas Bush Inc.",
        "language": "EN",
        "address": {
            "StreetName": "Lake Shore Drive",
            "HouseNumber": "4000",
            "PostalCode": "60603",
            "CityName": "Chicago",
            "Country": "US",
            "Region": "IL",
        },
        "address_id": "3000",
        "sales_area": {
            "SalesOrganization": "3000",
            "DistributionChannel": "10",
            "Division": "00",
            "Currency": "USD",
            "CustomerPaymentTerms": "0001",
            "ShippingCondition": "01",
            "CustomerPricingProcedure": "01",
            "IncotermsClassification": "FOB",
            "IncotermsLocation1": "Chicago",
        },
        "company": {"CompanyCode": "3000", "ReconciliationAccount": "120000", "PaymentTerms": "0001"},
    },
)


def _put_missing(
    tx: Transaction,
    entity_set: EntitySetFact,
    record: dict[str, Any],
    parent: tuple[str, ...] | None,
    external_id: str | None = None,
) -> None:
    key = tuple(record[name] for name in entity_set.keys)
    if tx.get(entity_set.name, key) is None:
        tx.put(entity_set.name, key, record, new_etag(), parent=parent, external_id=external_id)


def seed_reference_customers(database: S4Database) -> None:
    with database.transaction() as tx:
        for reference in _REFERENCES:
            number = reference["number"]
            partner = {
                "BusinessPartner": number,
                "Customer": number,
                "BusinessPartnerCategory": "2",
                "BusinessPartnerGrouping": "BP02",
                "OrganizationBPName1": reference["name"],
                "SearchTerm1": reference["name"].split()[0].upper()[:20],
                "CorrespondenceLanguage": reference["language"],
                "BusinessPartnerIDByExtSystem": "",
            }
            partner.update(partner_names(partner))
            _put_missing(tx, BUSINESS_PARTNER, partner, None, external_id="")
            address = {"BusinessPartner": number, "AddressID": reference["address_id"], **reference["address"]}
            _put_missing(tx, BUSINESS_PARTNER_ADDRESS, address, (number,))
            for role in (ROLE_FI_CUSTOMER, ROLE_CUSTOMER):
                _put_missing(
                    tx,
                    BUSINESS_PARTNER_ROLE,
                    {
                        "BusinessPartner": number,
                        "BusinessPartnerRole": role,
                        "ValidFrom": "/Date(784339200000)/",
                        "ValidTo": "/Date(253402214400000)/",
                    },
                    (number,),
                )
            customer = {
                "Customer": number,
                "CustomerAccountGroup": "0001",
                "CustomerName": reference["name"],
                "CustomerFullName": reference["name"].upper(),
                PARTNER_OF_CUSTOMER: number,
            }
            _put_missing(tx, CUSTOMER, customer, (number,))
            _put_missing(tx, CUSTOMER_SALES_AREA, {"Customer": number, **reference["sales_area"]}, (number,))
            _put_missing(tx, CUSTOMER_COMPANY, {"Customer": number, **reference["company"]}, (number,))
