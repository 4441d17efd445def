"""The S/4 double's faults over real HTTP: a line cut before the request runs loses nothing and creates
nothing, a line cut or a timeout after the commit loses only the answer (the partner is there and found
by its external id), 503s, and the fault settings string refused clearly when malformed."""

from __future__ import annotations

import contextlib

import pytest
import requests

from s4_simulator import FaultPlan, FaultSettingsError, S4Simulator
from tests.integration.s4_simulator_support import S4Client, partner_body

EXTERNAL_ID = "001AB00000ABCDEFGH"


@pytest.fixture
def client(s4: S4Simulator) -> S4Client:
    client = S4Client(s4)
    client.fetch_token()
    return client


def test_a_line_cut_before_the_create_runs_creates_nothing(s4, client):
    s4.faults.arm("cut_before")
    with pytest.raises(requests.ConnectionError):
        client.post("/A_BusinessPartner", partner_body())
    assert client.partners_with_external_id(EXTERNAL_ID) == []
    assert s4.counters["committed"] == 0


def test_a_line_cut_after_the_commit_loses_the_answer_but_not_the_partner(s4, client):
    s4.faults.arm("cut_after_commit")
    with pytest.raises(requests.ConnectionError):
        client.post("/A_BusinessPartner", partner_body())
    found = client.partners_with_external_id(EXTERNAL_ID)
    assert len(found) == 1 and found[0]["Customer"]


def test_a_timeout_after_the_commit_loses_the_answer_but_not_the_partner(s4, client):
    s4.faults.stall_ms = 5_000  # longer than the client waits; stop() ends the stall
    s4.faults.arm("stall_after_commit")
    with pytest.raises(requests.Timeout):
        client.post("/A_BusinessPartner", partner_body(), timeout=0.5)
    assert len(client.partners_with_external_id(EXTERNAL_ID)) == 1


def test_a_timeout_before_the_create_runs_creates_nothing(s4, client):
    s4.faults.stall_ms = 5_000
    s4.faults.arm("stall_before")
    with pytest.raises(requests.Timeout):
        client.post("/A_BusinessPartner", partner_body(), timeout=0.5)
    assert client.partners_with_external_id(EXTERNAL_ID) == []


def test_unavailable_and_fail_next_calls_answer_503_and_run_nothing(s4, client):
    s4.faults.arm("unavailable")
    assert client.post("/A_BusinessPartner", partner_body()).status_code == 503
    s4.faults.fail_next_calls = 2
    assert client.post("/A_BusinessPartner", partner_body()).status_code == 503
    assert client.get("/A_BusinessPartner").status_code == 503
    assert client.partners_with_external_id(EXTERNAL_ID) == []
    assert client.post("/A_BusinessPartner", partner_body()).status_code == 201


def test_a_system_that_is_down_answers_every_request_503(s4, client):
    s4.faults.down = True
    assert client.get("/$metadata").status_code == 503
    s4.faults.down = False
    assert client.get("/$metadata").status_code == 200


def test_cuts_before_and_after_the_commit_leave_exactly_the_partners_whose_create_was_committed(s4, client):
    plan = s4.faults = FaultPlan.parse("cut_after_commit=0.4,cut_before=0.2,seed=7")
    for index in range(30):
        with contextlib.suppress(requests.ConnectionError):  # no answer: the caller cannot tell which cut
            client.post("/A_BusinessPartner", partner_body(f"001AB00000STORM{index:03d}"))
    s4.faults = FaultPlan()
    stored = [client.partners_with_external_id(f"001AB00000STORM{index:03d}") for index in range(30)]
    assert plan.fired.get("cut_before", 0) > 0 and plan.fired.get("cut_after_commit", 0) > 0
    assert sum(len(rows) for rows in stored) == s4.counters["committed"] == 30 - plan.fired["cut_before"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("explode", "unknown fault 'explode'"),
        ("cut_before", "'cut_before' needs a value"),
        ("cut_before=2", "'2' is not a valid value for cut_before"),
        ("down=maybe", "'maybe' is not a valid value for down"),
    ],
)
def test_a_malformed_fault_setting_is_refused_naming_the_setting_and_the_item(text, message):
    with pytest.raises(FaultSettingsError, match=message) as raised:
        FaultPlan.parse(text)
    assert str(raised.value).startswith("S4_SIMULATOR_FAULTS: ")


def test_a_fault_setting_string_sets_every_named_fault():
    plan = FaultPlan.parse("latency_ms=20, cut_after_commit=0.05, stall_ms=100, down, fail_next_calls=3, seed=1")
    assert (plan.latency_ms, plan.stall_ms, plan.down, plan.fail_next_calls) == (20, 100, True, 3)
    assert plan.probabilities["cut_after_commit"] == 0.05 and plan.probabilities["cut_before"] == 0.0
