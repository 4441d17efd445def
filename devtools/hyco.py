"""Microsoft's Node listener for Hybrid Connections, npm `hyco-https`, to hold the relay double to it.

`install_hyco_https()` installs the pinned version into `.tools/hyco/` (its own npm prefix, so
Azurite's `.tools/` install stays untouched), as devtools/azurite.py installs Azurite.
`write_listener_script()` writes a small listener on it (LISTENER_SCRIPT below).

Pointing hyco-https at the double needs no patch: `createRelayedServer({server: URI, token})` takes
the listen URI as it is (lib/HybridConnectionHttpsServer.js: `this.listenUri = options.server`), so
`ws://127.0.0.1:PORT/$hc/sap?sb-hc-action=listen` works where `createRelayListenUri` would build a
wss:// URI from a namespace. The token comes from hyco's own `createRelayToken` for the
`https://{namespace}/{path}` URI the double pretends to be. Do not pass `id`: 1.4.5 then refers to an
undefined `listenUri` (HybridConnectionHttpsServer.js, `this.listenUri = listenUri + '&id=' ...`).

The one shim: hyco-https renews a token function's token every hour (`moment.duration(1, 'hours')`
handed to `setInterval`). With `RENEW_MS` set, the script shortens exactly that interval (3 600 000 ms)
so a test sees a renewal in well under a second; nothing in hyco-https itself is changed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from devtools.azurite import PROJECT_ROOT, tools_dir

logger = logging.getLogger(__name__)

HYCO_HTTPS_VERSION = "1.4.5"


class HycoError(RuntimeError):
    """hyco-https could not be installed; the message says why."""


def hyco_prefix(project_root: Path | None = None) -> Path:
    return tools_dir(project_root) / "hyco"


def hyco_package(project_root: Path | None = None) -> Path:
    return hyco_prefix(project_root) / "node_modules" / "hyco-https"


def _installed_version(package: Path) -> str | None:
    import json

    try:
        return str(json.loads((package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def install_hyco_https(project_root: Path | None = None) -> Path:
    """The pinned hyco-https in `.tools/hyco/` (installed once; about 5 s, needs the npm registry)."""
    package = hyco_package(project_root)
    if _installed_version(package) == HYCO_HTTPS_VERSION:
        return package
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        raise HycoError(f"{' and '.join(missing)} not found on PATH: hyco-https needs Node.js 20 with npm")
    prefix = hyco_prefix(project_root)
    prefix.mkdir(parents=True, exist_ok=True)
    command = [
        shutil.which("npm") or "npm",
        "install",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        f"hyco-https@{HYCO_HTTPS_VERSION}",
    ]
    logger.info("installing hyco-https %s from npm into %s", HYCO_HTTPS_VERSION, prefix)
    try:
        result = subprocess.run(command, cwd=prefix, capture_output=True, text=True, check=False, timeout=180)
    except subprocess.TimeoutExpired:
        raise HycoError(f"npm install hyco-https@{HYCO_HTTPS_VERSION} took over 180 s") from None
    if result.returncode != 0 or _installed_version(package) != HYCO_HTTPS_VERSION:
        raise HycoError(
            f"npm install hyco-https@{HYCO_HTTPS_VERSION} failed (exit {result.returncode}): "
            f"{result.stderr.strip()[-1000:]}"
        )
    return package


# argv: listen URI, resource URI (https://{namespace}/{path}), key name, key, listener name.
# env: RENEW_MS (shorten hyco's hourly token renewal), HYCO (path of the hyco-https package), TOKEN (a
# ready token string instead of SAS: an Entra token handed over bare, as Azure/azure-relay's
# samples/hybrid-connections/node/rolebasedaccesscontrol/hyco-https/listener.js does with
# `token: await getTokenFunction()`; hyco-https then sends it as it is in ServiceBusAuthorization).
LISTENER_SCRIPT = r"""
'use strict';
const crypto = require('crypto');
const [listenUri, resourceUri, keyName, key, name] = process.argv.slice(2);
if (process.env.RENEW_MS) {
  const original = global.setInterval;
  global.setInterval = (fn, ms, ...rest) => original(fn, ms === 3600000 ? Number(process.env.RENEW_MS) : ms, ...rest);
}
const https = require(process.env.HYCO);
const sha = (buffer) => crypto.createHash('sha256').update(buffer).digest('hex');
const server = https.createRelayedServer(
  { server: listenUri,
    token: process.env.TOKEN || (() => https.createRelayToken(resourceUri, keyName, key, 3600)) },
  (req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://listener');
      if (url.searchParams.get('size')) {
        const big = crypto.randomBytes(Number(url.searchParams.get('size')));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-sha256': sha(big) });
        res.end(big);
        return;
      }
      res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-listener': name });
      res.end(JSON.stringify({ listener: name, method: req.method, url: req.url, length: body.length,
                               sha256: sha(body), test: req.headers['x-test'] || null,
                               authorization: req.headers['authorization'] || null }));
    });
  });
server.on('listening', () => console.log('LISTENING ' + name));
server.on('error', (error) => console.error('ERROR ' + (error && error.message)));
server.listen();
"""


def write_listener_script(directory: Path) -> Path:
    path = directory / "hyco_listener.js"
    path.write_text(LISTENER_SCRIPT)
    return path


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(install_hyco_https(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
