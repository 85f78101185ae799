"""The packed avatar_frame: integer map keys and quantised arrays, <= 200 bytes.

Envelope keys (`PackedKey`): type (`PackedType.AVATAR_FRAME`), session_id, timestamp_ms,
sequence, payload. Payload keys (`PackedFrameKey`): weights (uint16 LE, weight * 65535,
channel order from welcome), bone rotations (int16 LE x, y, z per bone, * 32767;
w = sqrt(1 - x²-y²-z²) >= 0), head yaw/pitch/roll (int16 LE centidegrees), viseme index,
viseme_conf (0..255), face_present, capture_ms (omitted when unknown), viseme weights
(uint8 x 15, omitted when empty), variant (the index of "A"/"B"; only in A/B sessions).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.vocabulary import VISEME_INDEX, VISEMES

from .constants import PackedFrameKey as P
from .constants import PackedKey as K
from .constants import PackedType, Variant

VARIANTS = tuple(Variant)


def pack_avatar_frame(
    frame: AvatarFrame, session_id: str, timestamp_ms: int, sequence: int, variant: Variant | None = None
) -> dict[int, Any]:
    weights = np.rint(np.clip(frame.weights, 0.0, 1.0) * 65535.0).astype("<u2")
    xyz: list[int] = []
    for x, y, z, w in np.asarray(frame.rotations, dtype=np.float64).reshape(-1, 4).tolist():
        sign = -32767.0 if w < 0.0 else 32767.0  # q and -q are the same rotation: send w >= 0
        xyz += (_i16(x * sign), _i16(y * sign), _i16(z * sign))
    head = (_i16(frame.head_yaw_deg * 100.0), _i16(frame.head_pitch_deg * 100.0), _i16(frame.head_roll_deg * 100.0))
    payload: dict[int, Any] = {
        P.WEIGHTS: weights.tobytes(),
        P.ROTATIONS: struct.pack(f"<{len(xyz)}h", *xyz),
        P.HEAD: struct.pack("<3h", *head),
        P.VISEME: VISEME_INDEX[frame.viseme],
        P.VISEME_CONF: int(round(min(max(frame.viseme_conf, 0.0), 1.0) * 255)),
        P.FACE_PRESENT: bool(frame.face_present),
    }
    if frame.capture_ms is not None:
        payload[P.CAPTURE_MS] = int(frame.capture_ms)
    if frame.visemes:
        v = np.array([frame.visemes.get(n, 0.0) for n in VISEMES])
        payload[P.VISEMES] = np.round(np.clip(v, 0.0, 1.0) * 255).astype(np.uint8).tobytes()
    if variant is not None:
        payload[P.VARIANT] = VARIANTS.index(variant)
    return {
        K.TYPE: PackedType.AVATAR_FRAME,
        K.SESSION_ID: session_id,
        K.TIMESTAMP_MS: int(timestamp_ms),
        K.SEQUENCE: int(sequence),
        K.PAYLOAD: payload,
    }


def _i16(v: float) -> int:
    return max(-32767, min(32767, round(v)))


def unpack_avatar_frame(message: dict[int, Any], channels: list[str], bones: list[str]) -> dict[str, Any]:
    """The named form of a packed frame (what a client reconstructs)."""
    p = message[K.PAYLOAD]
    weights = np.frombuffer(p[P.WEIGHTS], dtype="<u2").astype(np.float64) / 65535.0
    xyz = np.frombuffer(p[P.ROTATIONS], dtype="<i2").astype(np.float64).reshape(-1, 3) / 32767.0
    w = np.sqrt(np.clip(1.0 - (xyz**2).sum(axis=1), 0.0, 1.0))
    head = np.frombuffer(p[P.HEAD], dtype="<i2").astype(np.float64) / 100.0
    bone_transforms: dict[str, Any] = {b: [*map(float, q), float(wi)] for b, q, wi in zip(bones, xyz, w, strict=True)}
    bone_transforms.update(head_yaw_deg=float(head[0]), head_pitch_deg=float(head[1]), head_roll_deg=float(head[2]))
    visemes = {}
    if P.VISEMES in p:
        visemes = {n: float(x) / 255.0 for n, x in zip(VISEMES, p[P.VISEMES], strict=True)}
    return {
        "type": "avatar_frame",
        "session_id": message[K.SESSION_ID],
        "timestamp_ms": message[K.TIMESTAMP_MS],
        "sequence": message[K.SEQUENCE],
        "payload": {
            "blendshapes": dict(zip(channels, map(float, weights), strict=True)),
            "bone_transforms": bone_transforms,
            "viseme": VISEMES[p[P.VISEME]],
            "viseme_conf": p[P.VISEME_CONF] / 255.0,
            "visemes": visemes,
            "face_present": bool(p[P.FACE_PRESENT]),
            "capture_ms": p.get(P.CAPTURE_MS),
            **({"variant": VARIANTS[p[P.VARIANT]]} if P.VARIANT in p else {}),
        },
    }
