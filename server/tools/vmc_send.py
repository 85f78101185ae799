"""`avatar-driver vmc send --session ID --to HOST:PORT`: watch a session and send its frames as
VMC to a receiver on this machine or network (local use: the operator runs it, so the operator
chooses where UDP goes). A watcher like any other: it needs the watch token where one is set,
and it follows a named session across publishers (`wait=true`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import cbor2
import numpy as np
import websockets

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.vocabulary import EMOTIONS

from ..metrics import Metrics
from ..sinks.vmc import VmcSink

log = logging.getLogger(__name__)
BONES = ("spine", "chest", "neck", "head", "left_eye", "right_eye")


def frame_of(payload: dict[str, Any]) -> AvatarFrame:
    """A named `avatar_frame` payload as the AvatarFrame it was made from (as far as VMC needs)."""
    weights = payload.get("blendshapes", {})
    transforms = payload.get("bone_transforms", {})
    bones = tuple(b for b in BONES if isinstance(transforms.get(b), list))
    rotations = np.array([transforms[b] for b in bones], dtype=np.float64).reshape(len(bones), 4)
    return AvatarFrame(
        tuple(weights),
        np.array(list(weights.values()), dtype=np.float64),
        bones,
        rotations,
        float(transforms.get("head_yaw_deg", 0.0)),
        float(transforms.get("head_pitch_deg", 0.0)),
        float(transforms.get("head_roll_deg", 0.0)),
        bool(payload.get("face_present")),
        payload.get("capture_ms"),
        payload.get("viseme", "sil"),
        float(payload.get("viseme_conf", 0.0)),
        dict(payload.get("visemes", {})),
    )


async def send(
    server: str, session_id: str, target: tuple[str, int], profile: str, token: str | None, frames: int | None = None
) -> int:
    """Forwards until the session ends (or ``frames`` were sent); returns how many were sent."""
    sink = VmcSink(target, profile, Metrics())
    url = f"{server.rstrip('/')}/v1/sessions/{quote(session_id)}/watch?format=named&encoding=cbor&wait=true"
    if token:
        url += f"&token={quote(token)}"
    sent = 0
    try:
        async with websockets.connect(url, max_size=None) as ws:
            async for raw in ws:
                if isinstance(raw, str):  # encoding=cbor: every message is a binary frame
                    raise TypeError(f"a text frame where CBOR was asked for: {raw[:80]!r}")
                message = cbor2.loads(raw)
                kind = message.get("type") if isinstance(message, dict) else None
                if kind == "avatar_frame" and message["payload"].get("variant") in (None, "A"):
                    sink.send(frame_of(message["payload"]))
                    sent += 1
                    if frames is not None and sent >= frames:
                        break
                elif kind == "emotion_update" and message["payload"].get("scores"):
                    scores = message["payload"]["scores"]
                    sink.set_emotion_scores(np.array([scores.get(e, 0.0) for e in EMOTIONS]))
                elif kind == "error":
                    log.warning("server: %s", message["payload"].get("message"))
    finally:
        sink.close()
    return sent


def run(server: str, session_id: str, target: tuple[str, int], profile: str, token: str | None) -> int:
    try:
        sent = asyncio.run(send(server, session_id, target, profile, token))
    except KeyboardInterrupt:
        return 0
    print(f"sent {sent} frames to {target[0]}:{target[1]}")
    return 0
