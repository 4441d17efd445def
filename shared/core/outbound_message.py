"""Salesforce outbound messages (the push path): the SOAP `notifications` call in, the acknowledgement out.

Pure functions: bytes in, data or bytes out; no I/O, no settings.

The shape is Salesforce's published outbound messaging WSDL ("Understanding the Outbound Messaging
WSDL", developer.salesforce.com, SOAP API guide): a SOAP 1.1 envelope whose body holds
`notifications` (namespace http://soap.sforce.com/2005/09/outbound) with OrganizationId, ActionId,
SessionId (nillable), EnterpriseUrl, PartnerUrl and up to 100 `Notification` elements (maxOccurs="100"),
each an `Id` (the notification's own Id, the key Salesforce tells listeners to deduplicate on) and an
`sObject` of xsi:type `sf:Account` (namespace urn:sobject.enterprise.soap.sforce.com) holding the
fields the outbound message was defined with. The answer is `notificationsResponse` with one
`Ack` boolean. Cross-checked with Microsoft's maintained receiver (aspnet/WebHooks,
Microsoft.AspNetCore.WebHooks.Receivers.Salesforce: SalesforceNotifications.cs, its sample request
and its NotificationResponse.xml / FaultResponse.xml). Unverified here, because no org sends to this
machine: how Salesforce writes a field without a value (we accept both an absent element and
`xsi:nil="true"`) and `fieldsToNull` (read as "this field is empty").

The XML is parsed with defusedxml: a DTD, an entity declaration or an external reference is refused
(Salesforce's messages have none), so no entity expansion ("billion laughs") and no external fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.core import account_fields
from shared.core.salesforce_org import same_organization

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

SOAP_ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# The WSDL's maxOccurs on Notification.
MAX_NOTIFICATIONS = 100
# 100 accounts of 17 fields with Salesforce's longest values (a 255-character street, 80-character
# names) stay well below this; anything bigger is not an outbound message of ours.
MAX_MESSAGE_BYTES = 1024 * 1024
ACCOUNT_TYPE = "Account"
# The system field every save sets ("System Fields", Object Reference); shared.core.account_fields names it too.
SYSTEM_MODSTAMP_FIELD = "SystemModstamp"


class MalformedOutboundMessage(ValueError):
    """The body is not a Salesforce outbound message we can read; the message says where and why."""

    kind = "rejected"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "not a Salesforce outbound message"


@dataclass(frozen=True)
class Notification:
    """One `Notification`: its Id and the sObject's fields by API name (None: sent without a value)."""

    notification_id: str
    object_type: str  # the sObject's xsi:type without its prefix, e.g. "Account"
    fields: dict[str, str | None]


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str
    action_id: str
    notifications: tuple[Notification, ...]


@dataclass(frozen=True)
class AccountChange:
    """What one notification says about one account, in the terms of the CreateSAPCustomer request."""

    notification_id: str
    account_id: str | None  # as sent; the request's validation normalises it
    payload: dict[str, str | None]  # the request body the HTTP connector would have sent
    account_type: str | None
    customer_number: str | None
    sync_status: str | None
    last_modified: datetime | None
    # The record's SystemModstamp when the message was sent (when the outbound message carries it): what
    # orders the changes of a synced account (issue 26, shared.core.change_rules); None when not sent.
    system_modstamp: datetime | None = None

    def not_a_candidate(self, customer_types: tuple[str, ...] = account_fields.DEFAULT_CUSTOMER_TYPES) -> str | None:
        """Why this account is not one to create (the flow's entry criteria, checked again on what was
        sent: Salesforce sends the record as it is when the message goes out, which may be later than
        the change that queued it), or None when it is one. `customer_types`: the Account Type values
        that mean customer (SALESFORCE_CUSTOMER_TYPES)."""
        if not account_fields.is_customer_type(self.account_type, customer_types):
            return f"Type is {self.account_type or 'empty'}, not {' or '.join(customer_types)}"
        if self.customer_number:
            return "the account already has an SAP customer number"
        if self.sync_status == account_fields.STATUS_FAILED:
            return (
                f"{account_fields.SYNC_STATUS_FIELD} is {account_fields.STATUS_FAILED}: a person clears it "
                "after fixing the account to have it sent again"
            )
        return None


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """The notifications in a SOAP body; MalformedOutboundMessage naming the first problem."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise MalformedOutboundMessage(f"body is {len(body)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes")
    if not body.strip():
        raise MalformedOutboundMessage("body is empty; expected a SOAP envelope with notifications")
    # Imported on the first message, not with function_app: the XML parser costs tens of milliseconds
    # of every cold start otherwise (scripts/bench measures the import of function_app).
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as refused:
        raise MalformedOutboundMessage(
            f"body is refused: {type(refused).__name__} (DTDs, entities and external references are not accepted)"
        ) from None
    except ParseError as error:
        raise MalformedOutboundMessage(f"body is not well-formed XML: {error}") from None
    except (ValueError, LookupError, RecursionError) as error:
        # expat hands an encoding it does not know to Python's codecs (pyexpat's unknown-encoding handler,
        # CPython Modules/pyexpat.c), which raise LookupError for a name no codec has ("x-nonsense", or
        # "rot13", a codec but no text encoding) and UnicodeError (a ValueError) for bytes the codec
        # cannot decode: either is a body we cannot read, the sender's fault.
        raise MalformedOutboundMessage(f"body is not readable XML: {str(error)[:120]}") from None
    if root.tag != f"{{{SOAP_ENVELOPE_NS}}}Envelope":
        raise MalformedOutboundMessage(f"root element is {_name(root)}, expected a SOAP 1.1 Envelope")
    body_element = root.find(f"{{{SOAP_ENVELOPE_NS}}}Body")
    if body_element is None:
        raise MalformedOutboundMessage("the SOAP Envelope has no Body")
    notifications = body_element.find(f"{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise MalformedOutboundMessage(f"the SOAP Body holds no notifications element of {OUTBOUND_NS}")
    organization_id = _required_text(notifications, "OrganizationId", "notifications")
    action_id = _required_text(notifications, "ActionId", "notifications")
    elements = notifications.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not elements:
        raise MalformedOutboundMessage("notifications holds no Notification")
    if len(elements) > MAX_NOTIFICATIONS:
        raise MalformedOutboundMessage(
            f"notifications holds {len(elements)} Notification elements; Salesforce sends at most {MAX_NOTIFICATIONS}"
        )
    return OutboundMessage(
        organization_id, action_id, tuple(_notification(element, index) for index, element in enumerate(elements, 1))
    )


def _notification(element: Element, index: int) -> Notification:
    where = f"Notification {index}"
    notification_id = _required_text(element, "Id", where)
    sobject = element.find(f"{{{OUTBOUND_NS}}}sObject")
    if sobject is None:
        raise MalformedOutboundMessage(f"{where}: has no sObject")
    declared = sobject.get(f"{{{XSI_NS}}}type") or ""
    object_type = declared.rpartition(":")[2]
    if object_type != ACCOUNT_TYPE:
        raise MalformedOutboundMessage(
            f"{where}: sObject is of type '{declared or 'none'}', expected sf:Account "
            "(the outbound message must be defined on Account)"
        )
    fields: dict[str, str | None] = {}
    for child in sobject:
        namespace, _, name = child.tag[1:].partition("}") if child.tag.startswith("{") else ("", "", child.tag)
        if namespace != SOBJECT_NS:
            raise MalformedOutboundMessage(f"{where}: field {_name(child)} is not in {SOBJECT_NS}")
        if name == "fieldsToNull":
            if child.text and child.text.strip():
                fields[child.text.strip()] = None
            continue
        if len(child):
            continue  # a related record (e.g. Owner): not a field of ours; ignored like unknown fields
        nil = (child.get(f"{{{XSI_NS}}}nil") or "").strip().lower() in ("true", "1")
        fields[name] = None if nil else (child.text or "")
    return Notification(notification_id, object_type, fields)


def _required_text(parent: Element, name: str, where: str) -> str:
    element = parent.find(f"{{{OUTBOUND_NS}}}{name}")
    text = (element.text or "").strip() if element is not None else ""
    if not text:
        raise MalformedOutboundMessage(f"{where}: {name} is missing")
    return text


def _name(element: Element) -> str:
    return element.tag.rpartition("}")[2] or element.tag


def account_change(notification: Notification) -> AccountChange:
    """The account change a notification carries, its fields mapped onto the request's properties."""
    fields = notification.fields
    return AccountChange(
        notification_id=notification.notification_id,
        account_id=fields.get("Id"),
        payload=account_fields.request_payload(fields),
        account_type=(fields.get(account_fields.TYPE_FIELD) or "").strip() or None,
        customer_number=(fields.get(account_fields.CUSTOMER_NUMBER_FIELD) or "").strip() or None,
        sync_status=(fields.get(account_fields.SYNC_STATUS_FIELD) or "").strip() or None,
        last_modified=_datetime(fields.get(account_fields.LAST_MODIFIED_FIELD)),
        system_modstamp=_datetime(fields.get(SYSTEM_MODSTAMP_FIELD)),
    )


def _datetime(text: str | None) -> datetime | None:
    """An xsd:dateTime as Salesforce writes it (2017-12-11T21:49:24.000Z); None when absent or unreadable,
    which the ordering rule treats as "unknown" (it then never reopens a failed account)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_from_organization(message: OutboundMessage, configured_organization_id: str) -> bool:
    """Whether the message names the configured org (shared.core.salesforce_org.same_organization)."""
    return same_organization(message.organization_id, configured_organization_id)


# --- the answers ---------------------------------------------------------------------------------------

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENVELOPE_NS}"><soapenv:Body>{{body}}'
    "</soapenv:Body></soapenv:Envelope>"
)


def acknowledgement() -> bytes:
    """`notificationsResponse` with Ack true: Salesforce removes the message from its queue."""
    return _ENVELOPE.format(
        body=f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    ).encode()


def fault(code: str, text: str) -> bytes:
    """A SOAP 1.1 Fault (faultcode Client: the message is wrong; Server: we cannot take it now)."""
    if code not in ("Client", "Server"):
        raise ValueError(f"unknown SOAP fault code {code}")
    return _ENVELOPE.format(
        body=f"<soapenv:Fault><faultcode>soapenv:{code}</faultcode>"
        f"<faultstring>{_escape(text)}</faultstring></soapenv:Fault>"
    ).encode()


def _escape(text: str) -> str:
    """Character data for XML: the three characters that must not appear as they are."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
