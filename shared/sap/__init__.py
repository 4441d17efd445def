"""SAP access: the SapGateway port, its errors and the adapters (rfc/pyrfc, simulator, relay)."""

from shared.sap.errors import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapInterfaceMismatch,
    SapNeedsReview,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface, SapMessage

__all__ = [
    "SapBusinessRejection",
    "SapConfigurationError",
    "SapCustomerCreated",
    "SapDriverMissing",
    "SapError",
    "SapGateway",
    "SapInterface",
    "SapInterfaceMismatch",
    "SapMessage",
    "SapNeedsReview",
    "SapOutcomeUnknown",
    "SapPermanentError",
    "SapTransientError",
]
