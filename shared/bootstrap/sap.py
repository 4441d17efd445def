"""The composition root's SAP part: which SAP gateway SAP_TRANSPORT names, built with its settings, and the
claim window that follows from the gateway's bound on one unit of work. The agent's build uses only this
part (tests/unit/test_bootstrap.py checks it loads no storage, Salesforce or use-case module)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shared.bootstrap.entry_points import EntryPoint
from shared.settings import SapTransport, Settings, SettingsError

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken

    from shared.sap.inspector import SapInspector
    from shared.sap.port import SapGateway
    from shared.usecases.preflight.sap import SapPreflightParts

# The root's one logger name, so its records read the same whichever part of the root wrote them.
logger = logging.getLogger("shared.bootstrap")

# In the app, the SAP adapter's per-call record is DEBUG: each outcome has its own record at INFO (created,
# rejected, held, queued: shared/usecases/attempt_records.py, attempts.py) and the dependency span times the
# call. One record fewer per sync, each ingested and billed by Application Insights. The agent keeps its INFO line.
_SAP_CALL_LOG_LEVEL = {EntryPoint.FUNCTION_APP: logging.DEBUG, EntryPoint.AGENT: logging.INFO}


def build_sap_gateway(
    config: Settings, entry: EntryPoint = EntryPoint.FUNCTION_APP, *, pool_size: int | None = None
) -> SapGateway:
    """The SAP gateway SAP_TRANSPORT names, with `pool_size` pooled RFC connections (default SAP_POOL_SIZE;
    0: a logon per unit of work). The agent's is the rfc adapter on pyrfc or on the simulator, never the
    relay (it is the relay's other end)."""
    from shared.sap.rfc import RfcSapGateway

    agent = entry is EntryPoint.AGENT
    pool_size = config.sap_pool_size if pool_size is None else pool_size
    if config.sap_transport is SapTransport.SIMULATOR:
        from shared.sap.simulator_driver import import_simulator_module

        simulator = import_simulator_module()
        system = simulator.configure_default_system_from_environment()
        if agent:
            state_file = getattr(system, "state_file", None)
            logging.getLogger("agent").info(
                "SAP: the simulator, its database %s",
                f"in {state_file} (shared with every process that names it)"
                if state_file
                else "in this process's memory (gone when the agent stops)",
            )
        return RfcSapGateway(
            config.sap_connection.parameters,
            rfc_module=simulator,
            timeout_seconds=config.sap_timeout_seconds,
            no_match_messages=config.sap_find_no_match_messages or simulator.NO_MATCH_MESSAGES,
            pool_size=pool_size,
            call_log_level=_SAP_CALL_LOG_LEVEL[entry],
        )
    if config.sap_transport is SapTransport.ODATA:  # S/4HANA's Business Partner service (app or agent)
        from shared.bootstrap.s4 import build_business_partner_gateway

        return build_business_partner_gateway(config, pool_size=pool_size, call_log_level=_SAP_CALL_LOG_LEVEL[entry])
    if config.sap_transport is SapTransport.RFC:
        if not config.sap_find_no_match_messages and not agent:
            logger.warning(
                "SAP_FIND_NO_MATCH_MESSAGE is not set: an account whose create outcome is unknown "
                "will be held for review instead of searched (see docs/sap.md)"
            )
        return RfcSapGateway(
            config.sap_connection.parameters,
            rfc_module=None,
            timeout_seconds=config.sap_timeout_seconds,
            no_match_messages=config.sap_find_no_match_messages,
            pool_size=pool_size,
            call_log_level=_SAP_CALL_LOG_LEVEL[entry],
        )
    if agent:
        raise SettingsError("SAP_TRANSPORT: the agent talks to SAP itself: rfc or simulator, not relay")
    from shared.sap.relay import RELAY_RESPONSE_LIMIT_SECONDS, RelaySapGateway

    relay_url = check_relay_settings(config)
    # Wait for the relay's own answer: the agent answers every request within its deadline (agent/api.py,
    # under the relay's 60 s) or the relay answers 504, so no unit of the agent is still running when this
    # attempt gives up, whatever SAP_TIMEOUT_SECONDS either side has.
    read_timeout = RELAY_RESPONSE_LIMIT_SECONDS + 5
    if stale_claim_window(config.sap_timeout_seconds).total_seconds() < read_timeout:
        # The agent may run a unit up to its answer deadline (50 s) after the request arrived: a claim
        # taken over sooner (its worker died) could start a second unit beside it.
        logger.warning(
            "SAP_TIMEOUT_SECONDS=%g makes the claim window %d s, shorter than the relay's answer "
            "limit: a claim of a worker that died may be taken over while the agent still runs its "
            "unit; keep SAP_TIMEOUT_SECONDS at 12 or more with relay (local tests excepted)",
            config.sap_timeout_seconds,
            stale_claim_window(config.sap_timeout_seconds).total_seconds(),
        )
    return RelaySapGateway(
        relay_url,
        config.sap_relay_key_name,
        config.sap_relay_key,
        credential=None if config.sap_relay_key else ManagedIdentity(config.sap_relay_client_id),
        proof_key=config.sap_agent_proof_key,
        base_url=config.sap_relay_base_url,
        read_timeout_seconds=read_timeout,
    )


def check_relay_settings(config: Settings) -> str:
    """The relay transport's URL, and what its settings mean for the logs: at start and when built."""
    if not config.sap_relay_url:
        raise SettingsError("SAP_RELAY_URL: required when SAP_TRANSPORT=relay")
    if not config.sap_relay_key:
        logger.info("relay: sending with the managed identity (Entra token for the Azure Relay Sender role)")
    if not config.sap_agent_proof_key:
        logger.warning(
            "SAP_AGENT_PROOF_KEY is not set: requests carry no proof for the agent, which refuses "
            "them unless it runs with AGENT_PROOF=off (see agent/README.md)"
        )
    return config.sap_relay_url


class ManagedIdentity:
    """The function app's managed identity for the relay's Entra token (`client_id`: a user-assigned
    identity's AZURE_CLIENT_ID; none: the system-assigned one, or locally the developer's az login):
    azure-identity's DefaultAzureCredential, imported on the first token, not with function_app (cold
    start is measured by scripts/bench)."""

    def __init__(self, client_id: str | None = None) -> None:
        self.client_id = client_id
        self._credential: Any = None

    def get_token(self, *scopes: str, **options: Any) -> AccessToken:
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential(managed_identity_client_id=self.client_id)
        return self._credential.get_token(*scopes, **options)


def stale_claim_window(sap_timeout_seconds: float) -> timedelta:
    """The claim window (shared.core.claims owns the rule) for the SAP gateway's own bound on one unit."""
    from shared.core.claims import stale_claim_after_unit
    from shared.sap.rfc import RfcSapGateway

    return stale_claim_after_unit(RfcSapGateway.longest_unit_seconds(sap_timeout_seconds))


def sap_preflight_parts(config: Settings) -> SapPreflightParts:
    """The go-live check's SAP and relay parts (`python -m admin preflight`, issue 24) for SAP_TRANSPORT: the
    probes on the same gateway the app would build (rfc or simulator: one pooled connection, so the check logs
    on once; relay: through the relay to the agent's /v1/probe, and the relay probe's /v1/about)."""
    import json
    from pathlib import Path

    from shared.core import reference
    from shared.usecases.preflight.sap import SapPreflightParts

    if config.sap_transport is None:
        raise SettingsError("SAP_TRANSPORT: required for the SAP checks (rfc, relay, simulator or odata)")
    relay = None
    if config.sap_transport is SapTransport.ODATA:  # S/4HANA's Business Partner service: probes of its own
        from shared.bootstrap.s4 import odata_connection
        from shared.sap.business_partner import BusinessPartnerGateway
        from shared.sap.business_partner_inspector import BusinessPartnerInspector

        partner_gateway = build_sap_gateway(config, pool_size=1)
        assert isinstance(partner_gateway, BusinessPartnerGateway)
        inspector: SapInspector = BusinessPartnerInspector(partner_gateway, odata_connection(config))
        gateway = None
    else:
        gateway = build_sap_gateway(config, pool_size=1 if config.sap_transport is not SapTransport.RELAY else None)
    if config.sap_transport is SapTransport.RELAY:
        from shared.sap.relay import RelaySapGateway
        from shared.sap.relay_probe import RelayAboutProbe, RelaySapInspector

        assert isinstance(gateway, RelaySapGateway)
        inspector = RelaySapInspector(gateway)
        relay = RelayAboutProbe(gateway)
    elif gateway is not None:
        from shared.sap.rfc import RfcSapGateway
        from shared.sap.rfc_inspector import RfcSapInspector

        assert isinstance(gateway, RfcSapGateway)
        inspector = RfcSapInspector(gateway)
    # The countries whose SAP region keys the mapping relies on (shared/core/reference/sap_regions.json).
    regions = json.loads((Path(reference.__file__).parent / "sap_regions.json").read_text(encoding="utf-8"))
    countries = tuple(sorted({*regions["same_as_iso"], *regions["differs_from_iso"]}))
    return SapPreflightParts(
        transport=config.sap_transport.value,
        inspector=inspector,
        organization=config.sap_organization,
        no_match_messages=config.sap_find_no_match_messages,
        region_countries=countries,
        relay=relay,
    )
