"""The change request (issue 26): the create's body (shared/core/validation.py, every rule the same) plus
`systemModstamp`, the account's SystemModstamp when these values were read (required, ISO 8601 with its
offset, as Salesforce writes it: 2026-12-07T14:03:11.000Z). Pure; raises InvalidRequest naming every field.

The stamp orders the changes of one account (shared/core/change_rules.py), so a change without one is
refused rather than guessed: an unordered change could overwrite newer values with older ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.core.models import CustomerRequest, FieldError, InvalidRequest
from shared.core.validation import parse_customer_request

MODSTAMP_PROPERTY = "systemModstamp"


@dataclass(frozen=True)
class ChangeRequest:
    request: CustomerRequest
    system_modstamp: datetime  # aware, UTC

    @property
    def account_id(self) -> str:
        return self.request.account_id

    def modstamp_text(self) -> str:
        """The stamp as Salesforce writes it (milliseconds, Z)."""
        return self.system_modstamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def to_payload(self) -> dict[str, str]:
        """The request in the contract's camelCase form, with its stamp (what a change message carries)."""
        return {**self.request.to_payload(), MODSTAMP_PROPERTY: self.modstamp_text()}


def parse_modstamp(value: object) -> datetime:
    """An ISO 8601 moment with an offset; InvalidRequest naming systemModstamp otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidRequest(
            [FieldError(MODSTAMP_PROPERTY, "is required: the account's SystemModstamp orders changes")]
        )
    if not isinstance(value, str):
        raise InvalidRequest([FieldError(MODSTAMP_PROPERTY, "must be a string (ISO 8601)")])
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise InvalidRequest(
            [FieldError(MODSTAMP_PROPERTY, "is not an ISO 8601 date and time (e.g. 2026-12-07T14:03:11.000Z)")]
        ) from None
    if moment.tzinfo is None:
        raise InvalidRequest(
            [FieldError(MODSTAMP_PROPERTY, "needs its offset (Z or +01:00): a time without one is ambiguous")]
        )
    return moment.astimezone(UTC)


def parse_change_request(payload: object, account_id: str | None = None) -> ChangeRequest:
    """Validate a change body; `account_id` is the route's (normalised), which the body may repeat but not
    contradict. Every field problem at once, as the create's validation reports them."""
    if not isinstance(payload, dict):
        raise InvalidRequest([FieldError("body", "request body must be a JSON object")])
    errors: list[FieldError] = []
    body = dict(payload)
    if account_id is not None:
        sent = body.get("accountId")
        if sent is not None and (not isinstance(sent, str) or _id15(sent) != _id15(account_id)):
            errors.append(FieldError("accountId", "is not the account of the URL"))
        body["accountId"] = account_id
    modstamp: datetime | None = None
    try:
        modstamp = parse_modstamp(body.get(MODSTAMP_PROPERTY))
    except InvalidRequest as invalid:
        errors.extend(invalid.errors)
    request: CustomerRequest | None = None
    try:
        request = parse_customer_request(body)
    except InvalidRequest as invalid:
        errors.extend(invalid.errors)
    if errors or request is None or modstamp is None:
        raise InvalidRequest(errors or [FieldError("body", "request could not be validated")])
    return ChangeRequest(request, modstamp)


def _id15(value: str) -> str:
    # A 15-character Id and its 18-character form name the same account (the suffix only encodes case).
    return value.strip()[:15]
