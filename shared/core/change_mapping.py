"""A validated change request -> the owned PI_COMPANYDATA fields that differ from what SAP was last given.

Pure. The change is the create's request again (the account as it is now, plus its SystemModstamp), so it
goes through the create's own mapping (shared/core/mapping.py: the name spread over four lines, street and
city shortened with a warning, codes turned into SAP's keys, the sales area resolved): one mapping, so a
value changes in SAP exactly as it would have been created. Of the result only the owned fields
(shared/core/ownership.py) are kept, and of those only the ones whose value differs from what SAP was last
given (the ledger keeps a digest of each, never the value); the rest of PI_COMPANYDATA is never part of a
change.

A value the mapping leaves out with a warning (a phone longer than SAP holds) is not sent either: the
change keeps SAP's value rather than clearing it, and the warning says why. A field the account cleared
(no street any more) is sent as "", which clears it in SAP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.core.change_models import CustomerChange
from shared.core.mapping import map_customer_request
from shared.core.models import CustomerRequest, MappingWarning
from shared.core.organization import SapOrganization
from shared.core.ownership import OwnedField, owned_values, value_digests


@dataclass(frozen=True)
class MappedChange:
    """The new version's owned values, the part of them that differs from what SAP was last given, the digests
    the ledger keeps once SAP has them (shared.core.ownership.value_digest), the sales area the change names,
    and the mapping's warnings."""

    owned: dict[str, str]
    differing: dict[str, str]
    digests: dict[str, str]
    sales_organization: str
    distribution_channel: str
    division: str
    warnings: tuple[MappingWarning, ...]


def map_customer_change(
    request: CustomerRequest,
    organization: SapOrganization,
    fields: tuple[OwnedField, ...],
    last_digests: Mapping[str, str] | None,
    live_lengths: Mapping[str, int] | None = None,
) -> MappedChange:
    """The change for one validated request; `last_digests` the ledger's digests of what SAP was last given.
    Raises InvalidRequest as the create's mapping does."""
    creation = map_customer_request(request, organization, live_lengths)
    company_data = creation.parameters["PI_COMPANYDATA"]
    sales_area = creation.parameters["PI_COPYREFERENCE"]
    kept = tuple(owned for owned in fields if not _left_out(owned, request, company_data))
    owned = owned_values(company_data, kept)
    digests = value_digests(request.account_id, owned)
    if last_digests is None:
        differing = dict(owned)  # an entry from before the change path: what SAP holds is unknown, send all
    else:
        differing = {name: value for name, value in owned.items() if last_digests.get(name) != digests[name]}
    # The digests of the fields left out stay what they were, so they are compared next time too.
    kept_digests = {name: digest for name, digest in (last_digests or {}).items() if name not in digests}
    return MappedChange(
        owned=owned,
        differing=differing,
        digests={**kept_digests, **digests},
        sales_organization=sales_area["SALESORG"],
        distribution_channel=sales_area["DISTR_CHAN"],
        division=sales_area["DIVISION"],
        warnings=creation.warnings,
    )


def _left_out(owned: OwnedField, request: CustomerRequest, company_data: Mapping[str, str]) -> bool:
    """The request carries a value for the field but the mapping passed none of it to SAP (it warned)."""
    carried = getattr(request, _REQUEST_ATTRIBUTE.get(owned.request_property, ""), None)
    return bool(carried) and not any(company_data.get(name) for name in owned.sap_fields)


# The request property -> CustomerRequest attribute, for the owned fields the mapping may leave out.
_REQUEST_ATTRIBUTE = {"phone": "phone", "street": "street", "city": "city", "postalCode": "postal_code"}


def customer_change(
    mapped: MappedChange, send: Mapping[str, str], *, account_id: str, customer_number: str, system_modstamp: str
) -> CustomerChange:
    """The SAP port's command: only the fields in `send` (each gets its X flag), the sales area, the stamp."""
    return CustomerChange(
        account_id=account_id,
        customer_number=customer_number,
        company_data=dict(send),
        sales_organization=mapped.sales_organization,
        distribution_channel=mapped.distribution_channel,
        division=mapped.division,
        system_modstamp=system_modstamp,
        warnings=mapped.warnings,
    )


def digests_of_creation(
    account_id: str, company_data: Mapping[str, str], fields: tuple[OwnedField, ...]
) -> dict[str, str]:
    """What a create gives SAP of the owned fields, as the ledger's first digests."""
    return value_digests(account_id, owned_values(dict(company_data), fields))
