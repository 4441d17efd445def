"""The Business Partner gateway's session pool (shared/sap/business_partner.py on shared/sap/pool.py): with
SAP_POOL_SIZE=N at most N units talk to S/4HANA at once, each on a session of its own that is kept for the next
unit, as the rfc adapter's units share N connections; a unit that fails gives its session up."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from shared.http_sessions import environment_configures_http
from tests.integration.test_business_partner_gateway import account, mapped
from tests.support.s4 import S4System, business_partner_gateway


class CountingSessions:
    """A session factory that counts the HTTP sessions the gateway opens and how many send at the same time."""

    def __init__(self) -> None:
        self.opened = 0
        self.sending = 0
        self.most_sending = 0
        self._lock = threading.Lock()

    def __call__(self) -> requests.Session:
        counter = self
        with self._lock:
            self.opened += 1

        class Counted(requests.Session):
            def request(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
                with counter._lock:
                    counter.sending += 1
                    counter.most_sending = max(counter.most_sending, counter.sending)
                try:
                    return super().request(*args, **kwargs)
                finally:
                    with counter._lock:
                        counter.sending -= 1

        session = Counted()
        session.trust_env = environment_configures_http()
        return session


def test_eight_creates_at_once_on_a_pool_of_two_use_two_sessions_and_never_send_more_than_two_requests_at_once(
    double,
):
    sessions = CountingSessions()
    gateway = business_partner_gateway(double, pool_size=2, session_factory=sessions)
    gateway.check_interface()  # $metadata read once, on a pooled session
    double.faults.latency_ms = 20  # the creates overlap
    creations = [mapped(gateway, account(number)) for number in range(8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(gateway.create_customer, creations))

    assert len({c.customer_number for c in created}) == 8 == len(S4System(double).created_customers())
    assert sessions.opened == 2
    assert sessions.most_sending <= 2


def test_without_a_pool_each_unit_opens_its_own_session_and_keeps_none(double):
    sessions = CountingSessions()
    gateway = business_partner_gateway(double, pool_size=0, session_factory=sessions)
    gateway.create_customer(mapped(gateway, account(1)))
    opened_after_first = sessions.opened

    gateway.create_customer(mapped(gateway, account(2)))

    assert sessions.opened == opened_after_first + 1
