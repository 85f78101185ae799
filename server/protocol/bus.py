"""What crosses the bus between a session and its stages: topics, typed messages and their
plain, versioned CBOR.

A session's messages are addressed by (session id, topic):

| topic | message | from → to |
| --- | --- | --- |
| `video` | `ReceivedVideo` | session → face stage |
| `audio` | `ReceivedAudio` | session → voice stage |
| `face` | `FaceResult` | face stage → session |
| `voice` | `VoiceResult` | voice stage → session |
| `speech_window` | `SpeechWindow` | voice stage → speech stage |
| `speech` | `SpeechRecognition` | speech stage → session |
| `stage_error` | `StageError` | any stage → session |

The in-process bus (server/live/bus.py) hands the objects over as they are; a bus between
processes or machines sends ``encode(message)`` and delivers ``decode(topic, data)``, which
give back exactly what was sent (arrays bit for bit); the names it sends them under belong
to server/cluster/subjects.py with every other subject. Media topics (`video`, `audio`,
`speech_window`) carry the user's images and sound: a bus may only ever relay them, never
store them (no persistent stream, no replay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import cbor2
import numpy as np

from avatar_mapping.features import FaceFeatures
from avatar_mapping.vocabulary import EMOTIONS
from avatar_mapping.voice_features import N_MFCC, VoiceFeatures

from ..inference.sensevoice import SpeechRecognition
from ..inference.speech_segments import SpeechWindow
from ..inference.speech_tags import RichSegment, RichTranscript, TimedWord
from .constants import ErrorCode
from .features import (
    array_from_cbor,
    array_to_cbor,
    face_from_cbor,
    face_to_cbor,
    required_array_from_cbor,
    voice_from_cbor,
    voice_to_cbor,
)
from .messages import AudioChunk, VideoFrame

BUS_VERSION = 1


class Topic(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    FACE = "face"
    VOICE = "voice"
    SPEECH_WINDOW = "speech_window"
    SPEECH = "speech"
    STAGE_ERROR = "stage_error"


class BusCodecError(ValueError):
    """Bytes that are not a message of this version and topic."""


@dataclass(frozen=True, eq=False)
class ReceivedVideo:
    frame: VideoFrame
    received_s: float  # when the session received it, on the session's monotonic clock


@dataclass(frozen=True, eq=False)
class ReceivedAudio:
    chunk: AudioChunk


@dataclass(frozen=True, eq=False)
class FaceResult:
    features: FaceFeatures
    received_s: float  # of the frame it was measured on (the session's clock, passed through)


@dataclass(frozen=True, eq=False)
class VoiceResult:
    features: VoiceFeatures
    # The real-time viseme frames (10 ms) the features came from: MFCCs (n, 13) and log
    # energies (n,), which the calibration wizard's voice steps record.
    mfcc: np.ndarray
    log_energy: np.ndarray


@dataclass(frozen=True)
class StageError:
    stage: str
    code: ErrorCode
    message: str


BusMessage = ReceivedVideo | ReceivedAudio | FaceResult | VoiceResult | SpeechWindow | SpeechRecognition | StageError


def _video(m: ReceivedVideo) -> dict[str, Any]:
    f = m.frame
    return {
        "capture_ms": f.capture_ms,
        "image": f.image,
        "rgb": f.rgb,
        "width": f.width,
        "height": f.height,
        "received_s": m.received_s,
    }


def _video_back(d: dict[str, Any]) -> ReceivedVideo:
    return ReceivedVideo(
        VideoFrame(int(d["capture_ms"]), d["image"], d["rgb"], int(d["width"]), int(d["height"])),
        float(d["received_s"]),
    )


def _audio(m: ReceivedAudio) -> dict[str, Any]:
    c = m.chunk
    return {"capture_ms": c.capture_ms, "pcm": c.pcm, "sample_rate_hz": c.sample_rate_hz}


def _audio_back(d: dict[str, Any]) -> ReceivedAudio:
    return ReceivedAudio(AudioChunk(int(d["capture_ms"]), bytes(d["pcm"]), int(d["sample_rate_hz"])))


def _voice(m: VoiceResult) -> dict[str, Any]:
    return {
        "features": voice_to_cbor(m.features),
        "mfcc": array_to_cbor(m.mfcc),
        "log_energy": array_to_cbor(m.log_energy),
    }


def _voice_back(d: dict[str, Any]) -> VoiceResult:
    energy = required_array_from_cbor(d["log_energy"], what="log_energy")
    mfcc = required_array_from_cbor(d["mfcc"], len(energy) * N_MFCC, "mfcc").reshape(len(energy), N_MFCC)
    return VoiceResult(voice_from_cbor(d["features"]), mfcc, energy)


def _window(m: SpeechWindow) -> dict[str, Any]:
    return {"samples": np.ascontiguousarray(m.samples, "<f4").tobytes(), "start_ms": m.start_ms, "final": m.final}


def _window_back(d: dict[str, Any]) -> SpeechWindow:
    if len(d["samples"]) % 4:
        raise ValueError("samples must be float32 bytes")
    return SpeechWindow(np.frombuffer(d["samples"], "<f4").astype(np.float32), int(d["start_ms"]), bool(d["final"]))


def _speech(m: SpeechRecognition) -> dict[str, Any]:
    t = m.transcript
    return {
        "present": m.present,
        "start_ms": m.start_ms,
        "end_ms": m.end_ms,
        "final": m.final,
        "segments": [[s.language, s.emotion, list(s.events), s.text] for s in t.segments],
        "words": [[w.text, w.start_ms, w.end_ms] for w in t.words],
        "emotion_scores": array_to_cbor(m.emotion_scores),
        "emotion_confidence": m.emotion_confidence,
    }


def _speech_back(d: dict[str, Any]) -> SpeechRecognition:
    transcript = RichTranscript(
        tuple(RichSegment(s[0], s[1], tuple(s[2]), s[3]) for s in d["segments"]),
        tuple(TimedWord(w[0], int(w[1]), int(w[2])) for w in d["words"]),
    )
    return SpeechRecognition(
        bool(d["present"]),
        int(d["start_ms"]),
        int(d["end_ms"]),
        bool(d["final"]),
        transcript,
        array_from_cbor(d["emotion_scores"], len(EMOTIONS), "emotion_scores"),
        float(d["emotion_confidence"]),
    )


# Per topic: the message class, its encoder (which takes that class: dispatched by TOPIC_OF) and decoder.
_CODECS: dict[Topic, tuple[type, Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], BusMessage]]] = {
    Topic.VIDEO: (ReceivedVideo, _video, _video_back),
    Topic.AUDIO: (ReceivedAudio, _audio, _audio_back),
    Topic.FACE: (
        FaceResult,
        lambda m: {"features": face_to_cbor(m.features), "received_s": m.received_s},
        lambda d: FaceResult(face_from_cbor(d["features"]), float(d["received_s"])),
    ),
    Topic.VOICE: (VoiceResult, _voice, _voice_back),
    Topic.SPEECH_WINDOW: (SpeechWindow, _window, _window_back),
    Topic.SPEECH: (SpeechRecognition, _speech, _speech_back),
    Topic.STAGE_ERROR: (
        StageError,
        lambda m: {"stage": m.stage, "code": str(m.code), "message": m.message},
        lambda d: StageError(str(d["stage"]), ErrorCode(d["code"]), str(d["message"])),
    ),
}
TOPIC_OF: dict[type, Topic] = {kind: topic for topic, (kind, _, _) in _CODECS.items()}


def encode(message: BusMessage) -> bytes:
    """The message as one CBOR map: ``{v: BUS_VERSION, topic, ...its fields}``."""
    topic = TOPIC_OF[type(message)]
    return cbor2.dumps({"v": BUS_VERSION, "topic": str(topic), **_CODECS[topic][1](message)})


def decode(topic: Topic, data: bytes) -> BusMessage:
    try:
        d = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as e:
        raise BusCodecError(f"{topic}: not CBOR: {e}") from None
    if not isinstance(d, dict) or d.get("v") != BUS_VERSION or d.get("topic") != topic:
        raise BusCodecError(f"{topic}: not a version {BUS_VERSION} {topic} message")
    try:
        return _CODECS[topic][2](d)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise BusCodecError(f"{topic}: malformed message: {e!r}") from None
