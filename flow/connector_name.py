"""The custom connector's API name in the flow solution, set to the name your environment gave it.

    python flow/connector_name.py NAME      write NAME into the workflow JSON and Customizations.xml
    python flow/connector_name.py --check   exit 1 while the files still hold the placeholder

Why a step of its own: a connection reference points to an API by the name the environment gives the
custom connector when it is created, `shared_<prefix>-5f<name>-5f<suffix>`, where the suffix is the
environment's own (microsoft/coe-starter-kit: its connector component is
`Connectors/admin_5Foffice-20365-20management-20api.xml`, and its documentation names the API
`shared_admin-5foffice-20365-20management-20api-5f218397e7aabcdef`, "between custom and edit" in the
connector's URL in make.powerautomate.com; its flows' errors name the API
`admin-5foffice-20365-20management-20api-5f55ff5bc0051fd172`). No file in this repository can know the
suffix, so the files hold `-5fSUFFIX` until this script writes the real name; an import with the
placeholder fails (the connector is not found) rather than binding to something else.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SOLUTION = Path(__file__).resolve().parent / "solution"
CUSTOMIZATIONS = SOLUTION / "Other" / "Customizations.xml"
CONNECTION_NAME = "shared_sapcustomersync"  # the flow's name for its connection to the custom connector
PLACEHOLDER_SUFFIX = "SUFFIX"
# The publisher prefix `sapsync`, the connector's name "SAP Customer Sync" as the platform encodes it
# (lower case, space as -20, underscore as -5f), and the environment's suffix.
API_NAME = re.compile(r"shared_sapsync-5f[0-9a-z]+(?:-[0-9a-z]+)*-5f(?:[0-9a-f]+|SUFFIX)")
_API_PREFIX = "/providers/Microsoft.PowerApps/apis/"


def workflow_file() -> Path:
    [path] = sorted((SOLUTION / "Workflows").glob("*.json"))
    return path


def current_name() -> str:
    flow = json.loads(workflow_file().read_text(encoding="utf-8"))
    return flow["properties"]["connectionReferences"][CONNECTION_NAME]["api"]["name"]


def is_placeholder(name: str) -> bool:
    return name.endswith(f"-5f{PLACEHOLDER_SUFFIX}")


def set_name(name: str) -> None:
    """Write `name` (or /providers/Microsoft.PowerApps/apis/<name>) wherever the current name is."""
    name = name.strip().removeprefix(_API_PREFIX)
    if not API_NAME.fullmatch(name) or is_placeholder(name):
        raise ValueError(
            f"'{name}' is not a custom connector API name of the form "
            "shared_sapsync-5f<name>-5f<suffix> (the suffix: lower-case hex digits)"
        )
    old = current_name()
    for path in (workflow_file(), CUSTOMIZATIONS):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", name, text), encoding="utf-8")


def main(arguments: list[str]) -> int:
    if arguments == ["--check"]:
        name = current_name()
        if is_placeholder(name):
            print(
                f"the flow still names the connector {name}: run python flow/connector_name.py NAME first",
                file=sys.stderr,
            )
            return 1
        print(name)
        return 0
    if len(arguments) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        set_name(arguments[0])
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"the flow now names the connector {current_name()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
