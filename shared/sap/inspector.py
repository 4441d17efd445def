"""The go-live check's ports to SAP and to the relay (`python -m admin preflight`, issue 24): read-only probes,
never a create, never a commit.

`SapInspector` asks the SAP system what the product relies on: the logon, the metadata self-check of every
function the gateway calls, a customer and its sales areas, and a raw BAPI_CUSTOMER_FIND answered as it came
(RETURN and RESULT_TAB). Adapters: shared/sap/rfc_inspector.py (pyrfc, pyrfcx or the simulator, in process)
and shared/sap/relay_probe.py (the same probes through the relay to the on-premise agent's `POST /v1/probe`).

`RelayProbe` asks the relay and the agent behind it one harmless question (`GET /v1/about`) and answers what
came back as it came, so the go-live check can tell the relay refusing the app's token from no listener, the
agent refusing the app's proof and an agent too old for the probes (shared.core.preflight_relay decides).

Errors: the one hierarchy of shared/sap/errors.py (a logon that fails is a SapConfigurationError, an
unreachable system a SapTransientError, a missing function a SapInterfaceMismatch).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.core.organization import SalesArea
from shared.core.preflight_relay import RelayAnswer
from shared.sap.errors import SapConfigurationError
from shared.sap.port import SapInterface, SapMessage


@dataclass(frozen=True)
class SapSystemInfo:
    """Who answered the logon: RFC_SYSTEM_INFO's RFCSI_EXPORT (system id, release, database system), or
    empty fields and `note` when only RFC_PING answered (RFC_SYSTEM_INFO not allowed for the RFC user).
    `find_no_match_messages`: what the gateway that runs the creates (the agent's, behind the relay) reads as
    BAPI_CUSTOMER_FIND's "nothing found", its SAP_FIND_NO_MATCH_MESSAGE; None when not known.
    `probes`: False when the gateway that runs the creates has no go-live probes (not the RFC adapter: S/4HANA's
    OData gateway); nothing was asked of SAP then, and `note` says what to check by hand."""

    system_id: str = ""
    release: str = ""
    database_system: str = ""
    note: str = ""
    find_no_match_messages: tuple[tuple[str, str], ...] | None = None
    probes: bool = True


@dataclass(frozen=True)
class CustomerProbe:
    """One customer as BAPI_CUSTOMER_GETDETAIL2 and BAPI_CUSTOMER_GETSALESAREAS answer it: `exists` is False when
    GETDETAIL2's RETURN says an error or shows no customer (`messages` hold what it said, for the report);
    `name` (CUSTOMERADDRESS-NAME, cut to what KNA1-NAME1 holds, as the duplicate guard searches) and `country`
    (CUSTOMERADDRESS-COUNTRY) feed the FIND probes; `sales_areas` are GETSALESAREAS' rows (BAPIKNVVKY),
    `sales_area_messages` its RETURN."""

    number: str
    exists: bool
    name: str = ""
    country: str = ""
    sales_areas: tuple[SalesArea, ...] = ()
    messages: tuple[SapMessage, ...] = ()
    sales_area_messages: tuple[SapMessage, ...] = ()


@dataclass(frozen=True)
class FindCriterion:
    """One SELOPT_TAB row (BAPIKNA110): a KNA1 field and the value it must hold (no placeholders)."""

    field_name: str
    value: str
    table_name: str = "KNA1"


@dataclass(frozen=True)
class FindResultRow:
    """One RESULT_TAB row (BAPIKNA111): the customer it names (empty for a message row) and its message, if any."""

    customer: str
    message: SapMessage | None = None


@dataclass(frozen=True)
class FindAnswer:
    """BAPI_CUSTOMER_FIND's answer as it came: the RETURN export (BAPIRETURN1, None when initial) and every
    RESULT_TAB row."""

    returned: SapMessage | None
    rows: tuple[FindResultRow, ...] = field(default=())


class SapInspector(ABC):
    """Read-only probes of the SAP system, each its own unit of work (one logon each without a pool)."""

    @abstractmethod
    def system_info(self) -> SapSystemInfo:
        """Log on and say who answered (RFC_SYSTEM_INFO; RFC_PING when the RFC user may not call it)."""

    @abstractmethod
    def check_interface(self) -> SapInterface:
        """The gateway's metadata self-check (SapGateway.check_interface): SapInterfaceMismatch naming what is
        missing."""

    @abstractmethod
    def customer(self, number: str) -> CustomerProbe:
        """BAPI_CUSTOMER_GETDETAIL2 and BAPI_CUSTOMER_GETSALESAREAS of `number` (padded to KUNNR's 10 digits)."""

    @abstractmethod
    def find(self, criteria: Sequence[FindCriterion], max_rows: int) -> FindAnswer:
        """BAPI_CUSTOMER_FIND with these SELOPT_TAB rows, MAX_CNT `max_rows`, PL_HOLD off."""


class NoProbes(SapInspector):
    """The probes of a gateway they are not written for (S/4HANA's OData service, SAP_TRANSPORT=odata, in the app
    or in the agent): `system_info` says so (`probes` False, `why` the manual step); every other probe refuses.
    Nothing is guessed: the go-live check skips its SAP checks and prints `why`."""

    def __init__(self, why: str) -> None:
        self.why = why

    def system_info(self) -> SapSystemInfo:
        return SapSystemInfo(note=self.why, probes=False)

    def check_interface(self) -> SapInterface:
        raise SapConfigurationError(self.why)

    def customer(self, number: str) -> CustomerProbe:
        raise SapConfigurationError(self.why)

    def find(self, criteria: Sequence[FindCriterion], max_rows: int) -> FindAnswer:
        raise SapConfigurationError(self.why)


# What NoProbes says for S/4HANA's Business Partner gateway (the app's or the agent's).
ODATA_NOT_PROBED = (
    "the go-live SAP probes are written for the RFC BAPIs (rfc, relay, simulator), not for S/4HANA's OData "
    "service (SAP_TRANSPORT=odata): check by hand that the RFC-free gateway's user reads API_BUSINESS_PARTNER's "
    "$metadata, and that each sales area of SAP_SALES_AREAS exists (SPRO, or Fiori 'Manage Business Partner "
    "Master Data')"
)


class RelayProbe(ABC):
    """One harmless request through the relay to the agent (`GET /v1/about`, no SAP call)."""

    @property
    @abstractmethod
    def uses_managed_identity(self) -> bool:
        """True when the app sends with its managed identity's Entra token, False with a SAS rule."""

    @abstractmethod
    def about(self) -> RelayAnswer:
        """`GET /v1/about` with the relay token and the app's proof, answered as it came."""
