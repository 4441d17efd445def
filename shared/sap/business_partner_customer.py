"""What the Business Partner gateway (shared/sap/business_partner.py) does inside one unit of work besides the
deep insert: the duplicate guard's look-up by BusinessPartnerIDByExtSystem, reading CVI's customer number
back, and the customer's sales area and company code data, copied from the reference customer as the BAPI
copied them (SAP_SALES_AREAS' referenceCustomer; the service itself copies nothing)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.core.business_partner_mapping import BUSINESS_PARTNER, COMPANY, SALES_AREA, BusinessPartnerDraft
from shared.core.guard import customer_key
from shared.core.models import CustomerCreation
from shared.sap.business_partner_http import ODataSession
from shared.sap.business_partner_metadata import (
    COMPANY_KEYS,
    REFERENCE_COMPANY_PROPERTIES,
    REFERENCE_SALES_AREA_PROPERTIES,
    SALES_AREA_KEYS,
)
from shared.sap.errors import SapBusinessRejection, SapConfigurationError, SapNeedsReview
from shared.sap.port import SapMessage

# More hits than this are not listed one by one; any second hit is held for review anyway.
GUARD_PAGE = 6
# The reference customer's data is customising-like: read again after this long.
REFERENCE_CACHE_SECONDS = 600.0


@dataclass
class Unit:
    """One unit of work: its session, when it must end (time.monotonic()), whether anything that may create
    was sent (from then on a broken line leaves the outcome unknown), and whether the account's partner exists."""

    session: ODataSession
    deadline: float
    create_sent: bool = False
    # A partner for the account exists in SAP (created or adopted in this unit): whatever fails after this,
    # SAP holds it, so every error says the outcome is unknown (a rejection of its sales area data included).
    partner_exists: bool = False


def earlier_partners(unit: Unit, creation: CustomerCreation, draft: BusinessPartnerDraft) -> list[tuple[str, str]]:
    """(Business Partner, customer) of every partner carrying the account's external id, but those the request
    excludes (other accounts' customers, or ones an operator rejected). The GET fetches the CSRF token too."""
    literal = draft.external_id.replace("'", "''")
    try:
        answer = unit.session.get(
            BUSINESS_PARTNER,
            deadline=unit.deadline,
            fetch_token=True,
            params={
                "$filter": f"BusinessPartnerIDByExtSystem eq '{literal}'",
                "$select": "BusinessPartner,Customer",
                "$top": str(GUARD_PAGE),
            },
        )
    except SapBusinessRejection as error:
        # The service refused the filter (a release or field control where it is not filterable): fail closed.
        detail = f"the search by BusinessPartnerIDByExtSystem was refused: {error.detail}"
        if creation.search_since is not None:
            raise SapNeedsReview(f"{detail}; an earlier attempt may have created the partner") from None
        raise SapConfigurationError(f"{detail}; the duplicate guard needs it (docs/sap.md)") from None
    assert answer is not None
    excluded = {customer_key(number) for number in creation.excluded_customers}
    rows = [
        (str(row.get("BusinessPartner") or "").strip(), str(row.get("Customer") or "").strip())
        for row in answer.entities
    ]
    return [(partner, customer) for partner, customer in rows if not (customer and customer_key(customer) in excluded)]


def customer_of(unit: Unit, partner: str) -> str:
    """The customer number CVI gave Business Partner `partner` ("" when none, or no partner)."""
    if not partner:
        return ""
    answer = unit.session.get(
        entity_path(BUSINESS_PARTNER, {"BusinessPartner": partner}),
        deadline=unit.deadline,
        params={"$select": "Customer"},
        missing_ok=True,
    )
    return str(answer.entity.get("Customer") or "").strip() if answer else ""


class CustomerData:
    """The customer's sales area and company code data, and the reference customer's values it copies (kept
    for REFERENCE_CACHE_SECONDS per reference, sales area and company code). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._references: dict[tuple[str, ...], tuple[float, dict[str, str]]] = {}

    def complete(
        self,
        unit: Unit,
        customer: str,
        draft: BusinessPartnerDraft,
        *,
        known_new: bool,
        reference: Mapping[str, str] | None = None,
    ) -> bool:
        """Create the customer's sales area and company code data (only those missing, unless `known_new`: a
        customer CVI has just made has none); True when anything was created."""
        assert draft.company_code is not None
        area = draft.sales_area
        area_keys = dict(
            zip(
                SALES_AREA_KEYS,
                (customer, area.sales_organization, area.distribution_channel, area.division),
                strict=True,
            )
        )
        company_keys = dict(zip(COMPANY_KEYS, (customer, draft.company_code), strict=True))
        missing = [
            (entity_set, keys)
            for entity_set, keys in ((SALES_AREA, area_keys), (COMPANY, company_keys))
            if known_new or not _exists(unit, entity_set, keys)
        ]
        if not missing:
            return False
        reference = reference if reference is not None else self.reference(unit, draft)
        for entity_set, keys in missing:
            copied = REFERENCE_SALES_AREA_PROPERTIES if entity_set == SALES_AREA else REFERENCE_COMPANY_PROPERTIES
            document = {name: reference[name] for name in copied if reference.get(name)}
            if entity_set == SALES_AREA:
                document.update(draft.sales_area_data)
            unit.create_sent = True
            unit.session.post(entity_set, {**document, **keys}, deadline=unit.deadline)
        return True

    def reference(self, unit: Unit, draft: BusinessPartnerDraft) -> dict[str, str]:
        """The reference customer's values the create copies; SapBusinessRejection when the reference has no
        data in the sales area or company code (read before the create: nothing is created then)."""
        assert draft.company_code is not None
        area = draft.sales_area
        cache_key = (draft.reference_customer, str(area), draft.company_code)
        with self._lock:
            cached = self._references.get(cache_key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        values: dict[str, str] = {}
        reads = (
            (
                SALES_AREA,
                (draft.reference_customer, area.sales_organization, area.distribution_channel, area.division),
                SALES_AREA_KEYS,
                REFERENCE_SALES_AREA_PROPERTIES,
                f"sales area {area}",
            ),
            (
                COMPANY,
                (draft.reference_customer, draft.company_code),
                COMPANY_KEYS,
                REFERENCE_COMPANY_PROPERTIES,
                f"company code {draft.company_code}",
            ),
        )
        for entity_set, key_values, key_names, copied, where in reads:
            keys = dict(zip(key_names, key_values, strict=True))
            answer = unit.session.get(
                entity_path(entity_set, keys),
                deadline=unit.deadline,
                params={"$select": ",".join(copied)},
                missing_ok=True,
            )
            if answer is None:
                raise SapBusinessRejection(
                    (
                        SapMessage(
                            "E",
                            "",
                            "",
                            f"The reference customer {draft.reference_customer} is not defined in {where} "
                            f"({entity_set}): nothing was created",
                        ),
                    )
                )
            values.update(
                (name, value.strip())
                for name in copied
                if isinstance(value := answer.entity.get(name), str) and value.strip()
            )
        with self._lock:
            self._references[cache_key] = (time.monotonic() + REFERENCE_CACHE_SECONDS, values)
        return values


def _exists(unit: Unit, entity_set: str, keys: Mapping[str, str]) -> bool:
    path = entity_path(entity_set, keys)
    return (
        unit.session.get(path, deadline=unit.deadline, params={"$select": ",".join(keys)}, missing_ok=True) is not None
    )


def entity_path(entity_set: str, keys: Mapping[str, Any]) -> str:
    """The key predicate, e.g. A_CustomerCompany(Customer='17100001',CompanyCode='1710') (OData V2: string
    literals in single quotes, a quote doubled; percent-encoded for the URL path)."""
    predicate = ",".join(
        f"{name}='{quote(str(value).replace(chr(39), chr(39) * 2), safe='')}'" for name, value in keys.items()
    )
    return f"{entity_set}({predicate})"
