"""The go-live probes over RFC (shared/sap/rfc_inspector.py) on the production rfc adapter and the simulator:
the logon probe falls back to RFC_PING only when RFC_SYSTEM_INFO itself is refused, never after a failed logon
(repeated failed logons lock the SAP user), and a FIND probe answers RETURN and RESULT_TAB as they came."""

from __future__ import annotations

import pytest

import sap_simulator as simulator
import sap_simulator.system
from shared.sap.errors import SapConfigurationError
from shared.sap.inspector import FindCriterion
from shared.sap.rfc import RfcSapGateway
from shared.sap.rfc_inspector import RfcSapInspector


def inspector(system: simulator.SimulatedSap, **logon: str) -> RfcSapInspector:
    return RfcSapInspector(
        RfcSapGateway(
            {"system": system, **logon},
            rfc_module=simulator,  # type: ignore[dict-item]
            no_match_messages=[("f2", "173")],
        )
    )


def test_a_system_without_rfc_system_info_for_the_user_still_passes_the_logon_by_rfc_ping(monkeypatch):
    system = simulator.SimulatedSap()
    monkeypatch.delitem(sap_simulator.system.INTERFACES, "RFC_SYSTEM_INFO")
    info = inspector(system).system_info()
    assert info.system_id == "" and "RFC_PING answered" in info.note
    assert system.calls["RFC_PING"] == 1
    assert info.find_no_match_messages == (("F2", "173"),)


def test_a_failed_logon_is_not_tried_again_with_rfc_ping():
    system = simulator.SimulatedSap(credentials=("SAP_SYNC_RFC", "right"))
    with pytest.raises(SapConfigurationError):
        inspector(system, user="SAP_SYNC_RFC", passwd="wrong").system_info()
    assert system.calls["RFC_PING"] == 0 and system.counters["logons"] == 0


def test_a_find_probe_answers_return_and_result_tab_as_they_came():
    system = simulator.SimulatedSap(find_no_match="return", find_no_match_message=("ZCUST", "042"))
    nothing = inspector(system).find([FindCriterion("NAME1", "ZZ NO SUCH NAME")], max_rows=2)
    assert nothing.rows == ()
    assert nothing.returned is not None and (nothing.returned.type, nothing.returned.id) == ("E", "ZCUST")
    found = inspector(system).find([FindCriterion("NAME1", "Becker Berlin")], max_rows=2)
    assert found.returned is None and [row.customer for row in found.rows] == ["0000001000"]


def test_a_customer_probe_pads_the_number_and_reads_name_country_and_sales_areas():
    probe = inspector(simulator.SimulatedSap()).customer("3000")
    assert (probe.number, probe.exists, probe.name, probe.country) == ("0000003000", True, "Thomas Bush Inc.", "US")
    assert [str(area) for area in probe.sales_areas] == ["3000/10/00"]
