"""A session built from an accepted hello: its rig, models, stages, output, calibration and
sinks. Every refusal is a ProtocolError with a specific code, raised before anything runs.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from avatar_mapping.mapper import MapperOptions
from calibration.table import CalibrationTable

from ..inference.face import FaceTrackerOptions
from ..models.store import ModelError
from ..protocol.codec import ProtocolError
from ..protocol.constants import ErrorCode
from ..protocol.messages import Hello
from ..protocol.recording import new_header
from ..sinks.recorder import RecorderSink
from ..sinks.vmc import VmcSink, parse_target
from .calibration import SessionCalibration, viseme_prototypes
from .face_stage import FaceStage
from .output import AvatarOutput
from .session import Session
from .speech_stage import SpeechStage
from .stage import Stage
from .vmc_stage import VmcStage
from .voice_stage import VoiceStage

if TYPE_CHECKING:
    from ..services import Services


def new_session_id() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, 72 random bits


async def assemble_session(services: Services, hello: Hello, session_id: str | None = None) -> Session:
    """A session ready to start; the caller has reserved its place in the registry, starts it
    and closes it when start fails. ``session_id``: the id of a session being reclaimed."""
    s = services.settings
    rig = await asyncio.to_thread(services.rigs.get, hello.rig)  # on a cluster, a read of the shared store
    if rig is None:
        raise ProtocolError(ErrorCode.BAD_HELLO, f"unknown rig {hello.rig!r}; available: {services.rigs.ids()}")
    try:
        face_model = services.models.require("face_landmarker") if hello.camera and hello.source == "camera" else None
        vad_model = services.models.require("silero_vad") if hello.microphone else None
    except ModelError as e:
        raise ProtocolError(ErrorCode.MODEL_MISSING, str(e)) from None
    strategies = services.strategies
    try:
        strategy = strategies.make(hello.strategy, rig, hello.strategy_params)
        compare = (
            strategies.make(hello.compare.strategy, rig, hello.compare.strategy_params)
            if hello.compare is not None
            else None
        )
    except ValueError as e:
        raise ProtocolError(ErrorCode.BAD_HELLO, str(e)) from None
    vmc_target = _vmc_target(s.vmc_targets, hello.vmc.target) if hello.vmc is not None else None
    if hello.source == "vmc" and services.vmc_input is None:
        raise ProtocolError(ErrorCode.BAD_HELLO, "source 'vmc' needs a server started with --vmc-listen PORT")
    table = None
    if hello.user_id is not None:
        table = await asyncio.to_thread(services.calibration.get, hello.user_id)
    table = table or CalibrationTable.identity(hello.user_id or "default")

    session_id = session_id or hello.session_name or new_session_id()
    bus, metrics = services.bus, services.metrics
    stages: list[Stage] = []
    voice: VoiceStage | None = None
    if face_model is not None:
        options = FaceTrackerOptions(
            face_model,
            mode="video",
            mirror=hello.mirror,
            emotion_model=services.face_emotion_path,
            emotion_interval_ms=1000.0 / s.emotion_rate_hz,
            geometric_channels=s.geometric_channels,
        )
        stages.append(FaceStage(session_id, bus, options, s.max_image_pixels, metrics, services.inference_workers))
    if hello.source == "vmc":
        stages.append(VmcStage(session_id, bus, services.vmc_input))
    if vad_model is not None:
        speech = services.speech if services.speech.available else None
        voice = VoiceStage(
            session_id,
            bus,
            vad_model,
            viseme_prototypes(table),
            metrics,
            segment_speech=speech is not None,
            lookahead_delay_ms=hello.lipsync_delay_ms,
            emotion_inference=s.emotion_inference,
            workers=services.inference_workers,
        )
        stages.append(voice)
        if speech is not None:
            stages.append(SpeechStage(session_id, bus, speech, metrics, emotion_inference=s.emotion_inference))
    output = AvatarOutput(
        session_id,
        rig,
        s.emotion_rate_hz,
        strategy,
        table,
        MapperOptions(emotion_inference=s.emotion_inference),
        metrics,
    )
    calibration = SessionCalibration(
        table, hello.adaptive, output.set_calibration, voice.set_prototypes if voice is not None else None
    )
    session = Session(
        session_id, hello, rig, bus, metrics, output, calibration, stages, (hello.strategy, hello.strategy_params or {})
    )
    if compare is not None:
        session.set_compare(hello.compare.strategy, hello.compare.strategy_params, compare)
    if hello.record:

        def header():
            t = calibration.table
            return new_header(
                rig.id,
                session.strategy_name,
                session.strategy_params,
                None if t.is_identity else t.to_dict(),
                hello.rate_hz,
                f"session:{session_id}",
                hello.user_id,
            )

        session.add_sink(RecorderSink(services.recordings.path_for(session_id), header))
    if vmc_target is not None:
        session.add_sink(VmcSink(vmc_target, hello.vmc.profile, metrics, calibrated=not table.is_identity))
    return session


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
