"""Stand-ins for the other end of an interface, written for tests: an in-memory client
channel, a sink that keeps what it is given, a session built without models, and the ports
a SessionController needs (server/live/ports.py) without SQLite, a tool pool or an app."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cbor2

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport
from calibration.table import CalibrationTable
from server.assets.rig_store import RigStore
from server.assets.strategy_registry import StrategyRegistry
from server.inference.sensevoice import SpeechRecognition
from server.inference.speech_service import SpeechService
from server.live.bus import Bus, InProcessBus
from server.live.calibration import SessionCalibration
from server.live.output import AvatarOutput
from server.live.ports import LivePorts, SessionResources
from server.live.registry import SessionRegistry
from server.live.session import Session
from server.live.session_config import StrategyChoice
from server.live.stage import SessionStage
from server.metrics import Metrics
from server.models.store import ModelStore
from server.protocol.messages import Hello
from server.services import session_options, wire_live_ports
from server.settings import Settings
from server.sinks.base import FrameMeta, MessageMeta
from server.stores.recordings import RecordingStore

from .rigs import load_rig


@dataclass
class MemoryChannel:
    """The client end of an in-memory transport: what the server sent, decoded."""

    control: list[dict[Any, Any]] = field(default_factory=list)
    data: list[dict[Any, Any]] = field(default_factory=list)
    ended: bool = False

    def put_control(self, message: bytes | str) -> None:
        self.control.append(_decoded(message))

    def put_data(self, message: bytes | str) -> None:
        self.data.append(_decoded(message))

    def end(self) -> None:
        self.ended = True


def _decoded(message: bytes | str) -> Any:
    return json.loads(message) if isinstance(message, str) else cbor2.loads(message)


@dataclass
class Tally:
    """A sink that keeps what the session hands its sinks."""

    frames: list[tuple[AvatarFrame, FrameMeta]] = field(default_factory=list)
    emotions: list[EmotionReport] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    closed: bool = False

    def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None:
        self.frames.append((frame, meta))

    def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None:
        self.emotions.append(report)

    def on_transcript(self, result: SpeechRecognition, meta: MessageMeta) -> None:
        self.transcripts.append(result.text)

    def close(self) -> None:
        self.closed = True


def make_session(bus: Bus, stages: Sequence[SessionStage] = (), rate_hz: float = 60.0, **hello: Any) -> Session:
    """A session on the arkit52 rig with the ``direct`` strategy, no stored calibration and
    the given stages (none: it only maps what is published on its bus)."""
    h = Hello.parse({"consent": {"camera": True}, "rate_hz": rate_hz, **hello}, 30.0, 60.0)
    rig, metrics = load_rig("arkit52"), Metrics()
    output = AvatarOutput("s1", rig, 10.0, metrics=metrics)
    calibration = SessionCalibration(CalibrationTable.identity("u"), False, output.set_calibration)
    return Session("s1", h, rig, bus, metrics, output, calibration, stages, StrategyChoice("direct"))


class MemoryCalibration:
    """Stored tables in memory: the sessions' CalibrationSource and CalibrationPublisher."""

    def __init__(self, registry: SessionRegistry):
        self.registry = registry
        self.versions: dict[str, list[CalibrationTable]] = {}

    def get(self, user_id: str, version: int | None = None) -> CalibrationTable | None:
        tables = self.versions.get(user_id, [])
        if version is None:
            return tables[-1] if tables else None
        return tables[version - 1] if 0 < version <= len(tables) else None

    async def publish_calibration(self, table: CalibrationTable) -> int:
        self.versions.setdefault(table.user_id, []).append(table)
        self.registry.apply_calibration(table.user_id, table)
        return len(self.versions[table.user_id])


def live_ports(settings: Settings, bus: Bus | None = None, speech: SpeechService | None = None) -> LivePorts:
    """What a SessionController needs, wired as the server wires it (the real assembler, rigs,
    strategies and models) but with calibration kept in memory (a MemoryCalibration) and
    speech recognition off unless ``speech`` is given."""
    metrics = Metrics()
    registry = SessionRegistry(
        metrics, settings.max_sessions, settings.max_watchers_per_session, settings.watch_linger_s
    )
    calibration = MemoryCalibration(registry)
    resources = SessionResources(
        RigStore.from_dir(settings.rigs_dir),
        ModelStore(settings.models, progress=False),
        StrategyRegistry(settings.rigs_dir),
        calibration,
        RecordingStore(settings.data_dir / "recordings"),
        bus or InProcessBus(),
        metrics,
        speech or SpeechService(settings.models / "no-speech-model", enabled=False),
        session_options(settings),
    )
    return wire_live_ports(settings, resources, registry, calibration)
