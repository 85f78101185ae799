"""This process on the cluster: its relay connection to NATS and its role — an edge, a worker,
or both (`all`) — started in the app's lifespan and stopped at shutdown."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable

import nats.errors
from nats.aio.client import Client
from nats.errors import SlowConsumerError

from ..services import Services, SharedStores
from ..settings import Settings
from .bucket_setup import create_buckets, wait_for_buckets
from .calibration_kv import JetStreamCalibrationStore
from .edge import ClusterEdge
from .erasure import ClusterEraser, ErasureResponder
from .link import SyncLink, options_for
from .rig_objects import ObjectStoreRigs
from .subjects import CALIBRATION_CHANGED
from .votes_kv import JetStreamVoteStore
from .worker import ClusterWorker
from .writer import ClusterWriter

log = logging.getLogger(__name__)
ROLES = ("edge", "worker", "all")


def open_shared_stores(settings: Settings) -> SharedStores:
    """Calibration, votes and uploaded rigs in JetStream, over a link of their own (blocking).
    A worker creates the buckets first; an edge, whose NATS user may not, waits for them."""
    link = SyncLink(options_for(settings, "stores"))
    try:
        if settings.role == "edge":
            wait_s = settings.cluster_bucket_wait_s
            link.call(lambda c: wait_for_buckets(c, wait_s), wait_s + 10)
        else:
            link.call(lambda c: create_buckets(c, settings.directory_ttl_s))
    except BaseException:
        link.close()
        raise
    return SharedStores(
        JetStreamCalibrationStore(link),
        JetStreamVoteStore(link),
        ObjectStoreRigs(link),
        link.close,
    )


class ClusterNode:
    def __init__(self, services: Services):
        self.services = services
        self.edge: ClusterEdge | None = None
        self.worker: ClusterWorker | None = None
        self.client: Client | None = None
        self.writer: ClusterWriter | None = None
        self.erasure: ErasureResponder | None = None
        self.eraser: ClusterEraser | None = None

    async def start(self) -> None:
        s = self.services.settings
        if s.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {s.role!r}")
        self.client = client = await options_for(s, "relay").connect(error_cb=self._on_error)
        self.writer = writer = ClusterWriter(client, self.services.metrics)
        self.services.announce_calibration = lambda user_id: writer.put(CALIBRATION_CHANGED, user_id.encode())
        suffix = secrets.token_hex(3)
        if s.role in ("worker", "all"):
            self.worker = ClusterWorker(self.services, client, writer, f"w{suffix}")
            await self.worker.start()
            self.erasure = await ErasureResponder.start(
                client, self.worker.id, self.services.recordings, self.services.registry
            )
        if s.role in ("edge", "all"):
            self.edge = self.services.edge = ClusterEdge(self.services, client, writer, f"e{suffix}")
            await self.edge.start()
            self.eraser = await ClusterEraser.start(client, s.erase_timeout_s, s.worker_timeout_s)
            self.services.erase_on_workers = self.eraser

    async def _on_error(self, error: Exception) -> None:
        """The NATS client's asynchronous errors: a subscription that fell behind dropped
        messages (counted; stale frames are meant to go), anything else is logged."""
        if isinstance(error, SlowConsumerError):
            self.services.metrics.dropped.labels("cluster_slow_consumer").inc()
        else:
            log.warning("NATS: %s", error)

    async def close(self) -> None:
        """Leaves the cluster within a bounded time and never raises, NATS reachable or not:
        whatever the app closes after this (the tool pool's processes) must still be closed."""
        grace = self.services.settings.claim_timeout_s
        parts = (("eraser", self.eraser), ("erasure", self.erasure), ("edge", self.edge), ("worker", self.worker))
        for step, closing in (*parts, ("writer", self.writer)):
            if closing is not None:
                await _bounded(step, closing.close(), grace)
        if self.client is not None:
            if self.client.is_connected:
                await _bounded("drain", self.client.drain(), grace)
            if not self.client.is_closed:  # NATS unreachable (reconnecting), or draining took too long
                await _bounded("close", self.client.close(), grace)


async def _bounded(step: str, closing: Awaitable[None], timeout_s: float) -> None:
    try:
        await asyncio.wait_for(closing, timeout_s)
    # RuntimeError: the NATS client's close flushes what it buffered while reconnecting onto a
    # transport uvloop has already closed ("the handler is closed").
    except (TimeoutError, nats.errors.Error, OSError, RuntimeError) as e:
        log.warning("leaving the cluster: %s did not close cleanly (%s); going on", step, type(e).__name__)
