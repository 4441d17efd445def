"""The SAP wire format: every command, answer and error survives the trip; anything else is refused."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from shared.core.models import CustomerCreation
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapCustomerCreated,
    SapDriverMissing,
    SapError,
    SapInterface,
    SapInterfaceMismatch,
    SapMessage,
    SapNeedsReview,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
    wire,
)
from shared.sap.errors import SapNotStarted

CREATION = CustomerCreation(
    account_id="001Dn00000AbCdEIAV",
    parameters={
        "PI_COMPANYDATA": {"NAME": "Müller 🙂 GmbH", "COUNTRY": "DE"},
        "PI_OPT_COMPANYDATA": {},
        "PI_COPYREFERENCE": {"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"},
    },
    search_since=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
)


def test_a_create_command_round_trips_without_the_warnings_it_never_needs():
    decoded = wire.decode_create(wire.encode_create(CREATION))
    assert decoded.account_id == CREATION.account_id and decoded.parameters == CREATION.parameters
    assert decoded.search_since == CREATION.search_since


def test_a_created_answer_round_trips_with_its_messages_and_adoption():
    created = SapCustomerCreated("0000100000", (SapMessage("S", "F2", "171", "created"),), adopted=True)
    assert wire.decode_result(wire.encode_created(created)) == created


ONE_OF_EACH_ERROR = [
    SapTransientError("partner not reached"),
    SapOutcomeUnknown("connection closed after the commit"),
    SapNotStarted("the agent did not start /v1/create in time"),
    SapPermanentError("short dump"),
    SapConfigurationError("logon failed"),
    SapDriverMissing("SDK missing"),
    SapInterfaceMismatch("no field TEL1_EXT"),
    SapBusinessRejection((SapMessage("E", "AM", "215", "Postal code 8033 must have length 5"),)),
    SapNeedsReview("2 candidates", ("0000100000", "0000100001")),
]


def _subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_the_error_list_holds_one_of_every_sap_error_class():
    assert {type(error) for error in ONE_OF_EACH_ERROR} == _subclasses(SapError)


@pytest.mark.parametrize("error", ONE_OF_EACH_ERROR, ids=lambda error: type(error).__name__)
def test_every_error_kind_comes_back_as_the_same_class_with_its_detail(error):
    with pytest.raises(SapError) as raised:
        wire.decode_result(wire.encode_error(error))
    assert type(raised.value) is type(error) and raised.value.detail == error.detail
    assert raised.value.kind == error.kind


def test_the_unknown_outcome_flag_of_a_permanent_error_survives():
    dump = SapPermanentError("short dump after the create was sent")
    dump.outcome_unknown = True
    with pytest.raises(SapPermanentError) as raised:
        wire.decode_result(wire.encode_error(dump))
    assert raised.value.outcome_unknown


def test_not_started_is_its_own_kind_on_the_wire_and_a_transient_error_with_nothing_sent():
    text = wire.encode_error(SapNotStarted("the agent did not start /v1/create in time"))
    data = json.loads(text)
    assert (data["error"], data["outcomeUnknown"]) == ("not_started", False)
    with pytest.raises(SapTransientError) as raised:
        wire.decode_result(text)
    assert isinstance(raised.value, SapNotStarted) and not raised.value.outcome_unknown
    assert raised.value.kind == "transient"  # the ledger's kind: queued as transient, no outcome-unknown flag


def test_an_interface_round_trips_and_an_interface_error_is_raised():
    interface = SapInterface({"NAME": 40, "STREET": 60})
    assert wire.decode_interface(wire.encode_interface(interface)) == interface
    with pytest.raises(SapInterfaceMismatch):
        wire.decode_interface(wire.encode_error(SapInterfaceMismatch("no field NAME")))


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"version": 2, "type": "created", "customerNumber": "1"}),
        json.dumps({"version": 1, "type": "create"}),
        json.dumps({"version": 1, "type": "error", "error": "gremlins"}),
        json.dumps({"version": 1, "type": "error", "error": "rejected", "messages": []}),
    ],
)
def test_anything_that_is_not_a_version_1_message_is_refused(text):
    with pytest.raises(wire.WireFormatError):
        wire.decode_create(text)
    with pytest.raises(wire.WireFormatError):
        wire.decode_result(text)


def test_the_customers_a_search_leaves_out_round_trip_and_are_absent_when_there_are_none():
    creation = CustomerCreation(
        account_id="001Dn00000TwinAIAA",
        parameters={"PI_COMPANYDATA": {"NAME": "X"}},
        search_since=datetime(2024, 5, 1, tzinfo=UTC),
        excluded_customers=("0000100001", "0000100002"),
    )

    assert wire.decode_create(wire.encode_create(creation)) == creation
    # Sent only when there are some: a command without them is exactly what an older app sends.
    plain = dataclasses.replace(creation, excluded_customers=())
    assert "excludedCustomers" not in json.loads(wire.encode_create(plain))
    assert wire.decode_create(wire.encode_create(plain)).excluded_customers == ()


@pytest.mark.parametrize("excluded", ["0000100001", [1, 2], {"a": "b"}])
def test_a_create_whose_excluded_customers_are_not_a_list_of_numbers_is_refused(excluded):
    data = json.loads(wire.encode_create(CustomerCreation(account_id="001Dn00000TwinAIAA", parameters={})))
    data["excludedCustomers"] = excluded

    with pytest.raises(wire.WireFormatError, match="excludedCustomers"):
        wire.decode_create(json.dumps(data))
