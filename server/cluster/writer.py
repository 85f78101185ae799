"""Publishing from synchronous code on the event loop (sinks, channels): a bounded queue that
one task drains into the NATS connection, in order. When NATS cannot keep up, the oldest
messages go first and are counted — the output clock never waits for NATS."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import nats.errors
from nats.aio.client import Client

from ..metrics import Metrics

log = logging.getLogger(__name__)


class ClusterWriter:
    def __init__(self, client: Client, metrics: Metrics, max_pending: int = 256):
        self._client = client
        self._metrics = metrics
        self._pending: deque[tuple[str, bytes, dict[str, str] | None]] = deque()
        self._max_pending = max_pending
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._drain(), name="cluster-writer")

    def put(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self._metrics.dropped.labels("cluster_backlog").inc()
        self._pending.append((subject, data, headers))
        self._ready.set()

    async def _drain(self) -> None:
        while True:
            while not self._pending:
                self._ready.clear()
                await self._ready.wait()
            subject, data, headers = self._pending.popleft()
            try:
                await self._client.publish(subject, data, headers=headers)
            except nats.errors.Error as e:  # closed or reconnecting beyond its buffer: counted, not fatal
                self._metrics.dropped.labels("cluster_unavailable").inc()
                log.debug("NATS publish to %s failed: %s", subject, e)

    async def close(self) -> None:
        """Sends what is queued (briefly), then stops."""
        for _ in range(50):
            if not self._pending:
                break
            await asyncio.sleep(0.01)
        self._task.cancel()
