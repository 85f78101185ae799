"""A session built from an accepted hello: its rig, models, stages, output, calibration and
sinks. Every refusal is a ProtocolError with a specific code, raised before anything runs.
`SessionAssembler` is the controllers' `SessionFactory` (ports.py).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from avatar_mapping.mapper import MapperOptions
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import Strategy
from calibration.table import CalibrationTable

from ..inference.face import FaceTrackerOptions
from ..models.store import ModelError
from ..protocol.codec import ProtocolError
from ..protocol.constants import ErrorCode
from ..protocol.messages import Hello
from ..protocol.recording import RecordingHeader, new_header
from ..sinks.recorder import RecorderSink
from ..sinks.vmc import VmcSink, parse_target
from .calibration import SessionCalibration, viseme_prototypes
from .face_stage import FaceStage
from .output import AvatarOutput
from .ports import SessionResources
from .session import Session
from .session_config import StrategyChoice
from .speech_stage import SpeechStage
from .stage import SessionStage
from .vmc_stage import VmcStage
from .voice_stage import VoiceStage


def new_session_id() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, 72 random bits


@dataclass(frozen=True)
class _Accepted:
    """What a hello asks for, checked: nothing has been built yet."""

    rig: RigDefinition
    face_model: Path | None
    vad_model: Path | None
    strategy: Strategy
    compare: Strategy | None
    vmc_target: tuple[str, int] | None
    table: CalibrationTable


class SessionAssembler:
    def __init__(self, resources: SessionResources):
        self.resources = resources

    async def assemble(self, hello: Hello, session_id: str | None = None) -> Session:
        """A session ready to start; the caller has reserved its place in the registry, starts
        it and closes it when start fails. ``session_id``: the id of a session being reclaimed."""
        accepted = await self._accept(hello)
        session_id = session_id or hello.session_name or new_session_id()
        r, options = self.resources, self.resources.options
        stages, voice = self._stages(session_id, hello, accepted)
        table = accepted.table
        output = AvatarOutput(
            session_id,
            accepted.rig,
            options.emotion_rate_hz,
            accepted.strategy,
            table,
            MapperOptions(emotion_inference=options.emotion_inference),
            r.metrics,
        )
        calibration = SessionCalibration(
            table, hello.adaptive, output.set_calibration, voice.set_prototypes if voice is not None else None
        )
        session = Session(
            session_id,
            hello,
            accepted.rig,
            r.bus,
            r.metrics,
            output,
            calibration,
            stages,
            StrategyChoice(hello.strategy, hello.strategy_params or {}),
        )
        if hello.compare is not None:
            session.set_compare(StrategyChoice(hello.compare.strategy, hello.compare.strategy_params), accepted.compare)
        if hello.record:
            session.add_sink(RecorderSink(r.recordings.path_for(session_id), lambda: _recording_header(session)))
        if accepted.vmc_target is not None and hello.vmc is not None:
            session.add_sink(
                VmcSink(accepted.vmc_target, hello.vmc.profile, r.metrics, calibrated=not table.is_identity)
            )
        return session

    def strategy(self, rig: RigDefinition, choice: StrategyChoice) -> Strategy:
        try:
            return self.resources.strategies.make(choice.name, rig, dict(choice.params))
        except ValueError as e:
            raise ProtocolError(ErrorCode.BAD_CONFIGURE, str(e)) from None

    async def _accept(self, hello: Hello) -> _Accepted:
        """Everything the hello names exists and may be used, or the ProtocolError saying what not."""
        r = self.resources
        rig = await asyncio.to_thread(r.rigs.get, hello.rig)  # on a cluster, a read of the shared store
        if rig is None:
            raise ProtocolError(ErrorCode.BAD_HELLO, f"unknown rig {hello.rig!r}; available: {r.rigs.ids()}")
        try:
            face_model = r.models.require("face_landmarker") if hello.camera and hello.source == "camera" else None
            vad_model = r.models.require("silero_vad") if hello.microphone else None
        except ModelError as e:
            raise ProtocolError(ErrorCode.MODEL_MISSING, str(e)) from None
        try:
            strategy = r.strategies.make(hello.strategy, rig, hello.strategy_params)
            compare = (
                r.strategies.make(hello.compare.strategy, rig, hello.compare.strategy_params)
                if hello.compare is not None
                else None
            )
        except ValueError as e:
            raise ProtocolError(ErrorCode.BAD_HELLO, str(e)) from None
        vmc_target = _vmc_target(r.options.vmc_targets, hello.vmc.target) if hello.vmc is not None else None
        if hello.source == "vmc" and r.vmc_input is None:
            raise ProtocolError(ErrorCode.BAD_HELLO, "source 'vmc' needs a server started with --vmc-listen PORT")
        stored = await asyncio.to_thread(r.calibration.get, hello.user_id) if hello.user_id is not None else None
        table = stored or CalibrationTable.identity(hello.user_id or "default")
        return _Accepted(rig, face_model, vad_model, strategy, compare, vmc_target, table)

    def _stages(
        self, session_id: str, hello: Hello, accepted: _Accepted
    ) -> tuple[list[SessionStage], VoiceStage | None]:
        """The stages the hello consented to, and the voice stage among them (it takes the
        user's viseme prototypes)."""
        r, options = self.resources, self.resources.options
        stages: list[SessionStage] = []
        if accepted.face_model is not None:
            tracker = FaceTrackerOptions(
                accepted.face_model,
                mode="video",
                mirror=hello.mirror,
                emotion_model=r.models.optional(options.face_emotion_model) if options.face_emotion_model else None,
                emotion_interval_ms=1000.0 / options.emotion_rate_hz,
                geometric_channels=options.geometric_channels,
            )
            stages.append(FaceStage(session_id, r.bus, tracker, options.max_image_pixels, r.metrics, r.inference_pool))
        if hello.source == "vmc" and r.vmc_input is not None:
            stages.append(VmcStage(session_id, r.bus, r.vmc_input))
        voice = None
        if accepted.vad_model is not None:
            speech = r.speech if r.speech.available else None
            voice = VoiceStage(
                session_id,
                r.bus,
                accepted.vad_model,
                viseme_prototypes(accepted.table),
                r.metrics,
                segment_speech=speech is not None,
                lookahead_delay_ms=hello.lipsync_delay_ms,
                emotion_inference=options.emotion_inference,
                workers=r.inference_pool,
            )
            stages.append(voice)
            if speech is not None:
                stages.append(
                    SpeechStage(session_id, r.bus, speech, r.metrics, emotion_inference=options.emotion_inference)
                )
        return stages, voice


def _recording_header(session: Session) -> RecordingHeader:
    """A recording's header as of its first tick: the session's strategy and table then."""
    table, hello = session.calibration.table, session.hello
    return new_header(
        session.rig.id,
        session.strategy.name,
        dict(session.strategy.params),
        None if table.is_identity else table.to_dict(),
        hello.rate_hz,
        f"session:{session.id}",
        hello.user_id,
    )


def _vmc_target(configured: str, asked: str) -> tuple[str, int]:
    """The configured VMC target a hello named; BAD_HELLO for any other (a client never aims UDP)."""
    targets = [t.strip() for t in configured.split(",") if t.strip()]
    if asked.strip() not in targets:
        raise ProtocolError(
            ErrorCode.BAD_HELLO,
            f"vmc.target {asked[:60]!r} is not one of this server's VMC targets "
            f"({', '.join(targets) or 'none: set AVATAR_DRIVER_VMC_TARGETS'})",
        )
    return parse_target(asked)
