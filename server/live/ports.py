"""What live sessions need from the server around them, declared here and satisfied by the
composition root (server/services.py), which imports this package and never the reverse.

A session is built from stores and models it only reads (`SessionResources`: rigs, models,
strategies, the stored calibration, where recordings go) and the settings it runs with
(`SessionOptions`). A controller needs a `SessionFactory` (live/assemble.py's
`SessionAssembler`), the process's `SessionRegistry`, somewhere to publish a calibration the
wizard made, a `SessionDescriber` for welcomes, and its connection limits (`LivePorts`).
A transport drives a `Connection`: a `SessionController`, or a cluster edge's relay of one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import Strategy
from calibration.table import CalibrationTable

from ..inference.speech_service import SpeechService
from ..inference.vmc_input import VmcListener
from ..metrics import Metrics
from ..pools.inference_pool import InferenceWorkerPool
from ..protocol.constants import CloseCode
from ..protocol.envelopes import SessionInfo
from ..protocol.messages import Hello
from .bus import Bus
from .connection_guard import ConnectionLimits
from .registry import SessionRegistry
from .session import Session
from .session_config import StrategyChoice


class RigSource(Protocol):
    def get(self, rig_id: str) -> RigDefinition | None: ...

    def ids(self) -> list[str]: ...


class ModelSource(Protocol):
    def require(self, name: str) -> Path:
        """The model's file; ModelError when it was not fetched."""

    def optional(self, name: str) -> Path | None: ...


class StrategyFactory(Protocol):
    def make(self, name: str, rig: RigDefinition, params: dict[str, Any] | None = None) -> Strategy:
        """ValueError for an unknown strategy or bad parameters."""


class CalibrationSource(Protocol):
    def get(self, user_id: str, version: int | None = None) -> CalibrationTable | None:
        """The user's newest stored table (blocking: a database read)."""


class RecordingPaths(Protocol):
    def path_for(self, recording_id: str) -> Path: ...


@dataclass(frozen=True)
class SessionOptions:
    """The server's settings a session runs with."""

    emotion_rate_hz: float
    max_image_pixels: int
    emotion_inference: bool
    geometric_channels: bool
    vmc_targets: str  # where VMC may go, comma-separated host:port; a hello names one
    face_emotion_model: str | None  # the face-emotion CNN's model name, when enabled (used once fetched)


@dataclass
class SessionResources:
    """What sessions are built from. ``vmc_input`` is set once the server listens for VMC."""

    rigs: RigSource
    models: ModelSource
    strategies: StrategyFactory
    calibration: CalibrationSource
    recordings: RecordingPaths
    bus: Bus
    metrics: Metrics
    speech: SpeechService
    options: SessionOptions
    inference_pool: InferenceWorkerPool | None = None
    vmc_input: VmcListener | None = None


class SessionFactory(Protocol):
    async def assemble(self, hello: Hello, session_id: str | None = None) -> Session:
        """A session ready to start, or ProtocolError saying why the hello cannot have one;
        ``session_id``: the id of a session being reclaimed."""

    def strategy(self, rig: RigDefinition, choice: StrategyChoice) -> Strategy:
        """The chosen strategy for a session's rig; ProtocolError (bad_configure) when it
        cannot be made."""


class CalibrationPublisher(Protocol):
    async def publish_calibration(self, table: CalibrationTable) -> int:
        """Stores a new version of the user's table and applies it wherever they have a
        session; returns the version."""


class SessionDescriber(Protocol):
    def describe(self, session: Session) -> SessionInfo:
        """What a welcome says of the session and of the server."""


@dataclass(frozen=True)
class HelloPolicy:
    token: str | None  # a hello must carry it, when set
    default_rate_hz: float
    max_rate_hz: float


@dataclass(frozen=True)
class LivePorts:
    """Everything a SessionController uses."""

    sessions: SessionFactory
    registry: SessionRegistry
    calibration: CalibrationPublisher
    describer: SessionDescriber
    metrics: Metrics
    limits: ConnectionLimits
    hello: HelloPolicy


class Connection(Protocol):
    """What a transport drives for one publisher: `receive` each message, wait at most
    `wait_s` for the next (then `timed_out`), stop when `close_code` is set (`stopped` is set
    with it), `end` when the client is gone."""

    close_code: CloseCode | None
    stopped: asyncio.Event

    @property
    def wait_s(self) -> float | None: ...

    def timed_out(self) -> None: ...

    async def receive(self, data: bytes | str) -> None: ...

    def end(self) -> None: ...
