"""HTTP sessions for the storage, Salesforce and relay clients: the environment read once, not per request.

A `requests.Session` with `trust_env` (its default) looks at the environment on *every* request
(requests 2.34, sessions.py): `merge_environment_settings` walks all of `os.environ` for `*_proxy`
variables and reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, and `prepare_request` looks for a netrc file
(two `stat` calls) when the request has no auth of its own, which the Azure SDKs' requests never have.
Measured here (bench/README.md): about 0.3 ms of the 1.6 ms of CPU a table operation costs the worker,
more where the environment is larger. A Functions app's environment is its app settings, dozens of
them, and does not change while the worker runs (changing an app setting restarts the app).

So a session reads the environment when it is made. When the environment configures none of what
requests would take from it, the session does not trust it (`trust_env = False`): every request then
goes exactly as it would have, without the look-ups. When it configures any of it (a proxy, a CA bundle,
a netrc file), the session keeps requests' own per-request handling, so `NO_PROXY` and the rest behave
exactly as requests documents. What "any of it" means is taken from requests' own code, not restated:
`urllib.request.getproxies()` is what `get_environ_proxies` consults (the environment on Linux; the
registry or the system configuration on Windows and macOS), and the CA and netrc names are those
`merge_environment_settings` and `get_netrc_auth` read.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

# requests 2.34: sessions.py merge_environment_settings (CA bundles), utils.py get_netrc_auth (NETRC and
# NETRC_FILES, the files it looks for in the home directory).
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
NETRC_VARIABLE = "NETRC"
NETRC_FILES = (".netrc", "_netrc")


def environment_configures_http(
    environ: Mapping[str, str] | None = None,
    proxies: Callable[[], Mapping[str, str]] = urllib.request.getproxies,
    file_exists: Callable[[str], bool] = os.path.exists,
) -> bool:
    """Whether requests would take anything from this environment: a proxy, a CA bundle or netrc."""
    environ = os.environ if environ is None else environ
    if proxies():
        return True
    if any(environ.get(name) for name in CA_BUNDLE_VARIABLES):
        return True
    if environ.get(NETRC_VARIABLE) is not None:
        return True
    return any(file_exists(os.path.expanduser(f"~/{name}")) for name in NETRC_FILES)


def new_session() -> requests.Session:
    """A requests session that reads the environment now instead of on every request (see the module)."""
    import requests

    session = requests.Session()
    session.trust_env = environment_configures_http()
    return session
