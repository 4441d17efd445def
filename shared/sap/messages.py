"""SAP's own messages as the BAPIs return them: below both the port and the error hierarchy, which both
carry them (an error holds the RETURN messages SAP gave), so neither imports the other for them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SapMessage:
    """One BAPIRETURN1/BAPIRET2 message: type (S, I, W, E, A), id (message class), number, text."""

    type: str
    id: str
    number: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id, "number": self.number, "text": self.text}
