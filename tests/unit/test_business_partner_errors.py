"""The Business Partner gateway's answers in the one SAP error vocabulary (shared/sap/business_partner_http.py):
the status table, SAP's OData JSON errors read into SAP messages, and the messages of a success."""

from __future__ import annotations

import json

import pytest
import requests

from shared.sap.business_partner_http import Answer, classified_answer, odata_error, query_string, sap_messages
from shared.sap.errors import (
    SapBusinessRejection,
    SapConfigurationError,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.port import SapMessage

# The shape SAP Gateway answers an error in (OData V2 JSON; issue 25's facts).
REJECTED = {
    "error": {
        "code": "R1/286",
        "message": {"lang": "en", "value": "Country ZZ is not defined"},
        "innererror": {
            "errordetails": [
                {"code": "R1/286", "message": "Country ZZ is not defined", "severity": "error"},
                {"code": "/IWBEP/CX_MGW_BUSI_EXCEPTION", "message": "An exception was raised", "severity": "error"},
                {"code": "R1/100", "message": "Check the address", "severity": "warning"},
            ]
        },
    }
}


def response(status: int, body: object = None, **headers: str) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(body).encode() if body is not None else b""
    answer.headers.update(headers)
    return answer


def test_sap_error_details_become_sap_messages_with_class_number_and_type():
    code, text, messages = odata_error(REJECTED)

    assert (code, text) == ("R1/286", "Country ZZ is not defined")
    assert messages == (
        SapMessage("E", "R1", "286", "Country ZZ is not defined"),
        SapMessage("E", "/IWBEP/CX_MGW_BUSI_EXCEPTION", "", "An exception was raised"),
        SapMessage("W", "R1", "100", "Check the address"),
    )


def test_an_error_without_details_is_its_own_one_message():
    _, _, messages = odata_error({"error": {"code": "CX/001", "message": {"value": "Nope"}}})
    assert messages == (SapMessage("E", "CX", "001", "Nope"),)


@pytest.mark.parametrize("body", [{}, {"d": {}}, {"error": "text"}, []])
def test_what_is_not_an_odata_error_gives_no_message(body):
    assert odata_error(body) == ("", "", ())


@pytest.mark.parametrize(
    ("status", "creates", "expected", "unknown"),
    [
        (401, True, SapConfigurationError, False),
        (403, False, SapConfigurationError, False),
        (412, False, SapTransientError, False),
        (428, True, SapTransientError, False),
        (429, True, SapTransientError, False),
        (500, False, SapTransientError, False),
        (503, False, SapTransientError, False),
        # A create answered 5xx may have been saved before the failure (or a proxy answered): fail closed.
        (500, True, SapOutcomeUnknown, True),
        (502, True, SapOutcomeUnknown, True),
        (404, True, SapPermanentError, False),
        (405, False, SapPermanentError, False),
    ],
)
def test_each_status_is_the_error_class_that_says_what_to_do(status, creates, expected, unknown):
    error = classified_answer(
        response(status, {"error": {"code": "X/1", "message": {"value": "t"}}}),
        "POST A_BusinessPartner",
        creates=creates,
    )

    assert type(error) is expected and error.outcome_unknown is unknown
    assert f"HTTP {status}" in error.detail


def test_a_400_is_a_rejection_carrying_sap_s_messages():
    error = classified_answer(response(400, REJECTED), "POST A_BusinessPartner", creates=True)

    assert isinstance(error, SapBusinessRejection)
    assert (error.message.type, error.message.id, error.message.number) == ("E", "R1", "286")
    assert len(error.messages) == 3


def test_a_400_without_a_readable_body_is_still_a_rejection_with_one_message():
    error = classified_answer(response(400), "POST A_CustomerCompany", creates=True)
    assert isinstance(error, SapBusinessRejection) and "HTTP 400" in error.message.text


def test_a_429_honours_retry_after():
    error = classified_answer(_with(response(429), "Retry-After", "7"), "GET A_BusinessPartner", creates=False)
    assert isinstance(error, SapTransientError) and error.retry_after_seconds == 7.0


def _with(answer: requests.Response, header: str, value: str) -> requests.Response:
    answer.headers[header] = value
    return answer


def test_the_messages_of_a_success_come_from_its_sap_message_header():
    header = {
        "code": "R1/001",
        "message": "Partner created",
        "severity": "success",
        "details": [{"code": "R1/002", "message": "Check the tax number", "severity": "warning"}],
    }
    answer = Answer(201, b"{}", {"sap-message": json.dumps(header)})

    assert sap_messages(answer) == (
        SapMessage("S", "R1", "001", "Partner created"),
        SapMessage("W", "R1", "002", "Check the tax number"),
    )


@pytest.mark.parametrize("headers", [{}, {"sap-message": "not json"}, {"sap-message": "[1]"}])
def test_a_success_without_a_readable_sap_message_has_none(headers):
    assert sap_messages(Answer(201, b"{}", headers)) == ()


def test_the_query_writes_blanks_as_percent_20_and_keeps_odata_s_own_characters():
    query = query_string({"$filter": "BusinessPartnerIDByExtSystem eq '001DN'", "$select": "A,B", "sap-client": "100"})
    assert query == "$filter=BusinessPartnerIDByExtSystem%20eq%20'001DN'&$select=A,B&sap-client=100"
