"""The packed avatar_frame: integer map keys and quantised arrays, <= 200 bytes.

Envelope keys: 0 type (1 = avatar_frame), 1 session_id, 2 timestamp_ms, 3 sequence,
4 payload. Payload keys: 0 weights (uint16 LE, weight * 65535, channel order from
welcome), 1 bone rotations (int16 LE x, y, z per bone, * 32767; w = sqrt(1 - x²-y²-z²)
>= 0), 2 head yaw/pitch/roll (int16 LE centidegrees), 3 viseme index, 4 viseme_conf
(0..255), 5 face_present, 6 capture_ms (omitted when unknown), 7 viseme weights
(uint8 x 15, omitted when empty), 8 variant (0 = "A", 1 = "B"; only in A/B sessions).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from avatar_mapping.frame import AvatarFrame
from avatar_mapping.vocabulary import VISEME_INDEX, VISEMES

PACKED_TYPE_CODES = {"avatar_frame": 1}
K_TYPE, K_SESSION, K_TIMESTAMP, K_SEQUENCE, K_PAYLOAD = range(5)
P_WEIGHTS, P_ROTATIONS, P_HEAD, P_VISEME, P_VISEME_CONF, P_PRESENT, P_CAPTURE, P_VISEMES, P_VARIANT = range(9)
VARIANTS = ("A", "B")


def pack_avatar_frame(frame: AvatarFrame, session_id: str, timestamp_ms: int, sequence: int,
                      variant: str | None = None) -> dict[int, Any]:
    weights = np.rint(np.clip(frame.weights, 0.0, 1.0) * 65535.0).astype("<u2")
    xyz: list[int] = []
    for x, y, z, w in np.asarray(frame.rotations, dtype=np.float64).reshape(-1, 4).tolist():
        sign = -32767.0 if w < 0.0 else 32767.0  # q and -q are the same rotation: send w >= 0
        xyz += (_i16(x * sign), _i16(y * sign), _i16(z * sign))
    head = (_i16(frame.head_yaw_deg * 100.0), _i16(frame.head_pitch_deg * 100.0), _i16(frame.head_roll_deg * 100.0))
    payload: dict[int, Any] = {
        P_WEIGHTS: weights.tobytes(),
        P_ROTATIONS: struct.pack(f"<{len(xyz)}h", *xyz),
        P_HEAD: struct.pack("<3h", *head),
        P_VISEME: VISEME_INDEX[frame.viseme],
        P_VISEME_CONF: int(round(min(max(frame.viseme_conf, 0.0), 1.0) * 255)),
        P_PRESENT: bool(frame.face_present),
    }
    if frame.capture_ms is not None:
        payload[P_CAPTURE] = int(frame.capture_ms)
    if frame.visemes:
        v = np.array([frame.visemes.get(n, 0.0) for n in VISEMES])
        payload[P_VISEMES] = np.round(np.clip(v, 0.0, 1.0) * 255).astype(np.uint8).tobytes()
    if variant is not None:
        payload[P_VARIANT] = VARIANTS.index(variant)
    return {
        K_TYPE: PACKED_TYPE_CODES["avatar_frame"],
        K_SESSION: session_id,
        K_TIMESTAMP: int(timestamp_ms),
        K_SEQUENCE: int(sequence),
        K_PAYLOAD: payload,
    }


def _i16(v: float) -> int:
    return max(-32767, min(32767, round(v)))


def unpack_avatar_frame(message: dict[int, Any], channels: list[str], bones: list[str]) -> dict[str, Any]:
    """The named form of a packed frame (what a client reconstructs)."""
    p = message[K_PAYLOAD]
    weights = np.frombuffer(p[P_WEIGHTS], dtype="<u2").astype(np.float64) / 65535.0
    xyz = np.frombuffer(p[P_ROTATIONS], dtype="<i2").astype(np.float64).reshape(-1, 3) / 32767.0
    w = np.sqrt(np.clip(1.0 - (xyz ** 2).sum(axis=1), 0.0, 1.0))
    head = np.frombuffer(p[P_HEAD], dtype="<i2").astype(np.float64) / 100.0
    bone_transforms: dict[str, Any] = {b: [*map(float, q), float(wi)] for b, q, wi in zip(bones, xyz, w)}
    bone_transforms.update(head_yaw_deg=float(head[0]), head_pitch_deg=float(head[1]), head_roll_deg=float(head[2]))
    visemes = {}
    if P_VISEMES in p:
        visemes = {n: float(x) / 255.0 for n, x in zip(VISEMES, p[P_VISEMES])}
    return {
        "type": "avatar_frame",
        "session_id": message[K_SESSION],
        "timestamp_ms": message[K_TIMESTAMP],
        "sequence": message[K_SEQUENCE],
        "payload": {
            "blendshapes": dict(zip(channels, map(float, weights))),
            "bone_transforms": bone_transforms,
            "viseme": VISEMES[p[P_VISEME]],
            "viseme_conf": p[P_VISEME_CONF] / 255.0,
            "visemes": visemes,
            "face_present": bool(p[P_PRESENT]),
            "capture_ms": p.get(P_CAPTURE),
            **({"variant": VARIANTS[p[P_VARIANT]]} if P_VARIANT in p else {}),
        },
    }
