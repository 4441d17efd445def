"""Where this process runs: the one place that knows how to tell an Azure-hosted app from a laptop."""

from __future__ import annotations

import os
from collections.abc import Mapping

# App Service / Azure Functions set these in every hosted app; a laptop's local host sets neither
# (the project's devhost does not; that Core Tools' `func start` does not is unverified here).
AZURE_HOST_MARKERS = ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID")


def running_in_azure(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in AZURE_HOST_MARKERS)
