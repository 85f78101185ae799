"""Bit-exact CBOR codecs of the stages' typed results: FaceFeatures and VoiceFeatures.

Arrays are little-endian float64 byte strings and scalars CBOR floats, so a decoded value is
exactly the encoded one (a replay or a worker on another machine sees what was measured).
Recordings (recording.py) and the bus (bus.py) carry these maps; their own headers carry
the version. Decoding checks shapes: a map from elsewhere never reaches the mapping with a
wrong-sized array (ValueError, KeyError or TypeError, which the callers turn into their own
errors).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.vocabulary import ACTION_UNITS, ARKIT_BLENDSHAPES, EMOTIONS, VISEMES
from avatar_mapping.voice_features import VoiceFeatures


def array_to_cbor(a: np.ndarray | None) -> bytes | None:
    return None if a is None else np.ascontiguousarray(a, dtype="<f8").tobytes()


def array_from_cbor(b: object, size: int | None = None, what: str = "array") -> NDArray[np.float64] | None:
    """An optional array: None stays None."""
    if b is None:
        return None
    return required_array_from_cbor(b, size, what)


def required_array_from_cbor(b: object, size: int | None = None, what: str = "array") -> NDArray[np.float64]:
    """An array that must be there: None is as wrong as any other non-bytes value."""
    if not isinstance(b, (bytes, bytearray)) or len(b) % 8:
        raise ValueError(f"{what} must be float64 bytes")
    a = np.frombuffer(b, dtype="<f8").astype(np.float64)
    if size is not None and a.size != size:
        raise ValueError(f"{what} has {a.size} values, not {size}")
    return a


def face_to_cbor(f: FaceFeatures) -> dict[str, Any]:
    return {
        "present": f.present,
        "capture_ms": f.capture_ms,
        "confidence": f.confidence,
        "blendshapes": array_to_cbor(f.blendshapes),
        "action_units": array_to_cbor(f.action_units),
        "head": [f.head.yaw_deg, f.head.pitch_deg, f.head.roll_deg, *f.head.translation_cm],
        "eyes": [f.left_eye.yaw_deg, f.left_eye.pitch_deg, f.right_eye.yaw_deg, f.right_eye.pitch_deg],
        "mirrored": f.mirrored,
        "emotion_scores": array_to_cbor(f.emotion_scores),
        "faces_seen": f.faces_seen,
    }


def face_from_cbor(d: dict[str, Any]) -> FaceFeatures:
    h, e = d["head"], d["eyes"]
    if len(h) != 6 or len(e) != 4:
        raise ValueError("head needs 6 numbers and eyes 4")
    return FaceFeatures(
        present=bool(d["present"]),
        capture_ms=int(d["capture_ms"]),
        confidence=float(d["confidence"]),
        blendshapes=required_array_from_cbor(d["blendshapes"], len(ARKIT_BLENDSHAPES), "blendshapes"),
        action_units=required_array_from_cbor(d["action_units"], len(ACTION_UNITS), "action_units"),
        head=HeadPose(h[0], h[1], h[2], (h[3], h[4], h[5])),
        left_eye=EyeGaze(e[0], e[1]),
        right_eye=EyeGaze(e[2], e[3]),
        mirrored=bool(d["mirrored"]),
        emotion_scores=array_from_cbor(d.get("emotion_scores"), len(EMOTIONS), "emotion_scores"),
        faces_seen=_count(d.get("faces_seen", 0), "faces_seen"),  # absent from older recordings
    )


def _count(x: object, what: str) -> int:
    """A non-negative integer (a bool is not one)."""
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise ValueError(f"{what} must be a non-negative integer")
    return x


def evidence_to_cbor(e: EmotionEvidence) -> dict[str, Any]:
    return {"source": e.source, "confidence": e.confidence, "scores": array_to_cbor(e.scores), "arousal": e.arousal}


def evidence_from_cbor(d: dict[str, Any]) -> EmotionEvidence:
    return EmotionEvidence(
        str(d["source"]), float(d["confidence"]), array_from_cbor(d["scores"], len(EMOTIONS), "scores"), d["arousal"]
    )


def voice_to_cbor(v: VoiceFeatures) -> dict[str, Any]:
    return {
        "present": v.present,
        "capture_ms": v.capture_ms,
        "speaking_probability": v.speaking_probability,
        "visemes": array_to_cbor(v.visemes),
        "viseme_conf": v.viseme_conf,
        "speech_emotion": [evidence_to_cbor(e) for e in v.speech_emotion],
    }


def voice_from_cbor(d: dict[str, Any]) -> VoiceFeatures:
    return VoiceFeatures(
        bool(d["present"]),
        int(d["capture_ms"]),
        float(d["speaking_probability"]),
        required_array_from_cbor(d["visemes"], len(VISEMES), "visemes"),
        float(d["viseme_conf"]),
        tuple(evidence_from_cbor(e) for e in d["speech_emotion"]),
    )
