"""The composition root: the settings, stores, models, pools and live sessions one server
process runs with, wired to the ports the layers below declare (server/live/ports.py,
server/transports/ports.py). It imports downward only; nothing below imports it.

Opened once in the app's lifespan (`Services.open`), closed at shutdown, and shared by the
routers, the transports (as their `Gateway`) and the cluster roles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from calibration.table import CalibrationTable

from . import __version__
from .assets.rig_store import RigMirror, RigStore, avatar_url
from .assets.strategy_registry import StrategyRegistry
from .inference.speech_service import SpeechService
from .inference.vmc_input import VmcListener
from .live.assemble import SessionAssembler
from .live.bus import Bus, InProcessBus
from .live.connection_guard import ConnectionLimits
from .live.controller import SessionController
from .live.ports import (
    CalibrationPublisher,
    Connection,
    HelloPolicy,
    LivePorts,
    SessionOptions,
    SessionResources,
)
from .live.registry import Parked, SessionRegistry, WatchRefusal
from .live.session import Session
from .metrics import Metrics
from .models.store import ModelStore
from .pools.inference_pool import InferenceWorkerPool
from .pools.tool_pool import ToolPool
from .protocol import envelopes
from .protocol.envelopes import Outgoing, SessionInfo
from .settings import Settings
from .sinks.outbox import ClientChannel
from .sinks.wire import Subscriber
from .stores.calibration import CalibrationStorage, CalibrationStore
from .stores.recordings import RecordingStore
from .stores.users import WorkersErased
from .stores.votes import VoteStorage, VoteStore


class Edge(Protocol):
    """A cluster edge (server/cluster/edge.py): publishers relayed to workers, watchers of
    sessions held anywhere."""

    def open_connection(self, channel: ClientChannel) -> Connection: ...

    async def watch(self, session_id: str, subscriber: Subscriber, wait: bool) -> Outgoing | WatchRefusal: ...

    async def unwatch(self, session_id: str, subscriber: Subscriber) -> None: ...


@dataclass
class SharedStores:
    """Stores another process shares (a cluster's JetStream buckets), and how to let them go."""

    calibration: CalibrationStorage
    votes: VoteStorage
    rigs: RigMirror
    close: Callable[[], None]


@dataclass
class Services:
    settings: Settings
    rigs: RigStore
    models: ModelStore
    calibration: CalibrationStorage
    strategies: StrategyRegistry
    votes: VoteStorage
    speech: SpeechService
    recordings: RecordingStore
    metrics: Metrics
    registry: SessionRegistry
    tools: ToolPool
    bus: Bus = field(default_factory=InProcessBus)
    inference_workers: InferenceWorkerPool | None = None
    # On a cluster: this process's edge (None on a worker or embedded), the shared stores,
    # and how a changed calibration is announced to the other processes.
    edge: Edge | None = None
    shared: SharedStores | None = None
    announce_calibration: Callable[[str], None] = lambda user_id: None
    # On a cluster's edge: erases a user on every live worker (their own recordings) and says
    # what they erased (server/cluster/erasure.py `ClusterEraser`); None elsewhere.
    erase_on_workers: Callable[[str], Awaitable[WorkersErased]] | None = None
    # Speech-emotion reports being made now (routers/speech_emotion.py; at most
    # settings.speech_emotion_jobs). Changed on the event loop only.
    speech_emotion_running: int = 0
    # What sessions are built from, and what their controllers use (server/live/ports.py).
    resources: SessionResources = field(init=False)
    live: LivePorts = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.resources = SessionResources(
            self.rigs,
            self.models,
            self.strategies,
            self.calibration,
            self.recordings,
            self.bus,
            self.metrics,
            self.speech,
            session_options(s),
            self.inference_workers,
        )
        self.live = wire_live_ports(s, self.resources, self.registry, self)

    @classmethod
    def open(cls, settings: Settings, bus: Bus | None = None, shared: SharedStores | None = None) -> Services:
        """Opens the stores and loads the speech model (blocking: call it off the event loop).
        ``shared``: calibration, votes and uploaded rigs of a cluster (else SQLite files and a
        rigs folder in the data folder)."""
        metrics = Metrics()
        data = settings.data_dir
        calibration: CalibrationStorage
        votes: VoteStorage
        if shared is not None:
            calibration, votes = shared.calibration, shared.votes
        else:
            calibration, votes = CalibrationStore(data / "calibration.sqlite3"), VoteStore(data / "ab_votes.sqlite3")
        rigs = RigStore.from_dir(settings.rigs_dir, data / "rigs", shared.rigs if shared is not None else None)
        services = cls(
            settings,
            rigs,
            ModelStore(settings.models, progress=False),
            calibration,
            StrategyRegistry(settings.rigs_dir),
            votes,
            SpeechService.from_settings(settings),
            RecordingStore(data / "recordings"),
            metrics,
            SessionRegistry(metrics, settings.max_sessions, settings.max_watchers_per_session, settings.watch_linger_s),
            ToolPool(settings.tool_workers, settings.tool_queue, settings.tool_timeout_s),
            bus or InProcessBus(),
            InferenceWorkerPool(settings.inference_workers, settings.max_image_pixels)
            if settings.inference_workers
            else None,
            shared=shared,
        )
        if settings.role != "edge" or not settings.cluster:  # an edge runs no session
            services.speech.load()
        return services

    @property
    def vmc_input(self) -> VmcListener | None:
        """VMC in (`serve --vmc-listen PORT`), opened in the app's lifespan; None when off."""
        return self.resources.vmc_input

    @vmc_input.setter
    def vmc_input(self, listener: VmcListener | None) -> None:
        self.resources.vmc_input = listener

    async def housekeeping(self, every_s: float = 3600.0) -> None:
        """Runs for the server's life: recordings past their retention are deleted, now and
        every ``every_s``."""
        days = self.settings.recordings_retention_days
        while days > 0:
            await asyncio.to_thread(self.recordings.expire, days * 86400.0)
            await asyncio.sleep(every_s)

    def close(self) -> None:
        for session in self.registry:
            self.registry.close(session.id)
        self.tools.close()
        self.speech.close()
        self.calibration.close()
        self.votes.close()
        if self.inference_workers is not None:
            self.inference_workers.close()
        if self.shared is not None:
            self.shared.close()

    # -- the transports' Gateway ----------------------------------------------------------------
    @property
    def relays_sessions(self) -> bool:
        return self.edge is not None

    @property
    def sessions_full(self) -> bool:
        return self.registry.full

    def open_connection(self, channel: ClientChannel) -> Connection:
        return self.edge.open_connection(channel) if self.edge is not None else self.open_session(channel)

    def open_session(self, channel: ClientChannel) -> SessionController:
        return SessionController(self.live, channel)

    async def watch(self, session_id: str, subscriber: Subscriber, wait: bool = False) -> Outgoing | WatchRefusal:
        """Subscribes a watcher; returns its first message (a welcome, or session_paused while
        the session's publisher is away), or why it cannot watch."""
        if self.edge is not None:
            return await self.edge.watch(session_id, subscriber, wait)
        watched = self.registry.watch(session_id, subscriber, wait)
        if isinstance(watched, WatchRefusal):
            return watched
        if isinstance(watched, Parked):  # the name's publisher is away: a welcome comes when it is back
            return envelopes.session_paused("waiting", self.settings.watch_linger_s, session_id)
        return envelopes.welcome(self.describe(watched), watching_format=subscriber.format)

    async def unwatch(self, session_id: str, subscriber: Subscriber) -> None:
        if self.edge is not None:
            await self.edge.unwatch(session_id, subscriber)
        else:
            self.registry.unwatch(session_id, subscriber)

    # -- calibration (the sessions' CalibrationPublisher, and REST) --------------------------------
    async def publish_calibration(self, table: CalibrationTable) -> int:
        """Stores a new table version (off the loop) and applies it to the user's live sessions
        (on the loop); returns the version."""
        version = await asyncio.to_thread(self.calibration.put, table)
        self.registry.apply_calibration(table.user_id, table)
        self.announce_calibration(table.user_id)
        return version

    async def revert_calibration(self, user_id: str, version: int) -> int | None:
        """Makes an earlier version the user's newest again (stored as a new version) and
        applies it to their live sessions; None when there is no such version."""

        def revert() -> tuple[int | None, CalibrationTable | None]:
            new_version = self.calibration.revert(user_id, version)
            return new_version, self.calibration.get(user_id, new_version) if new_version is not None else None

        new_version, table = await asyncio.to_thread(revert)  # SQLite off the loop, reads included
        if table is not None:
            self.registry.apply_calibration(user_id, table)
            self.announce_calibration(user_id)
        return new_version

    async def delete_calibration(self, user_id: str) -> int:
        """Removes every version of the user's table; their live sessions fall back to none.
        Returns how many versions were removed."""
        removed = await asyncio.to_thread(self.calibration.delete, user_id)
        if removed:
            self.registry.apply_calibration(user_id, None)
            self.announce_calibration(user_id)
        return removed

    def describe(self, session: Session) -> SessionInfo:
        """What a welcome describes of a session."""
        return self.live.describer.describe(session)


@dataclass(frozen=True)
class ServerDescription:
    """What a welcome says besides the session's own: the server's version, limits and
    emotion rate (the sessions' SessionDescriber)."""

    settings: Settings

    def describe(self, session: Session) -> SessionInfo:
        s = self.settings
        return SessionInfo(
            session.id,
            session.hello,
            session.rig.channel_names,
            session.rig.bone_names,
            s.emotion_rate_hz,
            {
                "max_message_bytes": s.max_message_bytes,
                "max_messages_per_s": s.max_messages_per_s,
                "max_image_pixels": s.max_image_pixels,
                "max_rate_hz": s.max_rate_hz,
            },
            __version__,
            avatar_url(session.rig),
        )


def session_options(settings: Settings) -> SessionOptions:
    """The settings sessions run with. The face-emotion CNN only where it is enabled and
    inferring emotions is allowed."""
    s = settings
    return SessionOptions(
        s.emotion_rate_hz,
        s.max_image_pixels,
        s.emotion_inference,
        s.geometric_channels,
        s.vmc_targets,
        s.face_emotion_model if s.face_emotion and s.emotion_inference else None,
    )


def wire_live_ports(
    settings: Settings, resources: SessionResources, registry: SessionRegistry, calibration: CalibrationPublisher
) -> LivePorts:
    """What a SessionController uses: sessions built from ``resources`` into ``registry``,
    wizard tables published to ``calibration``, the settings' limits and hello policy."""
    s = settings
    return LivePorts(
        SessionAssembler(resources),
        registry,
        calibration,
        ServerDescription(s),
        resources.metrics,
        connection_limits(s),
        HelloPolicy(s.token, s.default_rate_hz, s.max_rate_hz),
    )


def connection_limits(settings: Settings) -> ConnectionLimits:
    s = settings
    return ConnectionLimits(
        s.max_message_bytes, s.max_messages_per_s, s.max_errors, s.error_window_s, s.hello_timeout_s
    )
