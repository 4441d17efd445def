"""SAP access: the SapGateway port, its errors and the adapters (rfc/pyrfc, simulator, relay)."""

from shared.sap.errors import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.gateway import SapCustomerCreated, SapGateway, SapMessage

__all__ = [
    "SapBusinessRejection",
    "SapConfigurationError",
    "SapCustomerCreated",
    "SapDriverMissing",
    "SapError",
    "SapGateway",
    "SapMessage",
    "SapPermanentError",
    "SapTransientError",
]
