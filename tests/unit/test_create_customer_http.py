"""CreateSAPCustomer and the status endpoint through the real blueprint functions and
azure.functions request/response objects, over the simulator and in-memory ports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import azure.functions as func
import pytest

from functions.customers import create_sap_customer, get_sap_customer_create_outcome, get_sap_customer_sync_status
from functions.health import health, health_sap
from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.models import CustomerCreation
from shared.sap import SapCustomerCreated, SapGateway, SapInterface, SapPermanentError
from shared.sap.rfc import RfcSapGateway
from shared.usecases import Outcome, create_outcome, retry_create_customer
from tests.support.samples import sample, sample_names

URL = "http://localhost:7071/api/customers"


def post(body: bytes | str | dict, content_type: str = "application/json") -> tuple[int, dict, dict]:
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    response = create_sap_customer(func.HttpRequest("POST", URL, headers={"Content-Type": content_type}, body=body))
    return response.status_code, json.loads(response.get_body()), dict(response.headers)


def errors_by_field(body: dict) -> dict[str, str]:
    return {error["field"]: error["message"] for error in body["errors"]}


@pytest.mark.parametrize(
    ("sample_name", "sales_area", "country", "language", "region"),
    [
        ("german-account", ("1000", "10", "00"), "DE", "D", "09"),
        ("us-account", ("3000", "10", "00"), "US", "E", "CA"),
    ],
)
def test_valid_account_is_created_and_reads_back_from_sap(
    fake_services, sample_name, sales_area, country, language, region
):
    payload = sample(sample_name)

    status, body, _ = post(payload)

    assert status == 201, body
    number = body["customerNumber"]
    assert len(number) == 10 and number.isdigit()
    assert body["status"] == "created" and body["trackingId"]
    detail = RfcSapGateway({}, rfc_module=__import__("sap_simulator", fromlist=["x"])).read_customer_detail(number)
    address = detail["CUSTOMERADDRESS"]
    stored_name = " ".join(address[f] for f in ("NAME", "NAME_2", "NAME_3", "NAME_4") if address.get(f))
    assert stored_name == payload["name"]
    assert address["CITY"] == payload["city"]
    assert address["STREET"] == payload["street"]
    assert address["POSTL_CODE"] == payload["postalCode"]
    assert address["COUNTRY"] == country
    assert address["REGION"] == region
    assert address["LANGU"] == language
    areas = {(row["SALESORG"], row["DISTRCHN"], row["DIVISION"]) for row in detail["SALESAREAS"]}
    assert areas == {sales_area}


def test_replay_answers_200_with_the_same_number(fake_services):
    _, first, _ = post(sample("german-account"))
    status, second, _ = post(sample("german-account"))
    assert status == 200
    assert second["customerNumber"] == first["customerNumber"] and second["status"] == "already_exists"


def test_fifteen_character_id_is_answered_with_the_eighteen_character_id(fake_services):
    status, body, _ = post(sample("us-account"))  # the sample carries a 15-character Id
    assert status == 201 and body["accountId"] == "001Dn00000XyZ12IAF"


def test_long_name_is_split_without_loss_and_shortened_street_is_a_warning(fake_services):
    payload = sample("german-account")
    payload["street"] = "Industriestraße 12, Gebäude 7, Hintereingang über den Hof links"
    status, body, _ = post(payload)
    assert status == 201
    assert [w["field"] for w in body["warnings"]] == ["street"]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"accountId": None}, "accountId", "required"),
        ({"accountId": "001Dn00000AbCdEAAA"}, "accountId", "checksum"),
        ({"country": "Atlantis"}, "country", "is not a country name we know"),
        ({"postalCode": "8033"}, "postalCode", "postal code"),
        ({"name": "x" * 141}, "name", "140"),
        ({"city": 42}, "city", "must be a string"),
        ({"division": ["00"]}, "division", "must be a string"),
    ],
)
def test_invalid_field_is_400_naming_the_field(fake_services, change, field, reason):
    payload = sample("german-account")
    payload.update(change)
    payload = {k: v for k, v in payload.items() if v is not None}

    status, body, _ = post(payload)

    assert status == 400
    assert field in errors_by_field(body)
    assert reason.lower() in errors_by_field(body)[field].lower()


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"name": "\u200b\u200b\u200b"}, "name", "is required: must contain visible characters"),
        ({"name": "Acme \u202eHbmG"}, "name", "bidirectional control characters (found U+202E)"),
        ({"street": "Leopoldstraße\u202e 21"}, "street", "bidirectional control characters (found U+202E)"),
    ],
    ids=["zero-width-name", "rlo-in-name", "rlo-in-street"],
)
def test_invisible_or_deceptive_text_is_400_naming_the_field_and_creates_nothing(
    fake_services, sap_system, change, field, reason
):
    payload = sample("german-account")
    payload.update(change)

    status, body, _ = post(payload)

    assert status == 400
    assert reason in errors_by_field(body)[field]
    assert sap_system.calls.get("BAPI_CUSTOMER_CREATEFROMDATA1", 0) == 0


def test_a_byte_order_mark_in_the_name_is_not_stored_in_sap(fake_services):
    payload = sample("german-account")
    payload["name"] = "\ufeff" + payload["name"] + "\u200b"

    status, body, _ = post(payload)

    assert status == 201, body
    detail = RfcSapGateway({}, rfc_module=__import__("sap_simulator", fromlist=["x"])).read_customer_detail(
        body["customerNumber"]
    )
    address = detail["CUSTOMERADDRESS"]
    stored_name = " ".join(address[f] for f in ("NAME", "NAME_2", "NAME_3", "NAME_4") if address.get(f))
    assert stored_name == sample("german-account")["name"]


def test_every_problem_is_reported_at_once(fake_services):
    status, body, _ = post(sample("invalid-account"))
    assert status == 400
    # the sample's five problems, each once (its postal code cannot be judged without a known country)
    assert sorted(error["field"] for error in body["errors"]) == sorted(
        ["accountId", "name", "country", "currencyIsoCode", "language"]
    )


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"{not json", "application/json", "body"),
        (b"[1, 2, 3]", "application/json", "body"),
        (b'"just a string"', "application/json", "body"),
        (b"", "application/json", "body"),
        (b"\xff\xfe{}", "application/json", "body"),
        (json.dumps(sample("german-account")).encode(), "text/plain", "Content-Type"),
        (json.dumps(sample("german-account")).encode(), "", "Content-Type"),
        (b'{"name": "' + b"a" * (1024 * 1024) + b'"}', "application/json", "body"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "body"),
    ],
    ids=["not-json", "array", "string", "empty", "not-utf8", "text-plain", "no-content-type", "1MB", "deep"],
)
def test_malformed_requests_are_400_never_500(fake_services, body, content_type, field):
    status, answer, _ = post(body, content_type)
    assert status == 400
    assert field in errors_by_field(answer)


def test_json_with_charset_is_accepted(fake_services):
    status, _, _ = post(sample("german-account"), "application/json; charset=utf-8")
    assert status == 201


@pytest.mark.parametrize(
    ("change", "expect_in_text"),
    [
        (
            {
                "salesOrganization": "9999",
                "distributionChannel": "10",
                "division": "00",
                "companyCode": None,
                "referenceCustomer": "0000001000",
            },
            "9999",
        ),
        (
            {
                "salesOrganization": "3000",
                "distributionChannel": "10",
                "division": "00",
                "companyCode": None,
                "referenceCustomer": "0000001000",
            },
            "0000001000",
        ),
    ],
    ids=["unknown-sales-area", "reference-customer-not-in-sales-area"],
)
def test_sap_rejection_is_422_with_sap_message(fake_services, change, expect_in_text):
    payload = sample("german-account")
    payload.update(change)
    payload = {k: v for k, v in payload.items() if v is not None}

    status, body, _ = post(payload)

    assert status == 422, body
    message = body["sapMessage"]
    assert message["type"] in ("E", "A") and message["id"] and message["number"]
    assert expect_in_text in message["text"]
    assert body["error"] == "sap_rejected"


def test_region_missing_in_sap_customising_is_422(fake_services, sap_system):
    # ISO 3166-2 knows Bavaria, so validation passes; this SAP system's T005S does not have it.
    del sap_system.customizing.regions["DE"]["09"]
    status, body, _ = post(sample("german-account"))
    assert status == 422
    assert "09" in body["sapMessage"]["text"]


def test_sap_unreachable_is_202_with_retry_after_and_location(fake_services, sap_system):
    sap_system.faults.down = True
    status, body, headers = post(sample("german-account"))
    assert status == 202
    assert body["status"] == "queued" and body["trackingId"]
    assert int(headers["Retry-After"]) == body["retryAfterSeconds"] > 0
    assert headers["Location"] == "http://localhost:7071/api/customers/001Dn00000AbCdEIAV/outcome"


@pytest.mark.parametrize(
    ("url", "forwarded", "location"),
    [
        (URL, {}, "http://localhost:7071"),
        ("https://sap-sync.azurewebsites.net/api/customers", {}, "https://sap-sync.azurewebsites.net"),
        (
            "http://10.0.0.4:8080/api/customers",
            {"X-Forwarded-Host": "sync.example.com", "X-Forwarded-Proto": "https"},
            "https://sync.example.com",
        ),
        (
            "http://10.0.0.4/api/customers",
            {"X-Forwarded-Host": "sync.example.com:8443, proxy.internal"},
            "http://sync.example.com:8443",
        ),
        # Not a host name: ignored, never reflected.
        (
            "https://sap-sync.azurewebsites.net/api/customers",
            {"X-Forwarded-Host": "evil.example/x?y=\r\nSet-Cookie:a"},
            "https://sap-sync.azurewebsites.net",
        ),
        (
            "https://sap-sync.azurewebsites.net/api/customers",
            {"X-Forwarded-Proto": "javascript"},
            "https://sap-sync.azurewebsites.net",
        ),
    ],
    ids=["local", "azure", "forwarded", "first-forwarded-of-several", "malformed-host", "unknown-scheme"],
)
def test_the_location_of_a_202_is_the_absolute_outcome_url_of_the_host_the_caller_reached(
    fake_services, sap_system, url, forwarded, location
):
    # The flow engine wants an absolute Location (logic-apps-create-api-app.md, the asynchronous pattern).
    sap_system.faults.down = True
    request = func.HttpRequest(
        "POST",
        url,
        headers={"Content-Type": "application/json", **forwarded},
        body=json.dumps(sample("german-account")).encode(),
    )

    response = create_sap_customer(request)

    assert response.status_code == 202
    assert response.headers["Location"] == f"{location}/api/customers/001Dn00000AbCdEIAV/outcome"


def test_storage_down_is_503_with_retry_after(fake_services):
    fake_services.ledger.available = False
    status, body, headers = post(sample("german-account"))
    assert status == 503 and "Retry-After" in headers
    assert body["accountId"] == "001Dn00000AbCdEIAV"


def test_abap_runtime_error_after_the_create_was_sent_holds_the_account_for_review(fake_services, sap_system):
    # The short dump came from the create BAPI: the adapter cannot tell whether SAP kept the customer, and
    # `failed` would say it did not (shared.core.retry_policy.status_after_final_failure).
    sap_system.faults.arm("abap_runtime_error")
    status, body, _ = post(sample("german-account"))
    assert status == 409 and body["error"] == "needs_review" and "outcome is unknown" in body["reason"]
    state = status_of("001Dn00000AbCdEIAV")
    assert state[0] == 200 and state[1]["status"] == "needs_review" and state[1]["outcomeUnknown"] is True
    assert "ABAPRuntimeError" in state[1]["lastError"]


class RefusingBeforeSending(SapGateway):
    """SAP's side fails permanently before anything was sent (pyrfc refusing a parameter): the outcome is
    known, nothing can exist."""

    def __init__(self, inner: SapGateway) -> None:
        self.inner = inner

    def check_interface(self) -> SapInterface:
        return self.inner.check_interface()

    def ping(self) -> None:
        self.inner.ping()

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        raise SapPermanentError("BAPI_CUSTOMER_CREATEFROMDATA1: pyrfc refused a parameter (test)")


def test_a_permanent_sap_error_with_a_known_outcome_is_502_and_failed_in_the_status(fake_services):
    fake_services.sap = RefusingBeforeSending(fake_services.sap)
    status, body, _ = post(sample("german-account"))
    assert status == 502 and body["error"] == "sap_failed"
    state = status_of("001Dn00000AbCdEIAV")
    assert state[0] == 200 and state[1]["status"] == "failed" and state[1]["lastError"]
    assert state[1]["outcomeUnknown"] is False


def status_of(account_id: str) -> tuple[int, dict]:
    response = get_sap_customer_sync_status(
        func.HttpRequest("GET", f"{URL}/{account_id}", body=b"", route_params={"accountId": account_id})
    )
    return response.status_code, json.loads(response.get_body())


def test_created_and_repeated_answers_always_carry_the_sap_messages_list(fake_services):
    # README's 201 row and the swagger's CustomerCreated: `messages` is always there, [] when SAP said
    # nothing (a repeat never reaches SAP), so a flow reads it without testing that it exists.
    created_status, created, _ = post(sample("german-account"))
    repeated_status, repeated, _ = post(sample("german-account"))
    assert created_status == 201 and isinstance(created["messages"], list)
    assert repeated_status == 200 and repeated["messages"] == []


def test_status_endpoint(fake_services):
    _, created, _ = post(sample("german-account"))
    status, body = status_of("001Dn00000AbCdE")  # 15-character form finds the same account
    assert status == 200
    assert body["customerNumber"] == created["customerNumber"] and body["status"] == "created"
    assert status_of("001Dn00000XyZ12IAF")[0] == 404
    assert status_of("not-an-id")[0] == 400


@pytest.mark.parametrize(
    "other_id", ["003Dn00000AbCdE", "005Dn00000AbCdE", "00D5g000004XyZ1"], ids=["contact", "user", "organization"]
)
def test_status_and_outcome_refuse_an_id_of_another_object_naming_account_id(fake_services, other_id):
    from shared.core.salesforce_id import checksum_suffix

    for raw in (other_id, other_id + checksum_suffix(other_id)):  # well-formed Ids, but not an Account's
        status, body = status_of(raw)
        assert status == 400 and [error["field"] for error in body["errors"]] == ["accountId"]
        assert "not an Account Id" in body["errors"][0]["message"]
        assert poll(f"{URL}/{raw}/outcome")[0] == 400


def test_health_never_touches_sap_and_reports_storage(fake_services, sap_system):
    sap_system.faults.down = True
    response = health(func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    assert response.status_code == 200 and json.loads(response.get_body())["status"] == "healthy"
    fake_services.ledger.available = False
    response = health(func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    assert response.status_code == 503 and json.loads(response.get_body())["storage"] == "unavailable"
    assert sap_system.calls.get("RFC_PING", 0) == 0


def test_sap_health_pings_sap(fake_services, sap_system):
    request = func.HttpRequest("GET", "http://localhost/api/health/sap", body=b"")
    body = json.loads(health_sap(request).get_body())
    assert body["checks"]["sap"]["ok"] is True and sap_system.calls["RFC_PING"] == 1
    sap_system.faults.down = True
    response = health_sap(request)
    assert response.status_code == 503
    assert json.loads(response.get_body())["checks"]["sap"]["error"] == "SapTransientError"


def test_a_json_integer_beyond_pythons_conversion_limit_is_400(fake_services):
    status, body, _ = post('{"accountId": "001Dn00000AbCdEIAV", "extra": ' + "9" * 5000 + "}")
    assert status == 400 and "body" in errors_by_field(body)


def test_a_setting_missing_at_request_time_is_503_naming_it(monkeypatch):
    from shared import bootstrap

    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("SAP_TRANSPORT", "simulator")
    bootstrap.reset()
    try:
        status, body, headers = post(sample("german-account"))
    finally:
        bootstrap.reset()
    assert status == 503 and body["error"] == "configuration"
    assert "AzureWebJobsStorage" in body["message"] and "Retry-After" in headers


def _readme_posts() -> list[tuple[str, str]]:
    """The README's curl examples that POST a sample, in order: (sample name, the comment after `#`)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^curl .*-X POST .*--data @samples/([\w-]+)\.json\s+#\s*(.+)$", readme, re.MULTILINE)


def test_the_readmes_sample_requests_answer_as_its_comments_say(fake_services):
    posts = _readme_posts()
    assert len(posts) >= 2, "the README's Quick start posts samples with the expected answer as a comment"
    numbers: dict[str, str] = {}
    for name, comment in posts:
        code = re.match(r"(\d{3})\b", comment)
        assert code, f"the README's comment on {name} starts with the status: {comment!r}"
        expected = int(code.group(1))
        status, body, _ = post(sample(name))
        assert status == expected, (name, comment, body)
        if status in (200, 201):
            number = numbers.setdefault(name, body["customerNumber"])
            if "same number" in comment:
                assert body["customerNumber"] == number, (name, comment)
        if "one error per field" in comment:
            fields = [error["field"] for error in body["errors"]]
            assert fields and len(fields) == len(set(fields)), (name, fields)


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_file_is_created_except_an_invalid_one_which_gets_field_errors(fake_services, name):
    status, body, _ = post(sample(name))
    if name.startswith("invalid"):
        assert status == 400 and body["errors"], body
    else:
        assert status == 201 and body["customerNumber"], body


def test_the_samples_include_a_valid_and_an_invalid_account():
    names = sample_names()
    assert any(name.startswith("invalid") for name in names)
    assert any(not name.startswith("invalid") for name in names)


# --- the create's outcome, as the flow engine polls it (GetSAPCustomerCreateOutcome) ----------------------

ACCOUNT = "001Dn00000AbCdEIAV"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def entry(status: LedgerStatus, **fields: object) -> LedgerEntry:
    return LedgerEntry(account_id=ACCOUNT, status=status, tracking_id="t-1", created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "outcome", "number", "error"),
    [
        (entry(LedgerStatus.PENDING), Outcome.IN_PROGRESS, None, None),
        (
            entry(LedgerStatus.QUEUED, error_kind="transient", last_error="SAP unavailable: x"),
            Outcome.QUEUED,
            None,
            "SAP unavailable",
        ),
        (
            entry(LedgerStatus.CREATED, customer_number="0000100042", writeback=WriteBackStatus.DONE),
            Outcome.CREATED,
            "0000100042",
            None,
        ),
        (
            entry(LedgerStatus.CREATED),
            Outcome.FAILED,
            None,
            "the ledger records the account as created but holds no customer number; an operator checks it "
            "(admin status)",
        ),
        (
            entry(LedgerStatus.FAILED, error_kind="rejected", last_error="SAP rejected: E F2 173: no region"),
            Outcome.REJECTED,
            None,
            "SAP rejected: E F2 173: no region",
        ),
        (
            entry(LedgerStatus.FAILED, error_kind="permanent", last_error="SAP error: ABAP dump"),
            Outcome.FAILED,
            None,
            "SAP error: ABAP dump",
        ),
        (
            entry(LedgerStatus.FAILED, error_kind="transient", last_error="SAP unavailable: gave up after 8 attempts"),
            Outcome.FAILED,
            None,
            "SAP unavailable: gave up after 8 attempts",
        ),
        (
            entry(LedgerStatus.NEEDS_REVIEW, error_kind="needs_review", last_error="held for review: 2 candidates"),
            Outcome.NEEDS_REVIEW,
            None,
            "held for review: 2 candidates",
        ),
    ],
    ids=["pending", "queued", "created", "created-without-number", "rejected", "permanent", "attempts-ran-out", "held"],
)
def test_the_create_outcome_of_each_ledger_state(stored, outcome, number, error):
    result = create_outcome(stored, 60)
    assert (result.outcome, result.customer_number, result.error) == (outcome, number, error)
    assert result.account_id == ACCOUNT and result.tracking_id == "t-1"


def test_no_ledger_state_gives_an_outcome_created_without_a_number():
    for status in LedgerStatus:
        for number in (None, "", "0000100042"):
            result = create_outcome(entry(status, customer_number=number), 60)
            assert result.outcome is not Outcome.CREATED or result.customer_number


def poll(location: str) -> tuple[int, dict, dict]:
    account_id = location.rstrip("/").split("/")[-2]
    response = get_sap_customer_create_outcome(
        func.HttpRequest("GET", location, body=b"", route_params={"accountId": account_id})
    )
    return response.status_code, json.loads(response.get_body()), dict(response.headers)


def drain(services) -> None:
    for _ in range(20):
        messages = services.retry_queue.take_all()
        if not messages:
            return
        for message in messages:
            retry_create_customer(message, services)
    raise AssertionError("retry queue did not drain")


def test_a_queued_create_is_polled_202_with_the_same_headers_then_201_with_the_number(fake_services, sap_system):
    sap_system.faults.down = True
    status, first, headers = post(sample("german-account"))
    assert status == 202

    polled, body, poll_headers = poll(headers["Location"])
    assert polled == 202 and body["status"] == "queued"
    assert poll_headers["Location"] == headers["Location"] and poll_headers["Retry-After"] == headers["Retry-After"]

    sap_system.faults.down = False
    drain(fake_services)
    polled, body, poll_headers = poll(headers["Location"])
    assert polled == 201 and body["status"] == "created" and len(body["customerNumber"]) == 10
    assert body["trackingId"] == first["trackingId"] and "Location" not in poll_headers


def test_a_queued_create_that_sap_rejects_is_polled_422_with_sap_s_reason(fake_services, sap_system):
    sap_system.faults.down = True
    _, _, headers = post(sample("german-account"))
    del sap_system.customizing.regions["DE"]["09"]
    sap_system.faults.down = False
    drain(fake_services)

    polled, body, _ = poll(headers["Location"])

    assert polled == 422 and body["status"] == "rejected" and body["error"] == "sap_rejected"
    assert body["reason"].startswith("SAP rejected: E ") and "09" in body["reason"]


def test_the_first_answer_of_a_rejection_has_the_same_reason_as_a_polled_one(fake_services, sap_system):
    del sap_system.customizing.regions["DE"]["09"]
    status, body, _ = post(sample("german-account"))
    assert status == 422
    message = body["sapMessage"]
    assert body["reason"] == f"SAP rejected: {message['type']} {message['id']} {message['number']}: {message['text']}"
    assert poll(f"{URL}/{ACCOUNT}/outcome")[:2] == (
        422,
        {key: value for key, value in body.items() if key not in ("sapMessage", "messages", "warnings")},
    )


def test_an_account_held_for_review_is_a_final_409_not_a_202(fake_services):
    fake_services.ledger.claim(
        entry(LedgerStatus.NEEDS_REVIEW, error_kind="needs_review", last_error="held for review: 2 candidates")
    )
    status, body, headers = post(sample("german-account"))
    assert status == 409 and body["status"] == "needs_review" and body["error"] == "needs_review"
    assert "Location" not in headers
    polled, polled_body, _ = poll(f"{URL}/{ACCOUNT}/outcome")
    assert polled == 409 and polled_body["reason"] == "held for review: 2 candidates"


def test_the_outcome_of_an_unknown_account_is_404_and_of_a_bad_id_400(fake_services):
    assert poll(f"{URL}/001Dn00000XyZ12IAF/outcome")[0] == 404
    assert poll(f"{URL}/not-an-id/outcome")[0] == 400


def test_the_outcome_is_503_with_retry_after_while_storage_is_down(fake_services):
    fake_services.ledger.available = False
    status, body, headers = poll(f"{URL}/{ACCOUNT}/outcome")
    assert status == 503 and body["error"] == "unavailable" and "Retry-After" in headers
