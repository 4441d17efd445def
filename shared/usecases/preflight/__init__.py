"""The go-live check's use cases (`python -m admin preflight`, issue 24): one module per area, each a plain
function from its ports and what the settings expect to a list of shared.core.preflight.CheckResult."""
