"""Old name of shared.core.organization, kept only for shared/settings/ and shared/usecases/services.py.

Goes once those two import shared.core.organization (they are being reworked by other parts of issue 23,
so they were not edited in the organisation -> organization rename).
"""

from __future__ import annotations

from shared.core.organization import SalesArea, SalesAreaSetup, SapOrganization

SapOrganisation = SapOrganization

__all__ = ["SalesArea", "SalesAreaSetup", "SapOrganisation", "SapOrganization"]
