"""The go-live check's relay area (issue 24), with SAP_TRANSPORT=relay: one `GET /v1/about` through the relay
to the on-premise agent (no SAP call) shows whether the relay accepts the app's token, an agent listens, the
agent accepts the app's proof, its wire version and operations fit this app, and the round trip's time.
The decisions are shared/core/preflight_relay.py's (relay_checks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.core.preflight import Area, CheckResult, skipped
from shared.core.preflight_relay import AgentExpectation, relay_checks
from shared.sap.wire_probe import AGENT_OPERATIONS, PROBE_WIRE_VERSION

if TYPE_CHECKING:
    from shared.usecases.preflight.sap_parts import SapPreflightParts


def check_relay(parts: SapPreflightParts) -> list[CheckResult]:
    """The relay's checks in order (area Area.RELAY); one SKIPPED result when the transport is not the relay."""
    if parts.transport != "relay" or parts.relay is None:
        return [skipped(Area.RELAY, "relay", "the relay to the on-premise agent", "SAP_TRANSPORT is not relay")]
    expected = AgentExpectation(PROBE_WIRE_VERSION, AGENT_OPERATIONS)
    return relay_checks(parts.relay.about(), expected, parts.relay.uses_managed_identity)
