"""pyrfc's exception classes, mirrored from SAP/PyRFC 3.x `src/pyrfc/_exception.py`.

Same names, hierarchy, constructor signature (message first, then code, key, ABAP message fields),
attributes and str(), so code written against pyrfc handles the simulator's errors unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ABAPApplicationError",
    "ABAPRuntimeError",
    "CommunicationError",
    "ExternalApplicationError",
    "ExternalAuthorizationError",
    "ExternalRuntimeError",
    "LogonError",
    "RFCError",
    "RFCLibError",
    "RFCTypeError",
]


class RFCError(Exception):
    """Exception base class: an error in the Python connector."""


class RFCLibError(RFCError):
    """An error reported by the SAP NW RFC library (RFC_ERROR_INFO)."""

    # RfcGetRcAsString(RFC_RC rc), as pyrfc lists it.
    code2txt = {
        0: "RFC_OK",
        1: "RFC_COMMUNICATION_FAILURE",
        2: "RFC_LOGON_FAILURE",
        3: "RFC_ABAP_RUNTIME_FAILURE",
        4: "RFC_ABAP_MESSAGE",
        5: "RFC_ABAP_EXCEPTION",
        6: "RFC_CLOSED",
        7: "RFC_CANCELED",
        8: "RFC_TIMEOUT",
        9: "RFC_MEMORY_INSUFFICIENT",
        10: "RFC_VERSION_MISMATCH",
        11: "RFC_INVALID_PROTOCOL",
        12: "RFC_SERIALIZATION_FAILURE",
        13: "RFC_INVALID_HANDLE",
        14: "RFC_RETRY",
        15: "RFC_EXTERNAL_FAILURE",
        16: "RFC_EXECUTED",
        17: "RFC_NOT_FOUND",
        18: "RFC_NOT_SUPPORTED",
        19: "RFC_ILLEGAL_STATE",
        20: "RFC_INVALID_PARAMETER",
        21: "RFC_CODEPAGE_CONVERSION_FAILURE",
        22: "RFC_CONVERSION_FAILURE",
        23: "RFC_BUFFER_TOO_SMALL",
        24: "RFC_TABLE_MOVE_BOF",
        25: "RFC_TABLE_MOVE_EOF",
        26: "RFC_START_SAPGUI_FAILURE",
        27: "RFC_ABAP_CLASS_EXCEPTION",
        28: "RFC_UNKNOWN_ERROR",
        29: "RFC_AUTHORIZATION_FAILURE",
    }

    def __init__(
        self,
        message: Any = None,
        code: int | None = None,
        key: str | None = None,
        msg_class: str | None = None,
        msg_type: str | None = None,
        msg_number: str | None = None,
        msg_v1: str | None = None,
        msg_v2: str | None = None,
        msg_v3: str | None = None,
        msg_v4: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.key = key
        self.msg_class = msg_class
        self.msg_type = msg_type
        self.msg_number = msg_number
        self.msg_v1 = msg_v1
        self.msg_v2 = msg_v2
        self.msg_v3 = msg_v3
        self.msg_v4 = msg_v4

    def __str__(self) -> str:
        return (
            f"{self.code2txt.get(self.code, '???')} (rc={self.code}): key={self.key}, message={self.message} "
            f"[MSG: class={self.msg_class}, type={self.msg_type}, number={self.msg_number}, "
            f"v1-4:={self.msg_v1};{self.msg_v2};{self.msg_v3};{self.msg_v4}]"
        )


class ABAPApplicationError(RFCLibError):
    """RFC_ERROR_GROUP ABAP_APPLICATION_FAILURE (e.g. an ABAP exception such as FU_NOT_FOUND)."""


class ABAPRuntimeError(RFCLibError):
    """RFC_ERROR_GROUP ABAP_RUNTIME_FAILURE (a short dump on the SAP side)."""


class LogonError(RFCLibError):
    """RFC_ERROR_GROUP LOGON_FAILURE; code and key default so it can be raised with a message only."""

    def __init__(
        self,
        message: Any = None,
        code: int | None = 2,
        key: str | None = "RFC_LOGON_FAILURE",
        msg_class: str | None = None,
        msg_type: str | None = None,
        msg_number: str | None = None,
        msg_v1: str | None = None,
        msg_v2: str | None = None,
        msg_v3: str | None = None,
        msg_v4: str | None = None,
    ) -> None:
        super().__init__(message, code, key, msg_class, msg_type, msg_number, msg_v1, msg_v2, msg_v3, msg_v4)


class CommunicationError(RFCLibError):
    """RFC_ERROR_GROUP COMMUNICATION_FAILURE (network, gateway, SAP down)."""


class ExternalRuntimeError(RFCLibError):
    """RFC_ERROR_GROUP EXTERNAL_RUNTIME_FAILURE (raised by the RFC library itself, e.g. a bad field name)."""


class ExternalApplicationError(RFCLibError):
    """RFC_ERROR_GROUP EXTERNAL_APPLICATION_FAILURE."""


class ExternalAuthorizationError(RFCLibError):
    """RFC_ERROR_GROUP EXTERNAL_AUTHORIZATION_FAILURE (e.g. missing S_RFC authorisation)."""


class RFCTypeError(RFCLibError):
    """RFC_ERROR_GROUP RFC_TYPE_ERROR (invalid data type in input conversion)."""
