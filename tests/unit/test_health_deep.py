"""GET /api/health/deep and /api/health/sap over the in-memory ports and the SAP simulator: each
dependency's status and latency, 503 naming what failed, a bounded answer when one hangs, and nothing
secret or host-like in the body."""

from __future__ import annotations

import json
import threading

import azure.functions as func
import pytest

from functions.health import health_deep, health_sap
from shared.core.models import CustomerCreation
from shared.sap import SapCustomerCreated, SapGateway, SapInterface
from shared.usecases.health import CheckStatus, check_dependencies


def deep() -> tuple[int, dict]:
    response = health_deep(func.HttpRequest("GET", "http://localhost/api/health/deep", body=b""))
    return response.status_code, json.loads(response.get_body())


def test_all_fine_is_200_with_status_and_latency_per_dependency(fake_services, sap_system):
    status, body = deep()
    assert status == 200 and body["status"] == "healthy" and body["failed"] == []
    assert set(body["checks"]) == {"sap", "storage", "salesforce"}
    for check in body["checks"].values():
        assert check["status"] == "ok" and check["ok"] is True and check["ms"] >= 0
    assert {"ledger", "retryQueue"} <= set(body["checks"]["storage"])
    assert sap_system.calls["RFC_PING"] == 1


def test_sap_down_is_503_naming_sap_without_its_address(fake_services, sap_system):
    sap_system.faults.down = True
    status, body = deep()
    assert status == 503 and body["failed"] == ["sap"]
    sap = body["checks"]["sap"]
    assert sap["status"] == "failed" and sap["error"] == "SapTransientError"
    assert "SAP unavailable" in sap["detail"]
    assert "sapsim" not in json.dumps(body)  # the simulator's partner address, masked by describe()
    assert body["checks"]["storage"]["ok"] and body["checks"]["salesforce"]["ok"]


def test_a_refused_salesforce_login_is_503_naming_salesforce(fake_services, sap_system):
    fake_services.writeback.login_fails = True
    status, body = deep()
    assert status == 503 and body["failed"] == ["salesforce"]
    assert body["checks"]["salesforce"]["error"] == "SalesforceAuthenticationFailed"


def test_salesforce_is_not_configured_when_the_app_does_not_write_back(fake_services, sap_system):
    fake_services.writeback = None
    status, body = deep()
    assert status == 200 and body["checks"]["salesforce"]["status"] == "not_configured"


@pytest.mark.parametrize(("part", "down"), [("ledger", "ledger"), ("retryQueue", "retry_queue")])
def test_storage_down_is_503_naming_storage_and_the_part(fake_services, sap_system, part, down):
    getattr(fake_services, down).available = False
    status, body = deep()
    assert status == 503 and body["failed"] == ["storage"]
    storage = body["checks"]["storage"]
    assert storage["status"] == "failed" and storage[part]["status"] == "failed"
    assert all(storage[other]["ok"] for other in ("ledger", "retryQueue") if other != part)


def test_several_failures_are_all_named(fake_services, sap_system):
    sap_system.faults.down = True
    fake_services.ledger.available = False
    fake_services.writeback.login_fails = True
    status, body = deep()
    assert status == 503 and body["failed"] == ["sap", "storage", "salesforce"]


class HangingSap(SapGateway):
    """A transport that never answers a ping until released (a black-holed relay or SAP router)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.pinging = threading.Event()

    def ping(self) -> None:
        self.pinging.set()
        self.release.wait(30)

    def check_interface(self) -> SapInterface:
        return SapInterface({})

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        raise AssertionError("not called by a health check")


def test_a_hanging_dependency_is_reported_failed_while_it_still_hangs(fake_services):
    hanging = HangingSap()
    fake_services.sap = hanging
    try:
        report = check_dependencies(fake_services, timeout_seconds=0.3)
        # The answer came while the ping was still blocked: the check did not wait for it.
        assert hanging.pinging.is_set() and not hanging.release.is_set()
    finally:
        hanging.release.set()
    assert report.failed == ["sap"]
    assert report.checks["sap"].error == "Timeout" and "no answer within 0.3 s" in report.checks["sap"].detail
    assert report.checks["storage"].status is CheckStatus.OK


def test_sap_health_answers_with_the_same_check(fake_services, sap_system):
    request = func.HttpRequest("GET", "http://localhost/api/health/sap", body=b"")
    response = health_sap(request)
    body = json.loads(response.get_body())
    assert response.status_code == 200 and body["checks"]["sap"]["status"] == "ok"
    assert body["checks"]["sap"]["interface"] == "checked"
    sap_system.faults.logon_error = True
    response = health_sap(request)
    body = json.loads(response.get_body())
    assert response.status_code == 503 and body["failed"] == ["sap"]
    assert body["checks"]["sap"]["error"] == "SapConfigurationError"
