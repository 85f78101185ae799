"""The process's connections to NATS: one on the event loop (the relay, heartbeats), and a
`SyncLink` on a thread of its own for the stores, whose interface is synchronous (the routers
and sessions call stores off the event loop, as they call SQLite)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.subscription import Subscription

if TYPE_CHECKING:
    from ..settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class LinkOptions:
    """Where the NATS servers are and who this process is to them.

    ``url``: one or more comma-separated `nats://[user:password@]host:port`. ``nkey_seed``: a
    file holding an nkey seed (instead of a password). ``name`` shows in the server's
    connection list (`avatar-driver-edge-relay-4711`: role, purpose, process id)."""

    url: str
    name: str
    nkey_seed: str | None = None
    timeout_s: float = 2.0

    async def connect(self, **callbacks: Any) -> Client:
        extra = {"nkeys_seed": self.nkey_seed} if self.nkey_seed else {}
        return await nats.connect(
            servers=[u.strip() for u in self.url.split(",")],
            name=self.name,
            connect_timeout=self.timeout_s,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            allow_reconnect=True,
            **extra,
            **callbacks,
        )


class SyncLink:
    """A NATS connection on its own thread and loop; `call` runs a coroutine there and waits."""

    def __init__(self, options: LinkOptions):
        self.options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{options.name}", daemon=True)
        self._thread.start()
        self.client: Client = self._run(options.connect(), options.timeout_s * 3)

    def call(self, make: Callable[[Client], Coroutine[Any, Any, T]], timeout_s: float | None = None) -> T:
        """``make(client)`` awaited on the link's loop; its result or its exception here."""
        return self._run(make(self.client), timeout_s or self.options.timeout_s * 3)

    def submit(self, make: Callable[[Client], Coroutine[Any, Any, T]]) -> concurrent.futures.Future[T]:
        """``make(client)`` started on the link's loop, not awaited (a task for the link's life)."""
        return asyncio.run_coroutine_threadsafe(make(self.client), self._loop)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("SyncLink.call from the link's own thread would wait for itself")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self.client.drain(), self.options.timeout_s)
        except (nats.errors.Error, TimeoutError, OSError):
            pass  # the server may already be gone; closing goes on
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2.0)
        self._loop.close()


async def unsubscribe(sub: Subscription | None) -> None:
    """Ends a subscription; one whose connection is closing is ended by the server anyway."""
    if sub is None:
        return
    try:
        await sub.unsubscribe()
    except nats.errors.Error:
        pass


def options_for(settings: Settings, purpose: str) -> LinkOptions:
    """This process's connection options; ``purpose`` names the connection (`stores`, `relay`)."""
    return LinkOptions(
        settings.cluster or "", f"avatar-driver-{settings.role}-{purpose}-{os.getpid()}", settings.cluster_nkey_seed
    )


class Background:
    """Tasks started and not awaited, held until they end (the loop keeps only weak
    references to tasks: one nobody holds may be collected before it finishes)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Awaitable[Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        if name:
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
