"""The production SAP adapter over the simulator."""

from __future__ import annotations

import sap_simulator as simulator
from shared.sap.rfc import RfcSapGateway


def simulated_gateway(**options: object) -> RfcSapGateway:
    """The production rfc adapter over the simulator (the process default system unless `system=`
    is given through a logon parameter), knowing how the simulator's FIND says "nothing found"."""
    return RfcSapGateway({}, rfc_module=simulator, no_match_messages=simulator.NO_MATCH_MESSAGES,
                         **options)  # type: ignore[arg-type]
