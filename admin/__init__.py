"""Operations commands for the sync: `python -m admin --help`.

Run them where the function app's settings are in the environment: Azure Cloud Shell with the app
settings exported, or locally with `AzureWebJobsStorage=UseDevelopmentStorage=true` for Azurite.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    DONE = 0
    NOTHING_DONE = 1  # declined at the prompt, or no such message or account
    USAGE = 2  # bad arguments or settings (argparse uses 2 for usage errors too)
    STORAGE_UNREACHABLE = 3
