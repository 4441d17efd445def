"""Typed settings, read once from the environment.

The names are the app-setting names in Azure (and the keys of local.settings.json). Each setting is
declared once, in `declarations.py` (name, kind, default, bounds, secret, when required, local only, one
line of description); loading (`loading.py`, and `agent.py` for the on-premise agent and telemetry) takes
its defaults and bounds from there, and docs/settings.md, local.settings.example.json and the Bicep parity
test are checked against it. Secrets are only ever read here and are never part of a repr or a log record.
"""

from __future__ import annotations

# The Salesforce adapter's settings and the settings error are declared below both the settings and the
# adapters, which read no settings (pyproject.toml); re-exported here ("X as X").
from shared.core.salesforce_org import GENERIC_LOGIN_HOSTS as GENERIC_LOGIN_HOSTS
from shared.core.salesforce_org import PASSWORD_FLOW_DEPRECATED as PASSWORD_FLOW_DEPRECATED
from shared.core.salesforce_org import SalesforceAuth as SalesforceAuth
from shared.core.salesforce_org import SalesforceSettings as SalesforceSettings
from shared.settings.agent import RelayListenerSettings as RelayListenerSettings
from shared.settings.agent import TelemetrySettings as TelemetrySettings
from shared.settings.agent import agent_environment as agent_environment
from shared.settings.agent import load_agent_concurrency as load_agent_concurrency
from shared.settings.agent import load_agent_proof_key as load_agent_proof_key
from shared.settings.agent import load_answer_deadline as load_answer_deadline
from shared.settings.agent import load_relay_listener_settings as load_relay_listener_settings
from shared.settings.agent import load_simulator_faults as load_simulator_faults
from shared.settings.agent import load_telemetry_settings as load_telemetry_settings
from shared.settings.declarations import DECLARATIONS as DECLARATIONS
from shared.settings.declarations import DECLARED as DECLARED
from shared.settings.declarations import SapTransport as SapTransport
from shared.settings.declarations import Setting as Setting
from shared.settings.declarations import WriteBackMode as WriteBackMode
from shared.settings.loading import RetrySettings as RetrySettings
from shared.settings.loading import SapConnectionSettings as SapConnectionSettings
from shared.settings.loading import Settings as Settings
from shared.settings.loading import load_settings as load_settings
from shared.settings.loading import require_retry_queue_binding as require_retry_queue_binding
from shared.settings.parsers import MIN_PROOF_KEY_LENGTH as MIN_PROOF_KEY_LENGTH
from shared.settings_error import SettingsError as SettingsError
