"""The real app under uvicorn on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from server.app import create_app
from server.settings import Settings

from .sockets import free_tcp_port


@contextmanager
def serving(settings: Settings) -> Iterator[int]:
    """Serves ``settings``' app until the block ends; yields the port."""
    port = free_tcp_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(10)
