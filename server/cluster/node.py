"""This process on the cluster: its relay connection to NATS and its role — an edge, a worker,
or both (`all`) — started in the app's lifespan and stopped at shutdown."""

from __future__ import annotations

import logging
import secrets

from nats.aio.client import Client
from nats.errors import SlowConsumerError

from ..services import Services, SharedStores
from ..settings import Settings
from .calibration_kv import JetStreamCalibrationStore
from .edge import ClusterEdge
from .link import SyncLink, options_for
from .rig_objects import ObjectStoreRigs
from .subjects import CALIBRATION_CHANGED
from .votes_kv import JetStreamVoteStore
from .worker import ClusterWorker
from .writer import ClusterWriter

log = logging.getLogger(__name__)
ROLES = ("edge", "worker", "all")


def open_shared_stores(settings: Settings) -> SharedStores:
    """Calibration, votes and uploaded rigs in JetStream, over a link of their own (blocking)."""
    link = SyncLink(options_for(settings, "stores"))
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
        if s.role in ("edge", "all"):
            self.edge = self.services.edge = ClusterEdge(self.services, client, writer, f"e{suffix}")
            await self.edge.start()

    async def _on_error(self, error: Exception) -> None:
        """The NATS client's asynchronous errors: a subscription that fell behind dropped
        messages (counted; stale frames are meant to go), anything else is logged."""
        if isinstance(error, SlowConsumerError):
            self.services.metrics.dropped.labels("cluster_slow_consumer").inc()
        else:
            log.warning("NATS: %s", error)

    async def close(self) -> None:
        if self.edge is not None:
            await self.edge.close()
        if self.worker is not None:
            await self.worker.close()
        if self.writer is not None:
            await self.writer.close()
        if self.client is not None:
            await self.client.drain()
