"""Parsing Salesforce outbound messages (shared.core.outbound_message) and mapping them onto the request."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from shared.core import account_fields
from shared.core.outbound_message import (
    MAX_NOTIFICATIONS,
    OUTBOUND_NS,
    MalformedOutboundMessage,
    account_change,
    acknowledgement,
    fault,
    is_from_organization,
    parse_outbound_message,
)
from shared.core.salesforce_org import organization_id, same_organization
from shared.core.validation import CONTRACT_FIELDS, parse_customer_request
from tests.support.outbound_messages import (
    ORGANIZATION_ID,
    OTHER_ORGANIZATION_ID,
    account_fields_of,
    outbound_message,
)
from tests.support.samples import sample

# Microsoft's captured Salesforce request (aspnet/WebHooks test/.../RequestBodies/Salesforce.xml), with
# the sObject changed from Contact to Account: whitespace between elements, a 15-character org id.
CAPTURED = b"""<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D1I000003qqqE</OrganizationId>
   <ActionId>04k1I000000bmsHQAQ</ActionId>
   <SessionId>00D1I000003qqqE!AQsAQOjGFnFJzGPA12yhUGL9Aii0N6lADjH2bNUBHRer5QjjTq3</SessionId>
   <EnterpriseUrl>https://na73.salesforce.com/services/Soap/c/41.0/00D1I000003qqqE</EnterpriseUrl>
   <PartnerUrl>https://na73.salesforce.com/services/Soap/u/41.0/00D1I000003qqqE</PartnerUrl>
   <Notification>
    <Id>04l1I000000fztEQAQ</Id>
    <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>001Dn00000AbCdEIAV</sf:Id>
     <sf:BillingCity>M\xc3\xbcnchen</sf:BillingCity>
     <sf:LastModifiedDate>2017-12-11T21:49:24.000Z</sf:LastModifiedDate>
     <sf:Name>Acme &amp; Co</sf:Name>
     <sf:Phone xsi:nil="true"/>
     <sf:Type>Customer</sf:Type>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"""


def test_a_captured_salesforce_message_parses_into_its_notification():
    message = parse_outbound_message(CAPTURED)
    assert (message.organization_id, message.action_id) == ("00D1I000003qqqE", "04k1I000000bmsHQAQ")
    [notification] = message.notifications
    assert notification.notification_id == "04l1I000000fztEQAQ"
    assert notification.object_type == "Account"
    assert notification.fields == {
        "Id": "001Dn00000AbCdEIAV",
        "BillingCity": "München",
        "LastModifiedDate": "2017-12-11T21:49:24.000Z",
        "Name": "Acme & Co",
        "Phone": None,
        "Type": "Customer",
    }


def test_the_change_carries_the_request_the_http_connector_would_send():
    payload = sample("german-account")
    message = parse_outbound_message(outbound_message([account_fields_of(payload)]))
    change = account_change(message.notifications[0])
    expected = {key: value for key, value in payload.items() if key not in ("currencyIsoCode", "language")}
    assert change.payload == expected
    assert parse_customer_request(change.payload) == parse_customer_request(expected)
    assert change.account_type == "Customer" and change.not_a_candidate() is None


def test_every_mapped_field_is_a_request_property_and_every_outbound_field_is_listed_once():
    assert set(account_fields.REQUEST_PROPERTY_OF_FIELD.values()) <= set(CONTRACT_FIELDS)
    assert len(set(account_fields.OUTBOUND_MESSAGE_FIELDS)) == len(account_fields.OUTBOUND_MESSAGE_FIELDS)
    assert account_fields.REQUEST_PROPERTY_OF_FIELD["Id"] == "accountId"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"Type": "Prospect"}, "Type is Prospect, not Customer"),
        ({"Type": None}, "Type is empty, not Customer"),
        ({"SAP_Customer_Number__c": "0000100042"}, "the account already has an SAP customer number"),
        ({"SAP_Sync_Status__c": "Failed"}, "SAP_Sync_Status__c is Failed"),
        ({"SAP_Sync_Status__c": "Synced"}, None),
        ({"SAP_Customer_Number__c": "  "}, None),
    ],
)
def test_only_a_customer_without_number_and_not_marked_failed_is_a_candidate(fields, reason):
    change = account_change(
        parse_outbound_message(outbound_message([account_fields_of(sample("german-account"), **fields)])).notifications[
            0
        ]
    )
    found = change.not_a_candidate()
    assert (found is None) if reason is None else (found is not None and found.startswith(reason))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-12-11T21:49:24.000Z", datetime(2017, 12, 11, 21, 49, 24, tzinfo=UTC)),
        ("2017-12-11T22:49:24.500+01:00", datetime(2017, 12, 11, 21, 49, 24, 500000, tzinfo=UTC)),
        ("2017-12-11T21:49:24", datetime(2017, 12, 11, 21, 49, 24, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_last_modified_date_is_read_as_utc_or_unknown(text, expected):
    change = account_change(
        parse_outbound_message(
            outbound_message([account_fields_of(sample("german-account"), LastModifiedDate=text)])
        ).notifications[0]
    )
    assert change.last_modified == expected


def test_a_message_of_100_notifications_is_read_whole():
    accounts = [account_fields_of(sample("german-account"), Name=f"Kunde {n}") for n in range(MAX_NOTIFICATIONS)]
    message = parse_outbound_message(outbound_message(accounts))
    assert [n.fields["Name"] for n in message.notifications] == [f"Kunde {n}" for n in range(MAX_NOTIFICATIONS)]
    assert len({n.notification_id for n in message.notifications}) == MAX_NOTIFICATIONS


def _envelope(inner: str) -> bytes:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f"{inner}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _notifications(inner: str, org: str = "<OrganizationId>00D5g000004XyZ1EAK</OrganizationId>") -> bytes:
    return _envelope(
        f'<notifications xmlns="{OUTBOUND_NS}">{org}<ActionId>04k5g000000Ab1CAAS</ActionId>{inner}</notifications>'
    )


_ACCOUNT = (
    '<Notification><Id>04l5g0000000001AAA</Id><sObject xsi:type="sf:Account" '
    'xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>001Dn00000AbCdEIAV</sf:Id></sObject>'
    "</Notification>"
)

MALFORMED = {
    "empty": (b"", "body is empty"),
    "blank": (b"  \n ", "body is empty"),
    "json": (b'{"accountId": "001Dn00000AbCdEIAV"}', "not well-formed XML"),
    "truncated": (outbound_message([account_fields_of(sample("german-account"))])[:-40], "not well-formed XML"),
    "not-soap": (b"<notifications/>", "root element is notifications, expected a SOAP 1.1 Envelope"),
    "soap-1.2": (
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>',
        "expected a SOAP 1.1 Envelope",
    ),
    "no-body": (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>', "has no Body"),
    "no-notifications": (_envelope("<other/>"), "holds no notifications element"),
    "no-org": (_notifications(_ACCOUNT, org=""), "notifications: OrganizationId is missing"),
    "blank-org": (_notifications(_ACCOUNT, org="<OrganizationId> </OrganizationId>"), "OrganizationId is missing"),
    "no-notification": (_notifications(""), "holds no Notification"),
    "101-notifications": (_notifications(_ACCOUNT * 101), "holds 101 Notification elements"),
    "no-id": (_notifications(_ACCOUNT.replace("<Id>04l5g0000000001AAA</Id>", "")), "Notification 1: Id is missing"),
    "no-sobject": (
        _notifications("<Notification><Id>04l5g0000000001AAA</Id></Notification>"),
        "Notification 1: has no sObject",
    ),
    "contact": (_notifications(_ACCOUNT.replace("sf:Account", "sf:Contact")), "sObject is of type 'sf:Contact'"),
    "untyped": (_notifications(_ACCOUNT.replace(' xsi:type="sf:Account"', "")), "sObject is of type 'none'"),
    "foreign-field": (
        _notifications(_ACCOUNT.replace("<sf:Id>001Dn00000AbCdEIAV</sf:Id>", "<Id>x</Id>")),
        "field Id is not in urn:sobject.enterprise.soap.sforce.com",
    ),
    "too-big": (b" " * (1024 * 1024 + 1), "the limit is 1048576 bytes"),
    # an encoding no codec knows, and a codec that is no text encoding: Python's codecs raise LookupError
    "unknown-encoding": (
        b'<?xml version="1.0" encoding="x-nonsense"?>' + _envelope(""),
        "body is not readable XML: unknown encoding: x-nonsense",
    ),
    "bytes-codec-encoding": (
        b'<?xml version="1.0" encoding="rot13"?>' + _envelope(""),
        "body is not readable XML: 'rot13' is not a text encoding",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_what_is_not_an_outbound_message_is_refused_naming_the_problem(name):
    body, expected = MALFORMED[name]
    with pytest.raises(MalformedOutboundMessage, match=expected.replace("(", r"\(").replace(".", r"\.")):
        parse_outbound_message(body)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>&lol2;</soapenv:Body></soapenv:Envelope>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>&xxe;</soapenv:Body></soapenv:Envelope>"
)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<!DOCTYPE x><x/>"],
    ids=["entity-expansion", "external-entity", "bare-dtd"],
)
def test_dtds_and_entities_are_refused_before_anything_is_expanded_or_fetched(body):
    with pytest.raises(MalformedOutboundMessage, match="DTDs, entities and external references are not accepted"):
        parse_outbound_message(body)


@pytest.mark.parametrize(
    ("received", "configured", "same"),
    [
        (ORGANIZATION_ID, ORGANIZATION_ID, True),
        (ORGANIZATION_ID, ORGANIZATION_ID[:15], True),  # the setting as Setup shows it
        (ORGANIZATION_ID[:15], ORGANIZATION_ID, True),
        (ORGANIZATION_ID, ORGANIZATION_ID[:15].lower(), False),  # the 15 characters are case-sensitive
        (ORGANIZATION_ID, OTHER_ORGANIZATION_ID, False),
        ("001Dn00000AbCdEIAV", "001Dn00000AbCdEIAV", False),  # an Account Id is no org
        ("00D5g000004XyZ1XXX", ORGANIZATION_ID, False),  # wrong checksum suffix
        ("", ORGANIZATION_ID, False),
    ],
)
def test_the_organization_is_compared_in_its_18_character_form(received, configured, same):
    assert same_organization(received, configured) is same
    message = parse_outbound_message(
        outbound_message([account_fields_of(sample("german-account"))], organization_id=received or "x")
    )
    assert is_from_organization(message, configured) is (same and bool(received))


def test_an_organization_setting_that_is_no_org_id_is_refused_with_the_reason():
    with pytest.raises(ValueError, match='key prefix "00D"'):
        organization_id("001Dn00000AbCdEIAV")
    assert organization_id("00D5g000004XyZ1") == ORGANIZATION_ID


def _xml(body: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(body)


def test_the_acknowledgement_is_the_wsdls_notifications_response_with_ack_true():
    root = _xml(acknowledgement())
    ack = root.find(
        f"{{http://schemas.xmlsoap.org/soap/envelope/}}Body/{{{OUTBOUND_NS}}}notificationsResponse/{{{OUTBOUND_NS}}}Ack"
    )
    assert ack is not None and ack.text == "true"


def test_a_fault_carries_its_code_and_the_text_escaped():
    root = _xml(fault("Client", "bad <body> & more"))
    found = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/{http://schemas.xmlsoap.org/soap/envelope/}Fault"
    )
    assert found is not None
    assert found.findtext("faultcode") == "soapenv:Client"
    assert found.findtext("faultstring") == "bad <body> & more"
    with pytest.raises(ValueError):
        fault("Receiver", "SOAP 1.2's code")


def test_the_devtools_command_prints_the_fake_orgs_message_for_a_sample_payload(capsysbinary):
    from devtools.fake_salesforce import ORGANIZATION_ID as FAKE_ORGANIZATION_ID
    from devtools.outbound_messages import main
    from tests.support.samples import SAMPLES

    assert main([str(SAMPLES / "us-account.json")]) == 0
    message = parse_outbound_message(capsysbinary.readouterr().out)
    [notification] = message.notifications
    assert message.organization_id == FAKE_ORGANIZATION_ID  # what scripts/run --salesforce fake configures
    assert notification.fields["Id"] == "001Dn00000XyZ12" and notification.fields["Type"] == "Customer"
    assert notification.fields["Name"] == sample("us-account")["name"]


def test_the_devtools_command_prints_a_change_of_a_synced_account_with_its_modstamp(capsysbinary):
    from devtools.outbound_messages import main
    from shared.core.outbound_message import account_change
    from tests.support.samples import SAMPLES

    assert (
        main(
            [
                str(SAMPLES / "us-account.json"),
                "--customer-number",
                "0000100042",
                "--modstamp",
                "2026-12-07T15:00:00.250Z",
            ]
        )
        == 0
    )
    [notification] = parse_outbound_message(capsysbinary.readouterr().out).notifications
    assert notification.fields["SAP_Customer_Number__c"] == "0000100042"
    assert notification.fields["SAP_Sync_Status__c"] == "Synced"
    stamp = "2026-12-07T15:00:00.250Z"
    assert notification.fields["SystemModstamp"] == notification.fields["LastModifiedDate"] == stamp
    assert account_change(notification).system_modstamp == datetime(2026, 12, 7, 15, 0, 0, 250000, tzinfo=UTC)
    with pytest.raises(SystemExit):
        main([str(SAMPLES / "us-account.json"), "--modstamp", "2026-12-07T15:00:00"])  # no offset: refused
