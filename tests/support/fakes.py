"""Stand-ins for the other end of an interface, written for tests: an in-memory client
channel, a sink that keeps what it is given, and a session built without models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cbor2

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport
from calibration.table import CalibrationTable
from server.inference.sensevoice import SpeechRecognition
from server.live.bus import Bus
from server.live.calibration import SessionCalibration
from server.live.output import AvatarOutput
from server.live.session import Session
from server.live.stage import Stage
from server.metrics import Metrics
from server.protocol.messages import Hello
from server.sinks.base import FrameMeta, MessageMeta

from .rigs import load_rig


@dataclass
class MemoryChannel:
    """The client end of an in-memory transport: what the server sent, decoded."""

    control: list[dict[str, Any]] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False

    def put_control(self, message: bytes | str) -> None:
        self.control.append(cbor2.loads(message))

    def put_data(self, message: bytes | str) -> None:
        self.data.append(cbor2.loads(message))

    def end(self) -> None:
        self.ended = True


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


def make_session(bus: Bus, stages: Sequence[Stage] = (), rate_hz: float = 60.0, **hello: Any) -> Session:
    """A session on the arkit52 rig with the ``direct`` strategy, no stored calibration and
    the given stages (none: it only maps what is published on its bus)."""
    h = Hello.parse({"consent": {"camera": True}, "rate_hz": rate_hz, **hello}, 30.0, 60.0)
    rig, metrics = load_rig("arkit52"), Metrics()
    output = AvatarOutput("s1", rig, 10.0, metrics=metrics)
    calibration = SessionCalibration(CalibrationTable.identity("u"), False, output.set_calibration)
    return Session("s1", h, rig, bus, metrics, output, calibration, stages, ("direct", {}))
