"""The golden protocol messages, built through the server's own encoders; `make golden`
writes them (tests/golden/make_golden.py) and the Python, TypeScript and C# tests decode them.

Each <name>.cbor is one message exactly as the server or a client puts it on the wire;
<name>.json is its decoded value in tagged JSON ({"$bytes": base64} for byte strings,
{"$intmap": {...}} for maps with integer keys).

Every value is a literal (or exact integer arithmetic and correctly rounded division and
square roots), never the result of numpy/BLAS kernels or libm functions, which differ in the
last bit between CPUs: the fixtures are built through the server's own encoders, so the
bytes must be the same on every machine. Computed results are tested with named tolerances
in the tests of the modules that compute them.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.rig import RigDefinition
from avatar_mapping.vocabulary import ACTION_UNITS, ARKIT_BLENDSHAPES
from calibration.table import CalibrationTable
from calibration.wizard import WizardEvent, WizardState
from server.inference.sensevoice import SpeechRecognition
from server.inference.speech_tags import parse_result
from server.protocol import envelopes
from server.protocol.constants import ErrorCode, MessageType, Variant
from server.protocol.envelopes import SessionInfo
from server.protocol.messages import Hello

from .rigs import load_rig

SESSION = "Gx3kQ9vTz1Ab"
T0 = 1_700_000_123_456
# A 2x2 PNG (red, green / blue, white), so fixtures carry a real decodable image.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVQIHWP8z8DA+J+BkYHh////DAAfDgT/hCY0AgAAAABJRU5ErkJggg=="
)


def _unit(x: float, y: float, z: float) -> list[float]:
    """A unit quaternion with w >= 0 (sqrt is correctly rounded everywhere)."""
    return [x, y, z, math.sqrt(1.0 - x * x - y * y - z * z)]


def avatar_frame(rig: RigDefinition) -> AvatarFrame:
    """A mapped face: weights (i/51)² rounded to 4 places, the head turned to its left."""
    weights = np.array([round(i * i / 2601, 4) for i in range(len(rig.channels))])
    rotations = np.array(
        [
            _unit(0.0123, 0.0435, -0.0101),
            _unit(0.0185, 0.0652, -0.0152),
            _unit(0.0175, 0.0524, 0.0),
            _unit(0.0218, 0.0349, 0.0),
        ]
    )
    return AvatarFrame(
        channels=rig.channel_names,
        weights=weights,
        bones=rig.bone_names,
        rotations=rotations,
        head_yaw_deg=12.5,
        head_pitch_deg=-4.25,
        head_roll_deg=3.0,
        face_present=True,
        capture_ms=T0 - 40,
        viseme="sil",
        viseme_conf=0.0,
        visemes={},
        particles={},
    )


def face() -> FaceFeatures:
    return FaceFeatures(
        present=True,
        capture_ms=T0 - 40,
        confidence=0.96875,
        blendshapes=np.array([round(i * i / 2601, 4) for i in range(len(ARKIT_BLENDSHAPES))]),
        action_units=np.array([round(k / 32, 5) for k in range(len(ACTION_UNITS))]),
        head=HeadPose(12.5, -4.25, 3.0, (1.5, -2.0, -55.0)),
        left_eye=EyeGaze(6.0, -2.0),
        right_eye=EyeGaze(4.0, -2.5),
        faces_seen=1,
    )


SPEECH_SCORES = np.array([0.125, 0.5, 0.0625, 0.0625, 0.125, 0.0625, 0.0625])


def emotion_report() -> EmotionReport:
    """Face, SenseVoice and prosody fused: happy."""
    speech = (EmotionEvidence("sensevoice", 0.75, scores=SPEECH_SCORES), EmotionEvidence("prosody", 0.5, arousal=0.625))
    return EmotionReport(
        face(),
        "happy",
        np.array([0.09375, 0.71875, 0.03125, 0.015625, 0.078125, 0.03125, 0.03125]),
        "face_cnn+au_prototypes+sensevoice+prosody",
        0.5625,
        0.59375,
        0.1875,
        0.08749,
        -0.03929,
        0.875,
        speech,
    )


# The body of POST /v1/webrtc/offer: a browser's offer (camera, microphone, the two data
# channels; host candidates only), with the hello a WebSocket would send first.
OFFER_SDP = "\r\n".join(
    (
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS avatar-camera",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "a=ice-ufrag:QFk2",
        "a=ice-pwd:b7lO0pXb3dFqN2uK8tE1sWzY",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:"
        "09:5E:D6:BC",
        "a=setup:actpass",
        "a=mid:0",
        "a=sendonly",
        "a=msid:avatar-camera camera",
        "a=rtcp-mux",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        "a=sendonly",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=mid:2",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        "",
    )
)

# What a cluster's welcome gives (secrets.token_urlsafe(24)); a literal here.
RESUME_TOKEN = "q2Vd0wX7c1yM4nB8rT5kLp9zA3sE6fHj"


def messages() -> dict[str, Any]:
    rig = load_rig("arkit52")
    hello = {
        "consent": {"camera": True, "microphone": True},
        "rig": "arkit52",
        "format": "packed",
        "rate_hz": 60,
        "user_id": "user-42",
        "strategy": "direct",
        "mirror": True,
    }
    frame = avatar_frame(rig)
    avatar = envelopes.avatar_frame(frame, SESSION, T0, 235)
    b_frame = envelopes.avatar_frame(frame, SESSION, T0, 0, Variant.B)
    emotion = envelopes.emotion_update(emotion_report(), SESSION, T0, 23)
    heard = SpeechRecognition(
        True,
        T0 - 1500,
        T0 - 300,
        True,
        parse_result(
            {
                "key": "seg",
                "text": "<|en|><|HAPPY|><|Laughter|><|withitn|>Hello there.",
                "timestamp": [[90, 450], [510, 960]],
                "words": ["Hello", "there."],
            }
        ),
        SPEECH_SCORES,
        0.75,
    )
    table = CalibrationTable.identity("user-42").to_dict()
    limits = {
        "max_message_bytes": 2097152,
        "max_messages_per_s": 200.0,
        "max_image_pixels": 2073600,
        "max_rate_hz": 60.0,
    }
    info = SessionInfo(
        SESSION, Hello.parse(hello, 30.0, 60.0), rig.channel_names, rig.bone_names, 10.0, limits, "0.1.0"
    )

    def env(t: MessageType, p: dict[str, Any], seq: int | None, sid: str | None = SESSION) -> dict[str, Any]:
        return envelopes.envelope(t, p, sid, seq, T0)

    rejected = WizardEvent(
        WizardState.REJECTED,
        "smile",
        1,
        2,
        "Smile as widely as you can.",
        2.0,
        1,
        reason="hold still: keep your head steady during the step",
    )
    return {
        "hello": env(MessageType.HELLO, hello, 0, None),
        "video_frame": env(MessageType.VIDEO_FRAME, {"image": TINY_PNG, "capture_ms": T0 - 40}, 1, None),
        "video_frame_rgb": env(
            MessageType.VIDEO_FRAME, {"rgb": bytes(range(12)), "width": 2, "height": 2, "capture_ms": T0 - 40}, 2, None
        ),
        "audio_chunk": env(
            MessageType.AUDIO_CHUNK,
            {
                "pcm": np.array([0, 1000, -1000, 32767, -32768], "<i2").tobytes(),
                "sample_rate_hz": 16000,
                "capture_ms": T0 - 20,
            },
            3,
            None,
        ),
        "bye": env(MessageType.BYE, {}, 4, None),
        "welcome": env(MessageType.WELCOME, envelopes.welcome_payload(info), 0),
        "webrtc_offer": {"sdp": OFFER_SDP, "type": "offer", "hello": hello},
        "resume": env(MessageType.RESUME, {"session_id": SESSION, "resume_token": RESUME_TOKEN}, 0, None),
        "welcome_resumed": env(
            MessageType.WELCOME,
            envelopes.welcome_payload(info)
            | {
                "strategy_params": {},
                "adaptive": False,
                "adaptive_frozen": False,
                "calibration_user_id": None,
                "compare": None,
                "resume_token": RESUME_TOKEN,
                "resumed": True,
            },
            0,
        ),
        "avatar_frame_named": avatar.named,
        "avatar_frame_packed": avatar.packed,
        "emotion_update": emotion.named,
        "error": env(
            MessageType.ERROR,
            envelopes.error_payload(ErrorCode.BAD_IMAGE, "image bytes could not be decoded (truncated or corrupt)"),
            None,
        ),
        "configure": env(
            MessageType.CONFIGURE,
            {"strategy": "hybrid", "strategy_params": {"accent": 0.5}, "adaptive": False},
            5,
            None,
        ),
        "configured": env(
            MessageType.CONFIGURED,
            {
                "strategy": "hybrid",
                "strategy_params": {"accent": 0.5},
                "adaptive": False,
                "adaptive_frozen": False,
                "calibration_user_id": None,
                "compare": {"strategy": "emotion_preset", "strategy_params": {}},
            },
            None,
        ),
        "configure_compare": env(
            MessageType.CONFIGURE, {"compare": {"strategy": "emotion_preset", "strategy_params": {}}}, 8, None
        ),
        "avatar_frame_packed_variant_b": b_frame.packed,
        "avatar_frame_named_variant_b": b_frame.named,
        "calibration_start": env(
            MessageType.CALIBRATION_START,
            {"user_id": "user-42", "steps": ["neutral", "smile"], "prepare_s": 1.5, "duration_scale": 1.0},
            6,
            None,
        ),
        "calibration_step_cancel": env(MessageType.CALIBRATION_STEP, {"action": "cancel"}, 7, None),
        "calibration_step": env(MessageType.CALIBRATION_STEP, envelopes.calibration_step_payload(rejected), None),
        "transcript": env(MessageType.TRANSCRIPT, envelopes.transcript_payload(heard), 0),
        "session_paused": envelopes.session_paused("ended", 120.0, SESSION).named | {"timestamp_ms": T0},
        "calibration_result": envelopes.calibration_saved(
            "user-42", 3, ("neutral", "smile"), ["frown"], table, SESSION
        ).named
        | {"timestamp_ms": T0},
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
