"""The go-live check's use cases (`python -m admin preflight`, issue 24): one module per area, each a plain
function from its ports and what the settings expect to a list of shared.core.preflight.CheckResult, and the
run that orders them (runner.py: settings first, relay before SAP, independent areas always run). The areas
that only read settings (settings, telemetry) live with the settings: shared/settings/preflight*.py."""
