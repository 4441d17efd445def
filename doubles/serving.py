"""An HTTP server of a double on a thread of its own: started, and stopped quickly.

The S/4 double (s4_simulator/server.py), the fake Salesforce (devtools/fake_salesforce.py) and the tests' small
endpoints serve this way. `serve_forever` polls for shutdown every `poll_interval` seconds and `shutdown()` waits
for the next poll (Python's socketserver documentation): a short interval keeps every stop quick.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

Server = TypeVar("Server", bound=socketserver.BaseServer)

POLL_INTERVAL_SECONDS = 0.02
JOIN_TIMEOUT_SECONDS = 5.0


def serve_on_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """`server` serving on a daemon thread (started) until stop_serving."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL_SECONDS}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: socketserver.BaseServer | None, thread: threading.Thread | None) -> None:
    """Stop serving, close the listening socket and wait (a bounded time) for the thread; None: nothing to stop."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=JOIN_TIMEOUT_SECONDS)


@contextmanager
def serving(server: Server, name: str) -> Iterator[Server]:
    """`server` serving on a thread of its own while the block runs (a test's endpoint)."""
    thread = serve_on_thread(server, name)
    try:
        yield server
    finally:
        stop_serving(server, thread)
