"""What every stage does around its work: it subscribes to one input topic of its session on
the bus, keeps what arrives under its own queue policy, and works through it in a task on
the event loop, handing blocking calls to a thread of its own (models that keep state
between calls need their calls in order, on one thread). Results go back on the bus.

A stage implements `_keep` (its queue policy), `_work` (one round over what it kept) and,
when it has a thread, `_load` and `_release` (run on that thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from ..metrics import Metrics
from ..protocol.bus import BusMessage, Topic
from .bus import Bus, Subscription


class SessionStage(Protocol):
    """What a session asks of each of its stages: Stage below, or a source that is not fed
    from the bus (vmc_stage.py)."""

    name: str

    @property
    def task(self) -> asyncio.Task[None] | None:
        """What runs while the stage runs (the session watches it), once started."""

    async def start(self) -> None: ...

    def close(self) -> None: ...


class Stage:
    """A stage fed from one of its session's bus topics."""

    topic: Topic  # the input it subscribes to
    name: str  # for its thread and task

    def __init__(self, session_id: str, bus: Bus, metrics: Metrics, own_thread: bool = True):
        self.session_id = session_id
        self.bus = bus
        self.metrics = metrics
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-{session_id}") if own_thread else None
        )
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        """Loads what the stage needs (on its thread), then takes input."""
        if self._executor is not None:
            await self.on_thread(self._load)
        self._subscription = self.bus.subscribe(self.session_id, self.topic, self._take)
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-{self.session_id}")

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The stage's task, once started (the session watches it)."""
        return self._task

    async def on_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def publish(self, message: BusMessage) -> None:
        self.bus.publish(self.session_id, message)

    def _take(self, message: BusMessage) -> None:
        self._keep(message)
        self._ready.set()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            await self._work()

    def close(self) -> None:
        """Synchronous, so it completes while the caller is being cancelled; safe when start()
        was interrupted. What the stage holds is released on its own thread, after whatever
        is still queued there."""
        if self._subscription is not None:
            self._subscription.cancel()
        if self._task is not None:
            self._task.cancel()
        self._forget()
        if self._executor is not None:
            self._executor.submit(self._release)
            self._executor.shutdown(wait=False)

    # -- what a stage implements ----------------------------------------------------------
    def _keep(self, message: BusMessage) -> None:
        raise NotImplementedError

    async def _work(self) -> None:
        raise NotImplementedError

    def _forget(self) -> None:
        """Drop what waits (on close)."""

    def _load(self) -> None:
        """On the stage's thread, before any input."""

    def _release(self) -> None:
        """On the stage's thread, after the last input."""
