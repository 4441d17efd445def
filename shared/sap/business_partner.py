"""BusinessPartnerGateway: the SapGateway port over S/4HANA's OData V2 service API_BUSINESS_PARTNER, where a
customer is a Business Partner kept in step with the customer master by customer/vendor integration (CVI).

Client library: plain `requests` with one session per unit of work, not SAP's `pyodata` (SAP/python-pyodata
1.12). Reasons:
* what pyodata would add is small here: its metadata model (this gateway reads five entity sets' keys,
  properties, flags and MaxLengths, shared/sap/business_partner_metadata.py, ~150 lines with defusedxml)
  and its query builder (one $filter, one $select, one key predicate);
* what the gateway must do is the caller's either way: the CSRF token fetched with the session's cookies,
  If-Match, the OData JSON errors read into SAP messages, OAuth client credentials; with pyodata these
  wrap its session and its HttpError instead of being plain;
* whether a create was sent decides between "nothing happened" and "outcome unknown" (the duplicate guard
  rests on it): requests says where it failed (connect timeout, refused, or after sending), pyodata hides
  the exchange inside its request objects;
* pyodata parses the whole EDMX strictly at start (its policies relax that per error kind): a customer's
  release with an annotation it does not know would stop the gateway; here only what is used is checked,
  and a mismatch is the one SapInterfaceMismatch naming entity set and property;
* no new dependency for the app and the agent (requests is already shipped: requirements.txt), nothing
  more imported at a cold start.

One unit of work (shared/sap/business_partner_http.py's ODataSession, its deadline bounded like the rfc
adapter's) per create:
1. the duplicate guard, always: A_BusinessPartner filtered by BusinessPartnerIDByExtSystem eq the upper-cased
   Salesforce Id. The same GET fetches the CSRF token every write needs, so the guard costs no request of its
   own. One hit is adopted (its customer data completed if an earlier attempt stopped short), none creates,
   several are held for review (SapNeedsReview): an outcome-unknown create never becomes two Business Partners;
2. the reference customer's sales area and company code data (cached for a while: customising-like data);
3. the deep insert of A_BusinessPartner with its address (phone) and the roles FLCU00 and FLCU01;
4. the customer number CVI gave, read from the answer (or read back once);
5. A_CustomerSalesArea and A_CustomerCompany under that customer (A_BusinessPartner/to_Customer is not
   insertable in newer releases: business_partner_facts).
Anything transient after step 3 was sent is SapOutcomeUnknown: the next attempt's guard finds the partner.

The customer number is answered as the rfc adapter answers it, in KUNNR's internal form (a numeric number
padded to 10 digits, shared/core/guard.py's customer_key); OData shows it without the zeros (its ALPHA
conversion), and the requests send it as the service showed it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import requests

from shared.core.business_partner_mapping import (
    BUSINESS_PARTNER,
    BusinessPartnerDraft,
    Lengths,
    business_partner_draft,
    company_data_lengths,
)
from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.core.guard import customer_key
from shared.core.models import CustomerCreation
from shared.core.organization import SapOrganization
from shared.http_sessions import new_session
from shared.sap.business_partner_auth import BearerTokens
from shared.sap.business_partner_change import (
    apply_patches,
    business_partner_patches,
    partner_of_customer,
    read_snapshot,
    refusal,
)
from shared.sap.business_partner_customer import CustomerData, Unit, customer_of, earlier_partners
from shared.sap.business_partner_http import ODataConnection, ODataSession, sap_messages
from shared.sap.business_partner_metadata import read_lengths
from shared.sap.create_log import logged_create
from shared.sap.errors import (
    SapConfigurationError,
    SapError,
    SapNeedsReview,
    SapOutcomeUnknown,
    SapTransientError,
)
from shared.sap.pool import ConnectionPool, PoolClosed, PoolExhausted
from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# As the rfc adapter: one unit of work gets this many request timeouts in all (the ledger's stale-claim
# window derives from it: shared/bootstrap/sap.py).
_UNIT_BUDGET_IN_TIMEOUTS = 4


class BusinessPartnerGateway(SapGateway):
    """Creates customers as Business Partners (see the module docstring).

    `organization`: the same SAP_SALES_AREAS as the one mapping (each sales area's company code and reference
    customer). `grouping`: SAP_BP_GROUPING, the BP grouping (number range) of new partners. `pool_size`: N > 0 keeps
    up to N sessions (cookies, CSRF token) in a bounded pool (shared/sap/pool.py, the rfc adapter's), so at most
    N units talk to SAP at once and a unit waits for a free session within its deadline, as RFC units wait for a
    connection; 0 opens a session per unit and closes it after (no bound)."""

    def __init__(
        self,
        connection: ODataConnection,
        organization: SapOrganization,
        grouping: str,
        *,
        pool_size: int = 0,
        session_factory: Callable[[], requests.Session] = new_session,
        call_log_level: int = logging.INFO,
    ) -> None:
        self._connection = connection
        self._organization = organization
        self._grouping = grouping
        self._pool_size = pool_size
        self._session_factory = session_factory
        self._call_log_level = call_log_level
        self._tokens = (
            BearerTokens(
                connection.token_url or "", connection.client_id or "", connection.client_secret or "", session_factory
            )
            if connection.auth == "oauth"
            else None
        )
        # No idle check: an HTTP session needs none (a new CSRF token is fetched once on SAP's 403 Required, the
        # logon goes with every request: business_partner_http.py); a failed unit's session is discarded.
        self._pool: ConnectionPool | None = (
            ConnectionPool(
                self._open_session,
                pool_size,
                idle_check_seconds=math.inf,
                check=lambda session: None,
                close_connection=lambda session: session.close(),
            )
            if pool_size > 0
            else None
        )
        self._lengths: Lengths | None = None
        self._metadata_lock = threading.Lock()
        self._customer_data = CustomerData()

    @staticmethod
    def longest_unit_seconds(timeout_seconds: float) -> float:
        """The longest one unit can hold a claim: its budget plus one timeout for the OAuth token."""
        return (_UNIT_BUDGET_IN_TIMEOUTS + 1) * timeout_seconds

    # ------------------------------------------------------------------ the port

    def check_interface(self) -> SapInterface:
        return SapInterface(company_data_lengths=company_data_lengths(self._checked_lengths()))

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        draft = business_partner_draft(creation, self._organization, self._grouping, self._checked_lengths())
        if draft.too_long:
            # Mapped before the live lengths were known (SAP was unreachable then): never sent long. The
            # retry maps the request again with the lengths now known, shortening with a warning.
            raise SapTransientError(
                f"{', '.join(draft.too_long)} longer than this SAP system holds; the request is mapped again on retry"
            )
        if draft.company_code is None:
            raise SapConfigurationError(
                f"SAP_SALES_AREAS: sales area {draft.sales_area} has no companyCode; "
                "S/4HANA needs it for the customer's company code data"
            )
        return logged_create(
            logger,
            self._call_log_level,
            creation.account_id,
            lambda: self._unit(lambda unit: self._create_on(unit, creation, draft)),
        )

    # The change path (issue 26): shared/sap/business_partner_change.py.
    def read_customer(self, customer_number: str) -> SapCustomerSnapshot:
        self._checked_lengths()
        return self._unit(lambda unit: read_snapshot(unit, customer_number))

    def change_customer(self, change: CustomerChange) -> SapCustomerChanged:
        patches = business_partner_patches(change.company_data, self._checked_lengths())
        refused = refusal(patches)
        if refused is not None:
            raise refused

        def change_on(unit: Unit) -> SapCustomerChanged:
            partner = partner_of_customer(unit, change.customer_number)
            apply_patches(unit, partner, patches, change.company_data.get("COUNTRY", ""))
            return SapCustomerChanged(customer_key(change.customer_number))

        return self._unit(change_on)

    def ping(self) -> None:
        """A GET of the service document: cheap, and it checks the logon too."""
        self._unit(lambda unit: unit.session.get("", deadline=unit.deadline))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    # ------------------------------------------------------------------ the metadata check

    def _checked_lengths(self) -> Lengths:
        """The MaxLengths of everything used, read from `$metadata` and checked once (later calls answer from
        memory); SapInterfaceMismatch names what differs."""
        if self._lengths is None:
            with self._metadata_lock:
                if self._lengths is None:
                    self._lengths = self._unit(self._read_lengths)
        return self._lengths

    @staticmethod
    def _read_lengths(unit: Unit) -> Lengths:
        answer = unit.session.get("$metadata", deadline=unit.deadline, accept="application/xml")
        assert answer is not None
        return read_lengths(answer.content)

    # ------------------------------------------------------------------ the create unit

    def _create_on(self, unit: Unit, creation: CustomerCreation, draft: BusinessPartnerDraft) -> SapCustomerCreated:
        found = earlier_partners(unit, creation, draft)
        if len(found) > 1:
            raise SapNeedsReview(
                f"{len(found)} Business Partners carry this account's Salesforce Id "
                "(BusinessPartnerIDByExtSystem): an operator decides which is the account's",
                tuple(customer_key(customer) if customer else partner for partner, customer in found),
            )
        if found:
            [(partner, customer)] = found
            unit.partner_exists = True
            if not customer:
                raise SapNeedsReview(
                    f"Business Partner {partner} carries this account's Salesforce Id but no "
                    "customer (roles FLCU00/FLCU01 missing?): an operator completes it",
                    (partner,),
                )
            completed = self._customer_data.complete(unit, customer, draft, known_new=False)
            logger.warning(
                "duplicate guard: adopted SAP customer %s (Business Partner %s)%s",
                customer,
                partner,
                " and completed its sales area or company code data" if completed else "",
                extra={"account_id": creation.account_id, "customer_number": customer},
            )
            return SapCustomerCreated(customer_key(customer), adopted=True)

        reference = self._customer_data.reference(unit, draft)
        unit.create_sent = True
        answer = unit.session.post(BUSINESS_PARTNER, draft.business_partner, deadline=unit.deadline)
        unit.partner_exists = True
        partner = str(answer.entity.get("BusinessPartner") or "").strip()
        customer = str(answer.entity.get("Customer") or "").strip() or customer_of(unit, partner)
        if not customer:
            raise SapOutcomeUnknown(
                f"Business Partner {partner or '(number not answered)'} was created but CVI's "
                "customer number could not be read; the next attempt finds it by its external id"
            )
        self._customer_data.complete(unit, customer, draft, known_new=True, reference=reference)
        return SapCustomerCreated(customer_key(customer), messages=sap_messages(answer))

    # ------------------------------------------------------------------ units of work

    def _unit(self, work: Callable[[Unit], _T]) -> _T:
        """Run `work` on one session within the unit's deadline; anything transient once a create was sent
        is an unknown outcome, and so is any error once the account's partner exists."""
        deadline = time.monotonic() + _UNIT_BUDGET_IN_TIMEOUTS * self._connection.timeout_seconds
        session = self._acquire(deadline)
        unit = Unit(session, deadline)
        succeeded = False
        try:
            result = work(unit)
            succeeded = True
            return result
        except SapTransientError as error:
            if unit.create_sent and not error.outcome_unknown:
                raise SapOutcomeUnknown(f"{error.detail} (after the create was sent)") from None
            raise
        except SapError as error:
            # SAP refused the partner's sales area or company code data, say: the partner stays, and the ledger
            # records that SAP may hold the customer. The next attempt (a resend once the data or customising is
            # fixed) finds the partner by its external id and completes it: never a second one.
            if unit.partner_exists:
                error.outcome_unknown = True
            raise
        finally:
            if self._pool is None:
                session.close()
            else:
                self._pool.release(session, discard=not succeeded)

    def _open_session(self) -> ODataSession:
        return ODataSession(self._connection, self._session_factory, self._tokens)

    def _acquire(self, deadline: float) -> ODataSession:
        """A session for one unit: the pool's (waiting up to `deadline` for one) or a new one. Nothing was sent
        when this fails, so the errors are plain transient ones."""
        if self._pool is None:
            return self._open_session()
        try:
            return self._pool.acquire(deadline)
        except PoolExhausted as error:
            raise SapTransientError(f"no S/4HANA session free in time: {error}") from None
        except PoolClosed as error:
            raise SapTransientError(f"the SAP gateway is shutting down: {error}") from None
