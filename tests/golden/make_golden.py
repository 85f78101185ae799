"""Builds the golden protocol fixtures: `make golden` rewrites tests/golden/*.cbor and *.json.

Each <name>.cbor is one message exactly as the server or a client puts it on the wire;
<name>.json is its decoded value in tagged JSON ({"$bytes": base64} for byte strings,
{"$intmap": {...}} for maps with integer keys), for the Python, TypeScript and C# tests.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import cbor2
import numpy as np

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.fused import FusedState
from avatar_mapping.mapper import AvatarMapper
from avatar_mapping.rig import RigDefinition
from avatar_mapping.voice import VoiceFeatures
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES
from calibration.table import CalibrationTable
from server.emitter import FrameEmitter
from server.inference.sensevoice import SpeechRecognition
from server.inference.speech_tags import parse_result
from server.protocol.messages import Hello, error_payload, transcript_payload, welcome_payload

HERE = Path(__file__).parent
SESSION = "Gx3kQ9vTz1Ab"
T0 = 1_700_000_123_456
# A 2x2 PNG (red, green / blue, white), so fixtures carry a real decodable image.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVQIHWP8z8DA+J+BkYHh////DAAfDgT/hCY0AgAAAABJRU5ErkJggg==")


def _rig() -> RigDefinition:
    return RigDefinition.from_dict(json.loads((HERE.parents[1] / "rigs" / "arkit52.json").read_text()))


def _features() -> FaceFeatures:
    b = np.round(np.linspace(0.0, 1.0, len(ARKIT_BLENDSHAPES)) ** 2, 4)
    return FaceFeatures.from_blendshapes(b, T0 - 40, confidence=0.97,
                                         head=HeadPose(12.5, -4.25, 3.0, (1.5, -2.0, -55.0)),
                                         left_eye=EyeGaze(6.0, -2.0), right_eye=EyeGaze(4.0, -2.5))


def messages() -> dict[str, Any]:
    rig = _rig()
    hello = {"consent": {"camera": True, "microphone": True}, "rig": "arkit52", "format": "packed",
             "rate_hz": 60, "user_id": "user-42", "strategy": "direct", "mirror": True}
    parsed = Hello.parse(hello, 30.0, 60.0)
    emitter = FrameEmitter(SESSION, rig, emotion_rate_hz=10.0)
    mapper = AvatarMapper(rig)
    features = _features()
    frame = mapper.step(features, 0.0)
    avatar = emitter.avatar_frame(frame, T0)
    b_frame = FrameEmitter(SESSION, rig, emotion_rate_hz=10.0).avatar_frame(frame, T0, variant="B")
    speech_scores = np.array([0.125, 0.5, 0.0625, 0.0625, 0.125, 0.0625, 0.0625])
    voice = VoiceFeatures(True, T0 - 20, speaking_probability=0.875, speech_emotion=(
        EmotionEvidence("sensevoice", 0.75, scores=speech_scores), EmotionEvidence("prosody", 0.5, arousal=0.625)))
    emotion = emitter.emotion_update(features, T0, FusedState(mapper.last_state.face, voice))
    heard = SpeechRecognition(True, T0 - 1500, T0 - 300, True, parse_result(
        {"key": "seg", "text": "<|en|><|HAPPY|><|Laughter|><|withitn|>Hello there.",
         "timestamp": [[90, 450], [510, 960]], "words": ["Hello", "there."]}), speech_scores, 0.75)
    table = CalibrationTable.identity("user-42").to_dict()
    env = lambda t, p, seq, sid=SESSION: {"type": t, "session_id": sid, "timestamp_ms": T0, "sequence": seq,  # noqa: E731
                                          "payload": p}
    return {
        "hello": env("hello", hello, 0, None),
        "video_frame": env("video_frame", {"image": TINY_PNG, "capture_ms": T0 - 40}, 1, None),
        "video_frame_rgb": env("video_frame", {"rgb": bytes(range(12)), "width": 2, "height": 2,
                                               "capture_ms": T0 - 40}, 2, None),
        "audio_chunk": env("audio_chunk", {"pcm": np.array([0, 1000, -1000, 32767, -32768], "<i2").tobytes(),
                                           "sample_rate_hz": 16000, "capture_ms": T0 - 20}, 3, None),
        "bye": env("bye", {}, 4, None),
        "welcome": env("welcome", welcome_payload(SESSION, parsed, rig.channel_names, rig.bone_names, 10.0,
                                                  {"max_message_bytes": 2097152, "max_messages_per_s": 200.0,
                                                   "max_image_pixels": 2073600, "max_rate_hz": 60.0},
                                                  "0.1.0"), 0),
        "avatar_frame_named": avatar.named,
        "avatar_frame_packed": avatar.packed,
        "emotion_update": emotion.named,
        "error": env("error", error_payload("bad_image", "image bytes could not be decoded (truncated or corrupt)"),
                     None),
        "configure": env("configure", {"strategy": "hybrid", "strategy_params": {"accent": 0.5}, "adaptive": False}, 5,
                         None),
        "configured": env("configured", {"strategy": "hybrid", "strategy_params": {"accent": 0.5}, "adaptive": False,
                                         "adaptive_frozen": False, "calibration_user_id": None,
                                         "compare": {"strategy": "emotion_preset", "strategy_params": {}}}, None),
        "configure_compare": env("configure", {"compare": {"strategy": "emotion_preset", "strategy_params": {}}}, 8,
                                 None),
        "avatar_frame_packed_variant_b": b_frame.packed,
        "avatar_frame_named_variant_b": b_frame.named,
        "calibration_start": env("calibration_start", {"user_id": "user-42", "steps": ["neutral", "smile"],
                                                       "prepare_s": 1.5, "duration_scale": 1.0}, 6, None),
        "calibration_step_cancel": env("calibration_step", {"action": "cancel"}, 7, None),
        "calibration_step": env("calibration_step", {
            "state": "rejected", "step": "smile", "index": 1, "count": 2, "instruction": "Smile as widely as you can.",
            "duration_s": 2.0, "attempt": 1, "reason": "hold still: keep your head steady during the step"}, None),
        "transcript": env("transcript", transcript_payload(heard), 0),
        "calibration_result": env("calibration_result", {"user_id": "user-42", "status": "saved", "version": 3,
                                                         "steps": ["neutral", "smile"], "table": table}, None),
    }


def to_tagged(v: Any) -> Any:
    if isinstance(v, bytes):
        return {"$bytes": base64.b64encode(v).decode()}
    if isinstance(v, dict):
        if v and all(isinstance(k, int) for k in v):
            return {"$intmap": {str(k): to_tagged(x) for k, x in v.items()}}
        return {k: to_tagged(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_tagged(x) for x in v]
    return v


def from_tagged(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"$bytes"}:
            return base64.b64decode(v["$bytes"])
        if set(v) == {"$intmap"}:
            return {int(k): from_tagged(x) for k, x in v["$intmap"].items()}
        return {k: from_tagged(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_tagged(x) for x in v]
    return v


def main() -> None:
    for name, value in messages().items():
        (HERE / f"{name}.cbor").write_bytes(cbor2.dumps(value))
        (HERE / f"{name}.json").write_text(json.dumps(to_tagged(value), indent=1) + "\n")
        print(f"{name}: {len(cbor2.dumps(value))} bytes")


if __name__ == "__main__":
    main()
