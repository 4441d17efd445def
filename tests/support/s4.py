"""The Business Partner gateway over the S/4 double (s4_simulator/), and the double seen through the questions
the gateway contract suite (tests/contract/) asks of the RFC simulator: which customers SAP holds, one of them,
a twin added behind the product's back, how many creates SAP took, and its faults by the RFC simulator's names.

The suite asks in the RFC simulator's words; here each question is answered from the double's own state, never
from what the gateway said. A customer here is an A_Customer row (made by CVI for a partner with the customer
roles) other than the double's reference customers; its number in the product's spelling (customer_key)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from s4_simulator import S4Simulator
from s4_simulator.creation import PARTNER_OF_CUSTOMER
from s4_simulator.faults import FaultPlan
from s4_simulator.model import new_etag
from s4_simulator.odata import bad_request
from s4_simulator.server import MODIFYING
from s4_simulator.store import Row
from shared.core.business_partner_facts import BUSINESS_PARTNER, CUSTOMER
from shared.core.guard import customer_key
from shared.core.organization import SapOrganization
from shared.sap.business_partner import BusinessPartnerGateway
from shared.sap.business_partner_http import ODataConnection
from shared.settings import load_settings
from tests.support.product import RunningProduct

# Both SAP back ends, for the end-to-end tests' `@pytest.mark.parametrize("product", BACK_ENDS, indirect=True)`.
BACK_ENDS = ("rfc", "s4")
_EXTERNAL_ID = "BusinessPartnerIDByExtSystem"
REFERENCE_CUSTOMERS = frozenset({"0000001000", "0000003000"})  # s4_simulator/reference.py
GROUPING = "BP02"


def business_partner_gateway(
    double: S4Simulator, organization: SapOrganization | None = None, **options: object
) -> BusinessPartnerGateway:
    """The production Business Partner gateway on the double, with the settings' default organization (IDES)."""
    user, password = double.credentials
    organization = organization or load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization
    connection = ODataConnection(double.service_url, user=user, password=password, timeout_seconds=10)
    return BusinessPartnerGateway(connection, organization, GROUPING, **options)  # type: ignore[arg-type]


def odata_settings(double: S4Simulator) -> dict[str, str]:
    """The app settings (or the agent's) of SAP_TRANSPORT=odata on the double, logged on as its communication
    user (shared/settings/s4.py allows plain http to a loopback double only)."""
    user, password = double.credentials
    return {
        "SAP_TRANSPORT": "odata",
        "SAP_ODATA_URL": double.service_url,
        "SAP_ODATA_AUTH": "basic",
        "SAP_ODATA_USER": user,
        "SAP_ODATA_PASSWORD": password,
        "SAP_BP_GROUPING": GROUPING,
    }


def _filters_external_id(target: str) -> bool:
    query = unquote(target.partition("?")[2].replace("+", " "))
    return "$filter=" in query and _EXTERNAL_ID in query


class ScriptedS4Simulator(S4Simulator):
    """The double, with what single tests script beyond its fault
    plan: `lost_before_commit` modifying requests that arrive but are never run, their connection closed
    without an answer (the RFC simulator's `communication_after_bapi`: the create was sent, SAP committed
    nothing); `cut_after_posts`, the ordinals (1 = the first) of POSTs whose answer is cut after their commit;
    `metadata_change`, applied to the `$metadata` it serves (another release's metadata);
    `refuse_external_id_filter`, a system where BusinessPartnerIDByExtSystem may not be filtered. It counts the
    duplicate guard's lookups (`guard_lookups`); `heal()` ends every fault and script."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lost_before_commit = 0
        self.added_partners: set[str] = set()  # made behind the product's back (S4System.add_customer)
        self.posts = 0
        self.cut_after_posts: set[int] = set()
        self.metadata_change: Callable[[bytes], bytes] | None = None
        self.guard_lookups = 0  # GETs filtering A_BusinessPartner by the external id (the duplicate guard's)
        # A system where BusinessPartnerIDByExtSystem may not be filtered (a release or field control): every such
        # $filter is refused as the double refuses a property marked unfilterable (400 in SAP's error shape).
        self.refuse_external_id_filter = False

    def heal(self) -> None:
        """No faults, nothing scripted: the system healthy again (what it holds stays)."""
        self.faults = FaultPlan()
        self.lost_before_commit = 0
        self.cut_after_posts = set()
        self.metadata_change = None
        self.refuse_external_id_filter = False

    def exchange(self, method: str, target: str, headers: dict[str, str], body: bytes):  # type: ignore[override]
        if method == "GET" and self.refuse_external_id_filter and _filters_external_id(target):
            refused = bad_request("FILTER", f"$filter: property {_EXTERNAL_ID} is not filterable")
            return 400, [("Content-Type", "application/json")], refused.body()
        if method in MODIFYING and self.lost_before_commit > 0:
            self.lost_before_commit -= 1
            return None
        answer = super().exchange(method, target, headers, body)
        path = target.split("?")[0].rstrip("/")
        if method == "GET" and _filters_external_id(target):
            self.guard_lookups += 1
        if method == "GET" and path.endswith("/$metadata") and self.metadata_change and answer and answer[0] == 200:
            return answer[0], answer[1], self.metadata_change(answer[2])
        if method == "POST":
            self.posts += 1
            if self.posts in self.cut_after_posts and answer is not None and answer[0] < 300:
                return None
        return answer


@dataclass(frozen=True)
class S4Customer:
    """A customer of the double: its number (customer_key), its partner and the partner's external id.
    `general` is there for the suite's copies of a customer (the RFC simulator's creation data); unused here."""

    number: str
    partner: str
    external_id: str
    general: dict[str, str] = field(default_factory=dict)


class S4Faults:
    """The double's faults by the RFC simulator's names (what the contract suite arms)."""

    _ARMED = {"communication_after_commit": "cut_after_commit"}

    def __init__(self, double: ScriptedS4Simulator) -> None:
        self._double = double

    @property
    def plan(self) -> FaultPlan:
        return self._double.faults

    @property
    def fired(self) -> dict[str, int]:
        """The double's faults that fired, by the double's names (cut_before, cut_after_commit, ...)."""
        return self.plan.fired

    @property
    def down(self) -> bool:
        return self.plan.down

    @down.setter
    def down(self, value: bool) -> None:
        self.plan.down = value

    def arm(self, name: str, times: int = 1) -> None:
        if name in ("communication_after_bapi", "communication_after_change"):
            self._double.lost_before_commit += times
        elif name == "communication_before":  # SAP unreachable for the next requests: 503 before the service
            self.plan.fail_next_calls += times
        else:
            self.plan.arm(self._ARMED[name], times)


class S4System:
    """The double as the contract suite's `system`."""

    def __init__(self, double: ScriptedS4Simulator) -> None:
        self.double = double
        self.faults = S4Faults(double)
        self.find_no_match = "empty"  # BAPI_CUSTOMER_FIND's setting: no such search on S/4 (the guard filters)

    @property
    def calls(self) -> Counter[str]:
        """The partners SAP's service created (its committed creates), under the name the suite counts RFC
        creates by: every partner but the reference customers and those add_customer made."""
        with self.double.database.transaction() as tx:
            partners = [row.key[0] for row in tx.all(BUSINESS_PARTNER.name)]
        created = [p for p in partners if p not in REFERENCE_CUSTOMERS and p not in self.double.added_partners]
        return Counter({"BAPI_CUSTOMER_CREATEFROMDATA1": len(created)})

    def created_customers(self) -> list[S4Customer]:
        with self.double.database.transaction() as tx:
            partners = {row.key[0]: row.record for row in tx.all(BUSINESS_PARTNER.name)}
            customers = [row.record for row in tx.all(CUSTOMER.name)]
        found = []
        for customer in customers:
            number = customer_key(str(customer["Customer"]))
            if number in REFERENCE_CUSTOMERS:
                continue
            partner = str(customer.get(PARTNER_OF_CUSTOMER, ""))
            external = str(partners.get(partner, {}).get("BusinessPartnerIDByExtSystem", ""))
            found.append(S4Customer(number, partner, external))
        return found

    def customers_of_account(self, account_id: str) -> list[S4Customer]:
        """Every Business Partner carrying this account's Salesforce Id as its external id (upper-cased, as the
        gateway stores it), each as its customer (number "" while CVI made none): SAP's own answer to "how
        many customers does this account have", whatever the ledger says."""
        with self.double.database.transaction() as tx:
            rows: list[Row] = tx.with_external_id(BUSINESS_PARTNER.name, account_id.upper())
        return [
            S4Customer(
                customer_key(str(row.record.get("Customer") or "")) if row.record.get("Customer") else "",
                str(row.record["BusinessPartner"]),
                str(row.record.get(_EXTERNAL_ID) or ""),
            )
            for row in rows
        ]

    def customer(self, number: str) -> S4Customer | None:
        return next((c for c in self.created_customers() if c.number == customer_key(number)), None)

    def add_customer(self, customer: S4Customer) -> None:
        """A partner with the customer's external id and customer number, made behind the product's back (by a
        person, or an earlier attempt): a twin the guard must see."""
        partner = f"9{customer.number[-9:]}"
        self.double.added_partners.add(partner)
        with self.double.database.transaction() as tx:
            tx.put(
                BUSINESS_PARTNER.name,
                (partner,),
                {
                    "BusinessPartner": partner,
                    "Customer": customer.number,
                    "BusinessPartnerCategory": "2",
                    "BusinessPartnerGrouping": GROUPING,
                    "BusinessPartnerIDByExtSystem": customer.external_id,
                },
                new_etag(),
                external_id=customer.external_id,
            )
            tx.put(
                CUSTOMER.name,
                (customer.number,),
                {"Customer": customer.number, PARTNER_OF_CUSTOMER: partner},
                new_etag(),
                parent=(partner,),
            )


class S4RunningProduct(RunningProduct):
    """The running product on SAP_TRANSPORT=odata (tests/e2e/): `sap` is the S/4 double as S4System, and an
    account's SAP customers are the partners carrying its Salesforce Id (the payload needs its accountId)."""

    def sap_customers_of(self, payload: dict) -> list:  # type: ignore[override]
        return self.sap.customers_of_account(payload["accountId"])  # type: ignore[attr-defined]

    @classmethod
    def started(cls, base_url: str, system: S4System, *rest: Any) -> S4RunningProduct:
        """The product once its gateway has read $metadata (GET /api/health/sap): a deployed app read it at its
        first use long before a test's first create, so a fault a test arms meets the create itself."""
        import requests

        answer = requests.get(f"{base_url}/api/health/sap", timeout=30)
        assert answer.status_code == 200, answer.text
        return cls(base_url, system, *rest)  # type: ignore[arg-type]


def sap_back_end(request: Any) -> str:
    """The back end a parametrized fixture was asked for ("rfc" unless "s4")."""
    back_end = getattr(request, "param", "rfc")
    assert back_end in BACK_ENDS, back_end
    return back_end


def s4_for_this_test(request: Any) -> tuple[S4System, dict[str, str]]:
    """(`request`: pytest's FixtureRequest; the fixture `s4_double`, tests/e2e/conftest.py.)
    The test's S/4 double and the app settings that point at it."""
    double: ScriptedS4Simulator = request.getfixturevalue("s4_double")
    return S4System(double), odata_settings(double)
