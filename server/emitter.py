"""The output clock's work: newest features -> mapped AvatarFrame -> outgoing messages.

Shared by live sessions and the offline ``analyze`` command, so both produce the
same records. Messages are encoded lazily, once per (format, encoding) asked for.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable

from avatar_mapping.emotion_tracker import EmotionTracker
from avatar_mapping.features import FaceFeatures
from avatar_mapping.frame import AvatarFrame
from avatar_mapping.fused import FusedState
from avatar_mapping.mapper import AvatarMapper, MapperOptions
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import Strategy
from avatar_mapping.voice import VoiceFeatures
from calibration.table import CalibrationTable

from .protocol.codec import Encoding, encode_map
from .protocol.messages import avatar_frame_payload, emotion_update_payload
from .protocol.packed import pack_avatar_frame


class Outgoing:
    """One message for every subscriber; each form is built only if someone needs it."""

    def __init__(self, type: str, build_named: Callable[[], dict[str, Any]],
                 build_packed: Callable[[], dict[int, Any]] | None = None):
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

    def encoded(self, fmt: str, encoding: Encoding) -> bytes | str:
        key = ("packed" if fmt == "packed" and self._build_packed else "named", encoding)
        if key not in self._cache:
            self._cache[key] = encode_map(self.packed if key[0] == "packed" else self.named, encoding)
        return self._cache[key]


class FrameEmitter:
    def __init__(self, session_id: str, rig: RigDefinition, emotion_rate_hz: float,
                 mapper_options: MapperOptions | None = None, strategy: Strategy | None = None,
                 calibration: CalibrationTable | None = None):
        self.session_id = session_id
        self.rig = rig
        self.mapper_options = mapper_options
        self.mapper = AvatarMapper(rig, mapper_options, strategy, calibration)
        # A/B mode: a second mapping of the same features, streamed as variant "B".
        self.mapper_b: AvatarMapper | None = None
        self.emotion_interval_s = 1.0 / emotion_rate_hz
        self.frame_sequence = 0
        self.frame_sequence_b = 0
        self.emotion_sequence = 0
        self._since_emotion_s = float("inf")
        self.emotions = EmotionTracker()

    def set_compare(self, strategy_b: Strategy | None) -> None:
        """Start (or stop, with None) streaming a second strategy from the same input."""
        if strategy_b is None:
            self.mapper_b = None
        elif self.mapper_b is None:
            self.mapper_b = AvatarMapper(self.rig, self.mapper_options, strategy_b, self.mapper.calibration)
        else:
            self.mapper_b.set_strategy(strategy_b)

    def set_calibration(self, table: CalibrationTable) -> None:
        for mapper in (self.mapper, self.mapper_b):
            if mapper is not None:
                mapper.set_calibration(table)

    def tick(self, features: FaceFeatures, dt_s: float, age_s: float, timestamp_ms: int,
             voice: VoiceFeatures | None = None) -> list[Outgoing]:
        """One output tick: an avatar_frame per variant, and an emotion_update when one is due."""
        frame = self.mapper.step(features, dt_s, age_s, voice)
        self.emotions.observe(self.mapper.last_state, dt_s)
        if self.mapper_b is None:
            out = [self.avatar_frame(frame, timestamp_ms)]
        else:
            frame_b = self.mapper_b.step(features, dt_s, age_s, voice)
            out = [self.avatar_frame(frame, timestamp_ms, "A"), self.avatar_frame(frame_b, timestamp_ms, "B")]
        self._since_emotion_s += dt_s
        if self._since_emotion_s >= self.emotion_interval_s:
            self._since_emotion_s = 0.0
            out.append(self.emotion_update(features, timestamp_ms, self.mapper.last_state))
        return out

    def avatar_frame(self, frame: AvatarFrame, timestamp_ms: int, variant: str | None = None) -> Outgoing:
        """Each variant has its own sequence, so each stream stays contiguous."""
        if variant == "B":
            seq = self.frame_sequence_b
            self.frame_sequence_b += 1
        else:
            seq = self.frame_sequence
            self.frame_sequence += 1
        sid = self.session_id
        return Outgoing(
            "avatar_frame",
            lambda: {"type": "avatar_frame", "session_id": sid, "timestamp_ms": timestamp_ms, "sequence": seq,
                     "payload": avatar_frame_payload(frame, variant)},
            lambda: pack_avatar_frame(frame, sid, timestamp_ms, seq, variant),
        )

    def emotion_update(self, features: FaceFeatures, timestamp_ms: int, state: FusedState | None = None) -> Outgoing:
        seq = self.emotion_sequence
        self.emotion_sequence += 1
        sid = self.session_id
        top, scores = self.emotions.top, self.emotions.scores
        return Outgoing("emotion_update", lambda: {"type": "emotion_update", "session_id": sid,
                                                   "timestamp_ms": timestamp_ms, "sequence": seq,
                                                   "payload": emotion_update_payload(features, state, top, scores)})
