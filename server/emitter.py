"""The output clock's work: newest features -> mapped AvatarFrame -> outgoing messages.

Shared by live sessions and the offline ``analyze`` command, so both produce the
same records. Messages are encoded lazily, once per (format, encoding) asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avatar_mapping.features import FaceFeatures
from avatar_mapping.frame import AvatarFrame
from avatar_mapping.mapper import AvatarMapper, MapperOptions
from avatar_mapping.rig import RigDefinition

from .protocol.codec import Encoding, encode_map
from .protocol.messages import avatar_frame_payload, emotion_update_payload
from .protocol.packed import pack_avatar_frame


@dataclass
class Outgoing:
    type: str
    named: dict[str, Any]
    packed: dict[int, Any] | None = None
    _cache: dict[tuple[str, str], bytes | str] = field(default_factory=dict)

    def encoded(self, fmt: str, encoding: Encoding) -> bytes | str:
        key = ("packed" if fmt == "packed" and self.packed is not None else "named", encoding)
        if key not in self._cache:
            self._cache[key] = encode_map(self.packed if key[0] == "packed" else self.named, encoding)
        return self._cache[key]


class FrameEmitter:
    def __init__(self, session_id: str, rig: RigDefinition, emotion_rate_hz: float,
                 mapper_options: MapperOptions | None = None):
        self.session_id = session_id
        self.rig = rig
        self.mapper = AvatarMapper(rig, mapper_options)
        self.emotion_interval_s = 1.0 / emotion_rate_hz
        self.frame_sequence = 0
        self.emotion_sequence = 0
        self._since_emotion_s = float("inf")

    def tick(self, features: FaceFeatures, dt_s: float, age_s: float, timestamp_ms: int) -> list[Outgoing]:
        """One output tick: always an avatar_frame, and an emotion_update when one is due."""
        frame = self.mapper.step(features, dt_s, age_s)
        out = [self.avatar_frame(frame, timestamp_ms)]
        self._since_emotion_s += dt_s
        if self._since_emotion_s >= self.emotion_interval_s:
            self._since_emotion_s = 0.0
            out.append(self.emotion_update(features, timestamp_ms))
        return out

    def avatar_frame(self, frame: AvatarFrame, timestamp_ms: int) -> Outgoing:
        seq = self.frame_sequence
        self.frame_sequence += 1
        named = {"type": "avatar_frame", "session_id": self.session_id, "timestamp_ms": timestamp_ms,
                 "sequence": seq, "payload": avatar_frame_payload(frame)}
        return Outgoing("avatar_frame", named, pack_avatar_frame(frame, self.session_id, timestamp_ms, seq))

    def emotion_update(self, features: FaceFeatures, timestamp_ms: int) -> Outgoing:
        seq = self.emotion_sequence
        self.emotion_sequence += 1
        return Outgoing("emotion_update", {"type": "emotion_update", "session_id": self.session_id,
                                           "timestamp_ms": timestamp_ms, "sequence": seq,
                                           "payload": emotion_update_payload(features)})
