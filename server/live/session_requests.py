"""The messages a client sends its running session — media (within its consent), a new
configuration, the calibration wizard — and, for a session reclaimed by another worker, the
configuration it had. Each refusal is a specific ProtocolError; the session goes on."""

from __future__ import annotations

import time

from calibration.wizard import FACE_STEP_NAMES, VOICE_STEP_NAMES

from ..protocol import envelopes
from ..protocol.codec import Encoding, Envelope, ProtocolError
from ..protocol.constants import ErrorCode, MessageType
from ..protocol.messages import AudioChunk, CalibrationStart, Configure, VideoFrame
from .calibration import requested_steps
from .ports import SessionFactory
from .session import Session
from .session_config import SessionConfig, StrategyChoice, strategy_after

MESSAGES = (
    MessageType.VIDEO_FRAME,
    MessageType.AUDIO_CHUNK,
    MessageType.CONFIGURE,
    MessageType.CALIBRATION_START,
    MessageType.CALIBRATION_STEP,
)


def check_known(kind: str) -> None:
    """UNKNOWN_TYPE for a message type that is neither one of these nor handled before a session."""
    if kind not in MESSAGES:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown message type {kind[:40]!r}; expected hello, "
            "video_frame, audio_chunk, configure, calibration_start, calibration_step or bye",
        )


def handle(session: Session, env: Envelope, encoding: Encoding, factory: SessionFactory) -> bool:
    """One message for the session (video_frame, audio_chunk, configure, calibration_start or
    calibration_step); True when it changed the session's configuration."""
    kind = env.type
    if kind == MessageType.VIDEO_FRAME:
        if not session.hello.camera:
            raise ProtocolError(ErrorCode.NO_CONSENT, "video_frame without camera consent: frame discarded")
        session.submit_video(VideoFrame.parse(env.payload, encoding, envelopes.now_ms()))
    elif kind == MessageType.AUDIO_CHUNK:
        if not session.hello.microphone:
            raise ProtocolError(ErrorCode.NO_CONSENT, "audio_chunk without microphone consent: chunk discarded")
        session.submit_audio(AudioChunk.parse(env.payload, encoding, envelopes.now_ms()))
    elif kind == MessageType.CONFIGURE:
        configure(session, Configure.parse(env.payload), factory)
        return True
    elif kind == MessageType.CALIBRATION_START:
        start_calibration(session, CalibrationStart.parse(env.payload, FACE_STEP_NAMES, VOICE_STEP_NAMES))
    elif env.payload.get("action") == "cancel":
        session.calibration.cancel_wizard()
    else:
        raise ProtocolError(ErrorCode.BAD_CALIBRATION, "calibration_step from a client takes {action: 'cancel'}")
    return False


def configure(session: Session, request: Configure, factory: SessionFactory) -> None:
    """Applies what the configure asks for; what it leaves out stays as it is."""
    if (choice := strategy_after(session.strategy, request)) is not None:
        session.set_strategy(choice, factory.strategy(session.rig, choice))
    session.calibration.set_adaptive(request.adaptive, request.adaptive_frozen)
    if request.compare is not None:
        compare = StrategyChoice(request.compare.strategy, request.compare.strategy_params)
        session.set_compare(compare, factory.strategy(session.rig, compare))
    elif request.stop_compare:
        session.set_compare(None, None)


def restore(session: Session, config: SessionConfig, factory: SessionFactory) -> None:
    """The strategy and comparison a reclaimed session had."""
    session.set_strategy(config.strategy, factory.strategy(session.rig, config.strategy))
    if config.compare is not None:
        session.set_compare(config.compare, factory.strategy(session.rig, config.compare))


def start_calibration(session: Session, request: CalibrationStart) -> None:
    """Starts the wizard for the steps asked for (or those the hello consented to), for the
    user named in the request or the hello; one run at a time."""
    steps = requested_steps(request, session.hello)
    user_id = request.user_id or session.hello.user_id
    if user_id is None:
        raise ProtocolError(ErrorCode.BAD_CALIBRATION, "calibration needs a user_id (in hello or calibration_start)")
    if session.calibration.run is not None:
        raise ProtocolError(ErrorCode.BAD_CALIBRATION, "a calibration is already running; cancel it first")
    session.calibration.start_wizard(steps, request.prepare_s, request.duration_scale, user_id, time.monotonic())
