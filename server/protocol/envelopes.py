"""Every message the server sends, built here and nowhere else.

A message is an `Outgoing`: its named envelope (and, for avatar_frame, its packed one) is
built on first use and each (format, encoding) is encoded once, however many clients get it.
The payload functions turn typed values (AvatarFrame, EmotionReport, WizardEvent,
SpeechRecognition) into the maps docs/protocol.md describes; they compute nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.vocabulary import EMOTIONS, VISEMES
from calibration.wizard import WizardEvent

from .codec import Encoding, encode_map
from .constants import PROTOCOL_VERSION, CalibrationStatus, ErrorCode, MessageType, Variant
from .messages import Hello
from .packed import pack_avatar_frame

if TYPE_CHECKING:
    from ..inference.sensevoice import SpeechRecognition


def now_ms() -> int:
    """The server's wall clock, the `timestamp_ms` of what it sends."""
    return int(time.time() * 1000)


class Outgoing:
    """One message for every subscriber; each form is built only if someone needs it."""

    def __init__(
        self,
        type: MessageType,
        build_named: Callable[[], dict[str, Any]],
        build_packed: Callable[[], dict[int, Any]] | None = None,
    ):
        self.type = type
        self._build_named = build_named
        self._build_packed = build_packed
        self._cache: dict[tuple[str, str], bytes | str] = {}

    @cached_property
    def named(self) -> dict[str, Any]:
        return self._build_named()

    @cached_property
    def packed(self) -> dict[int, Any] | None:
        return self._build_packed() if self._build_packed else None

    @overload
    def encoded(self, fmt: str, encoding: Literal["cbor"]) -> bytes: ...
    @overload
    def encoded(self, fmt: str, encoding: Literal["json"]) -> str: ...
    @overload
    def encoded(self, fmt: str, encoding: Encoding) -> bytes | str: ...
    def encoded(self, fmt: str, encoding: Encoding) -> bytes | str:
        key = ("packed" if fmt == "packed" and self._build_packed else "named", encoding)
        if key not in self._cache:
            packed = self.packed if key[0] == "packed" else None  # not None: key[0] is "packed" only with a builder
            self._cache[key] = encode_map(self.named if packed is None else packed, encoding)
        return self._cache[key]


def envelope(
    type: MessageType,
    payload: dict[str, Any],
    session_id: str | None,
    sequence: int | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    return {
        "type": str(type),
        "session_id": session_id,
        "timestamp_ms": now_ms() if timestamp_ms is None else timestamp_ms,
        "sequence": sequence,
        "payload": payload,
    }


def message(
    type: MessageType,
    payload: dict[str, Any],
    session_id: str | None,
    sequence: int | None = None,
    timestamp_ms: int | None = None,
) -> Outgoing:
    """A named-only message whose payload is already built."""
    named = envelope(type, payload, session_id, sequence, timestamp_ms)
    return Outgoing(type, lambda: named)


# -- the output clock's messages ----------------------------------------------------------


def avatar_frame(
    frame: AvatarFrame, session_id: str, timestamp_ms: int, sequence: int, variant: Variant | None = None
) -> Outgoing:
    return Outgoing(
        MessageType.AVATAR_FRAME,
        lambda: envelope(
            MessageType.AVATAR_FRAME, avatar_frame_payload(frame, variant), session_id, sequence, timestamp_ms
        ),
        lambda: pack_avatar_frame(frame, session_id, timestamp_ms, sequence, variant),
    )


def emotion_update(report: EmotionReport, session_id: str, timestamp_ms: int, sequence: int) -> Outgoing:
    return Outgoing(
        MessageType.EMOTION_UPDATE,
        lambda: envelope(
            MessageType.EMOTION_UPDATE, emotion_update_payload(report), session_id, sequence, timestamp_ms
        ),
    )


def transcript(result: SpeechRecognition, session_id: str, timestamp_ms: int, sequence: int) -> Outgoing:
    return Outgoing(
        MessageType.TRANSCRIPT,
        lambda: envelope(MessageType.TRANSCRIPT, transcript_payload(result), session_id, sequence, timestamp_ms),
    )


def avatar_frame_payload(frame: AvatarFrame, variant: Variant | None = None) -> dict[str, Any]:
    bone_transforms: dict[str, Any] = frame.rotations_by_bone()
    bone_transforms.update(
        head_yaw_deg=frame.head_yaw_deg, head_pitch_deg=frame.head_pitch_deg, head_roll_deg=frame.head_roll_deg
    )
    return {
        "blendshapes": frame.weights_by_name(),
        "bone_transforms": bone_transforms,
        "viseme": frame.viseme,
        "viseme_conf": frame.viseme_conf,
        "visemes": dict(frame.visemes),
        "particles": dict(frame.particles),
        "face_present": frame.face_present,
        "capture_ms": frame.capture_ms,
        **({"variant": str(variant)} if variant else {}),
    }


def emotion_update_payload(r: EmotionReport) -> dict[str, Any]:
    f = r.face
    return {
        "emotion": r.emotion,
        "scores": _by_emotion(r.scores) if r.scores is not None else {},
        "emotion_source": r.source,
        "valence": r.valence,
        "arousal": r.arousal,
        "dominance": r.dominance,
        "au": f.action_units_by_name(),
        "head_pose": {
            "yaw_deg": f.head.yaw_deg,
            "pitch_deg": f.head.pitch_deg,
            "roll_deg": f.head.roll_deg,
            "translation_cm": list(f.head.translation_cm),
        },
        "gaze": {"x": r.gaze_x, "y": r.gaze_y},
        "eyes": {
            "left": {"yaw_deg": f.left_eye.yaw_deg, "pitch_deg": f.left_eye.pitch_deg, "blink": f.blink_left},
            "right": {"yaw_deg": f.right_eye.yaw_deg, "pitch_deg": f.right_eye.pitch_deg, "blink": f.blink_right},
        },
        "speaking_probability": r.speaking_probability,
        "speech_emotion": [_speech_evidence(e) for e in r.speech_emotion],
        "face_present": f.present,
        "face_confidence": f.confidence,
        "faces_seen": f.faces_seen,
        "capture_ms": f.capture_ms,
        "emotion_inference": r.emotion_inference,
    }


def _by_emotion(scores: np.ndarray) -> dict[str, float]:
    return dict(zip(EMOTIONS, np.asarray(scores).tolist(), strict=True))


def _speech_evidence(e: EmotionEvidence) -> dict[str, Any]:
    scores = _by_emotion(e.scores) if e.scores is not None else None
    return {
        "source": e.source,
        "confidence": e.confidence,
        "arousal": e.arousal,
        "scores": scores,
        "emotion": max(scores, key=scores.__getitem__) if scores else None,
    }


def transcript_payload(r: SpeechRecognition) -> dict[str, Any]:
    """A recognised stretch of speech; times on the capture clock of the audio."""
    t = r.transcript
    return {
        "final": r.final,
        "start_ms": r.start_ms,
        "end_ms": r.end_ms,
        "text": t.text,
        "language": t.language,
        "emotion": t.emotion,
        "events": list(t.events),
        "emotion_scores": _by_emotion(r.emotion_scores) if r.emotion_scores is not None else None,
        "words": [
            {"text": w.text, "start_ms": r.start_ms + w.start_ms, "end_ms": r.start_ms + w.end_ms} for w in t.words
        ],
    }


# -- replies and events to the publisher ----------------------------------------------------


WELCOME_AVATAR_URL = "avatar_url"  # welcome's key for SessionInfo.avatar_url (docs/protocol.md)


@dataclass(frozen=True)
class SessionInfo:
    """What a welcome describes: the session and what it runs with."""

    session_id: str
    hello: Hello
    channels: tuple[str, ...]
    bones: tuple[str, ...]
    emotion_rate_hz: float
    limits: dict[str, Any]
    server_version: str
    # The path of the avatar file the session's rig was built from (server/assets/rig_store.py
    # avatar_url), so watchers and OBS overlays draw it; None: no stored avatar.
    avatar_url: str | None = None


def welcome_payload(info: SessionInfo) -> dict[str, Any]:
    hello = info.hello
    avatar = {WELCOME_AVATAR_URL: info.avatar_url} if info.avatar_url else {}
    return {
        "session_id": info.session_id,
        "protocol_version": PROTOCOL_VERSION,
        "server_version": info.server_version,
        "rig": hello.rig,
        "strategy": hello.strategy,
        "format": hello.format,
        "rate_hz": hello.rate_hz,
        "emotion_rate_hz": info.emotion_rate_hz,
        "channels": list(info.channels),
        "bones": list(info.bones),
        "visemes": list(VISEMES),
        "limits": info.limits,
        **avatar,
    }


def welcome(info: SessionInfo, config: dict[str, Any] | None = None, watching_format: str | None = None) -> Outgoing:
    """The publisher's welcome carries the session's configuration; a watcher's says it watches."""
    return welcome_of(welcome_payload(info), config, watching_format)


def welcome_of(
    described: dict[str, Any], config: dict[str, Any] | None = None, watching_format: str | None = None
) -> Outgoing:
    """A welcome from a session's `welcome_payload` (also one recorded by another process)."""
    payload = {**described, **(config or {})}
    if watching_format is not None:
        payload.update(format=watching_format, watching=True)
    return message(MessageType.WELCOME, payload, described["session_id"], 0)


def configured(config: dict[str, Any], session_id: str) -> Outgoing:
    return message(MessageType.CONFIGURED, config, session_id)


def calibration_step_payload(e: WizardEvent) -> dict[str, Any]:
    payload: dict[str, Any] = {"state": str(e.state), "step": e.step, "index": e.index, "count": e.count}
    for key in ("instruction", "duration_s", "attempt", "remaining_s", "reason"):
        value = getattr(e, key)
        if value is not None:
            payload[key] = value
    return payload


def calibration_step(event: WizardEvent, session_id: str | None) -> Outgoing:
    return message(MessageType.CALIBRATION_STEP, calibration_step_payload(event), session_id)


def calibration_saved(
    user_id: str,
    version: int,
    steps: tuple[str, ...],
    skipped: list[str],
    table: dict[str, Any],
    session_id: str | None,
) -> Outgoing:
    return message(
        MessageType.CALIBRATION_RESULT,
        {
            "user_id": user_id,
            "status": str(CalibrationStatus.SAVED),
            "version": version,
            "steps": list(steps),
            "skipped": list(skipped),
            "table": table,
        },
        session_id,
    )


def calibration_failed(user_id: str, reason: str | None, session_id: str | None) -> Outgoing:
    return message(
        MessageType.CALIBRATION_RESULT,
        {"user_id": user_id, "status": str(CalibrationStatus.FAILED), "reason": reason},
        session_id,
    )


def session_paused(reason: str, resume_within_s: float, session_id: str) -> Outgoing:
    """To a named session's watchers: its publisher left (``reason``: ended, replaced); a new
    connection under the same name resumes the stream with a new welcome."""
    return message(MessageType.SESSION_PAUSED, {"reason": reason, "resume_within_s": resume_within_s}, session_id)


def error_payload(code: ErrorCode, text: str) -> dict[str, Any]:
    return {"code": str(code), "message": text}


def error(code: ErrorCode, text: str, session_id: str | None) -> Outgoing:
    return message(MessageType.ERROR, error_payload(code, text), session_id)
