"""The SAP path fails closed: a missing driver, an interface the live system lacks, and a duplicate
guard that cannot decide never create a customer by guesswork and never leave a pending claim."""

from __future__ import annotations

import copy
import dataclasses
import json
import types

import azure.functions as func
import pytest

import sap_simulator as simulator
from functions.customers import create_sap_customer
from sap_simulator.interfaces import STRUCTURES
from shared import bootstrap
from shared.core.ledger import LedgerStatus, WriteBackStatus
from shared.core.mapping import split_name
from shared.core.models import CustomerCreation
from shared.core.validation import parse_customer_request
from shared.sap import SapPermanentError
from shared.sap.rfc import RfcSapGateway
from shared.usecases import (
    CannotResolve,
    Outcome,
    RetryOutcome,
    Services,
    create_customer,
    resolve_needs_review,
    retry_create_customer,
)
from tests.support.samples import sample
from tests.support.sap import simulated_gateway

URL = "http://localhost:7071/api/customers"


def post(services: Services, payload: dict) -> tuple[int, dict]:
    bootstrap.override(services, bootstrap._settings)
    request = func.HttpRequest(
        "POST", URL, headers={"Content-Type": "application/json"}, body=json.dumps(payload).encode()
    )
    response = create_sap_customer(request)
    return response.status_code, json.loads(response.get_body())


def drain(services: Services) -> list[RetryOutcome]:
    outcomes = []
    for _ in range(20):
        messages = services.retry_queue.take_all()
        if not messages:
            return outcomes
        outcomes.extend(retry_create_customer(message, services) for message in messages)
    raise AssertionError("retry queue did not drain")


def customers_named(system: simulator.SimulatedSap, name: str) -> list[simulator.CustomerRecord]:
    return system.customers_where("NAME", split_name(name)[0])


# --------------------------------------------------------------------------- driver missing


def test_pyrfcx_without_the_sdk_answers_503_configuration_and_leaves_no_claim(fake_services):
    pytest.importorskip("pyrfcx")  # requirements-dev.txt installs it; it loads the SDK only on connect
    services = dataclasses.replace(
        fake_services,
        sap=RfcSapGateway(
            {"ashost": "127.0.0.1", "sysnr": "00", "client": "100", "user": "RFC_SF", "passwd": "x"},
            rfc_module=None,
            timeout_seconds=5,
        ),
    )

    status, body = post(services, sample("german-account"))

    assert status == 503 and body["error"] == "configuration", body
    assert "SAP NW RFC SDK" in body["message"]
    assert services.ledger.get(body["accountId"]) is None  # nothing pending, nothing queued
    assert services.retry_queue.take_all() == []


def test_pyrfc_whose_native_module_did_not_load_is_the_driver_missing_error(fake_services):
    # SAP's pyrfc prints a failed import of _cyrfc and goes on: `import pyrfc` works, Connection is absent.
    half_loaded = types.ModuleType("pyrfc")
    services = dataclasses.replace(
        fake_services, sap=RfcSapGateway({}, rfc_module=None, module_loader=lambda: half_loaded)
    )

    status, body = post(services, sample("german-account"))

    assert status == 503 and body["error"] == "configuration"
    assert services.ledger.get(body["accountId"]) is None


# --------------------------------------------------------------------------- interface


def test_a_field_the_live_system_lacks_is_one_configuration_error_naming_it(fake_services):
    release = copy.deepcopy(STRUCTURES)
    del release["BAPIKNA106"]["TEL1_EXT"]
    system = simulator.SimulatedSap(structures=release)
    with simulator.use_system(system):
        status, body = post(fake_services, sample("german-account"))

    assert status == 503 and body["error"] == "configuration"
    assert "BAPI_CUSTOMER_CREATEFROMDATA1 parameter PI_COMPANYDATA has no field TEL1_EXT" in body["message"]
    assert fake_services.ledger.get(body["accountId"]) is None
    assert system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


def test_shorter_live_lengths_shorten_the_mapping_and_nothing_is_cut_silently(fake_services):
    release = copy.deepcopy(STRUCTURES)
    for field in ("NAME", "NAME_2", "NAME_3", "NAME_4"):
        release["BAPIKNA106"][field] = ("C", 30)
    system = simulator.SimulatedSap(structures=release)
    request = parse_customer_request(sample("german-account"))
    with simulator.use_system(system):
        result = create_customer(request, dataclasses.replace(fake_services, sap=simulated_gateway()))

    assert result.outcome is Outcome.CREATED
    [record] = system.created_customers()
    lines = [record.address.get(field, "") for field in ("NAME", "NAME_2", "NAME_3", "NAME_4")]
    assert all(len(line) <= 30 for line in lines)
    assert " ".join(line for line in lines if line) == request.name
    assert system.truncations.fields == []


# --------------------------------------------------------------------------- the duplicate guard


def test_an_account_whose_attempts_never_reached_sap_is_created_without_a_search(fake_services, sap_system):
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.down = True
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    sap_system.faults.down = False

    assert drain(fake_services) == [RetryOutcome.CREATED]
    assert sap_system.calls["BAPI_CUSTOMER_FIND"] == 0
    assert fake_services.ledger.get(request.account_id).outcome_unknown is False


def test_a_lost_answer_is_adopted_after_a_search_and_the_ledger_says_so(fake_services, sap_system):
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.arm("communication_after_commit")
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    assert fake_services.ledger.get(request.account_id).outcome_unknown is True

    assert drain(fake_services) == [RetryOutcome.CREATED]

    [customer] = customers_named(sap_system, request.name)
    entry = fake_services.ledger.get(request.account_id)
    assert entry.customer_number == customer.number and entry.adopted and not entry.outcome_unknown
    assert sap_system.calls["BAPI_CUSTOMER_FIND"] == 1
    assert entry.to_status_json()["adopted"] is True


def test_two_plausible_matches_end_needs_review_and_resolve_with_a_number_completes(fake_services, sap_system):
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.arm("communication_after_commit")
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    [first] = customers_named(sap_system, request.name)
    # Someone (or a lost attempt) created a second customer with the same name and address since.
    twin = dataclasses.replace(first, number="0000199999")
    sap_system.add_customer(twin)

    assert drain(fake_services) == [RetryOutcome.NEEDS_REVIEW]
    entry = fake_services.ledger.get(request.account_id)
    assert entry.status is LedgerStatus.NEEDS_REVIEW
    assert first.number in entry.last_error and twin.number in entry.last_error
    assert len(customers_named(sap_system, request.name)) == 2  # no third customer

    # The flow sends the account again: still held, still nothing created.
    again = create_customer(request, fake_services)
    assert again.outcome is Outcome.NEEDS_REVIEW
    assert len(customers_named(sap_system, request.name)) == 2

    resolved = resolve_needs_review(request.account_id, fake_services, customer_number=first.number.lstrip("0"))
    assert resolved.status is LedgerStatus.CREATED and resolved.customer_number == first.number
    assert resolved.adopted and resolved.writeback is WriteBackStatus.DONE
    assert fake_services.writeback.created[request.account_id] == [first.number]
    assert create_customer(request, fake_services).outcome is Outcome.ALREADY_EXISTS


def test_a_needs_review_answer_over_http_is_409_and_never_creates(fake_services, sap_system):
    # 409, a final answer: a 202 would have the flow engine poll its Location until an operator resolves.
    payload = sample("german-account")
    sap_system.faults.arm("communication_after_commit")
    assert post(fake_services, payload)[0] == 202
    [first] = customers_named(sap_system, payload["name"])
    sap_system.add_customer(dataclasses.replace(first, number="0000199999"))
    drain(fake_services)

    status, body = post(fake_services, payload)

    assert status == 409 and body["status"] == "needs_review" and body["error"] == "needs_review"
    assert len(customers_named(sap_system, payload["name"])) == 2


def test_resolve_with_create_creates_once_without_searching_again(fake_services, sap_system):
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.arm("communication_after_bapi")  # the create was sent; SAP committed nothing
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    # The search cannot say "nothing found" in a way this gateway recognises: held for review.
    unsure = dataclasses.replace(fake_services, sap=RfcSapGateway({}, rfc_module=simulator))
    assert drain(unsure) == [RetryOutcome.NEEDS_REVIEW]
    finds = sap_system.calls["BAPI_CUSTOMER_FIND"]

    resolve_needs_review(request.account_id, unsure, create=True)
    assert drain(unsure) == [RetryOutcome.CREATED]

    assert len(customers_named(sap_system, request.name)) == 1
    assert sap_system.calls["BAPI_CUSTOMER_FIND"] == finds
    entry = unsure.ledger.get(request.account_id)
    assert entry.status is LedgerStatus.CREATED and not entry.adopted and entry.payload is None


def test_resolve_refuses_an_account_that_is_not_held_for_review(fake_services):
    request = parse_customer_request(sample("german-account"))
    create_customer(request, fake_services)
    with pytest.raises(CannotResolve, match="only needs_review accounts"):
        resolve_needs_review(request.account_id, fake_services, create=True)


def test_a_stale_claim_is_taken_over_with_a_search_first(fake_services, sap_system):
    """A worker that died holding the claim may have created the customer: the next attempt searches."""
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.arm("communication_after_commit")
    create_customer(request, fake_services)  # SAP holds the customer; the answer was lost
    entry = fake_services.ledger.get(request.account_id)
    # Make it look like a worker died mid-create: PENDING, not marked unknown, older than the window.
    fake_services.ledger.update(
        entry.evolve(
            status=LedgerStatus.PENDING,
            outcome_unknown=False,
            updated_at=entry.updated_at - fake_services.stale_claim_after * 2,
        )
    )
    fake_services.retry_queue.take_all()

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.ALREADY_EXISTS  # adopted, not created twice
    assert len(customers_named(sap_system, request.name)) == 1


@pytest.mark.parametrize("marker", ["WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID"])
def test_the_simulator_itself_refuses_to_serve_inside_an_azure_hosted_app(monkeypatch, marker):
    """Defence in depth beside the settings check: even wired by hand, no fake SAP answers in Azure."""
    monkeypatch.setenv(marker, "func-sap-sync-prod")
    with pytest.raises(simulator.RFCError, match="refuses to serve inside an Azure-hosted function app"):
        simulator.Connection(system=simulator.SimulatedSap())
    gateway = simulated_gateway()
    with pytest.raises(SapPermanentError):
        gateway.create_customer(CustomerCreation("001Dn00000AbCdEIAV", {}))
