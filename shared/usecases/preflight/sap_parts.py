"""What the SAP and relay checks of the go-live check need (shared/usecases/preflight/sap.py, relay.py,
sap_odata.py), in a module of its own so the areas' modules import it and not each other."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.core.organization import SapOrganization
from shared.sap.inspector import RelayProbe, SapInspector


@dataclass(frozen=True)
class SapPreflightParts:
    """What the SAP and relay checks need, built by the composition root (shared/bootstrap/sap.py
    sap_preflight_parts) from the app's settings: `transport` is SAP_TRANSPORT (rfc, simulator, relay);
    `inspector` the probes through it; `organization` SAP_SALES_AREAS (reference customers);
    `no_match_messages` SAP_FIND_NO_MATCH_MESSAGE as (class, number); `region_countries` the countries whose
    region keys the mapping translates (shared/core/reference/sap_regions.json); `relay` the relay probe with
    SAP_TRANSPORT=relay, else None."""

    transport: str
    inspector: SapInspector
    organization: SapOrganization = field(default_factory=SapOrganization)
    no_match_messages: tuple[tuple[str, str], ...] = ()
    region_countries: tuple[str, ...] = ()
    relay: RelayProbe | None = None
