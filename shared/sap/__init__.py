"""SAP access: the SapGateway port, its errors and the adapters (rfc on pyrfc or on the simulator, relay); the
simulator itself lives outside shared/ and is loaded by name (simulator_driver.py)."""

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
