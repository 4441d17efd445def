"""host.json holds no setting its telemetry mode ignores (issue 20 item 7).

Microsoft Learn, "Use OpenTelemetry with Azure Functions" (articles/azure-functions/opentelemetry-howto.md,
Considerations for OpenTelemetry): "Any configuration defined in `logging.applicationInsights` section in
host.json won't apply when `telemetryMode` is set to `OpenTelemetry`." Sampling in that section would read as
if it were in force while Application Insights receives everything the OpenTelemetry exporters send.
"""

from __future__ import annotations

import json

from tests.infra.bicep import ROOT

HOST = json.loads((ROOT / "host.json").read_text())


def test_the_host_exports_with_opentelemetry():
    assert HOST["telemetryMode"] == "OpenTelemetry"


def test_no_application_insights_section_that_opentelemetry_mode_ignores():
    assert "applicationInsights" not in HOST.get("logging", {})
