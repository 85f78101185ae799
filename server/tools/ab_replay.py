"""Deterministic replay of a feature recording through mapping strategies (A/B).

A fixed output clock at the recording's rate: at tick k (t = k / rate) the newest sample at
or before t is mapped with dt = 1 / rate and its age, exactly as the live output clock does.
Everything on the way is pure, so the same recording, rig, strategy and calibration give
bit-identical frames on every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import cbor2
import numpy as np

from avatar_mapping.emotion_tracker import EmotionTracker
from avatar_mapping.mapper import AvatarMapper
from avatar_mapping.rig import RigDefinition
from calibration.table import CalibrationTable

from ..assets.strategy_registry import StrategyRegistry
from ..protocol.envelopes import avatar_frame_payload
from ..protocol.recording import Recording
from .ab_metrics import StreamMetrics, stream_metrics


class ReplayError(ValueError):
    pass


@dataclass(frozen=True)
class Variant:
    strategy: str
    params: dict[str, Any]

    @property
    def label(self) -> str:
        return self.strategy + (":" + json.dumps(self.params, sort_keys=True) if self.params else "")

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``hybrid``, ``hybrid:accent=0.5,speaking_threshold=0.6`` or ``hybrid:{"accent": 0.5}``."""
        name, _, rest = text.partition(":")
        if not rest:
            return cls(name, {})
        if rest.lstrip().startswith("{"):
            try:
                params = json.loads(rest)
            except json.JSONDecodeError as e:
                raise ReplayError(f"strategy parameters {rest!r} are not JSON: {e}") from None
            return cls(name, params)
        params = {}
        for pair in rest.split(","):
            key, eq, value = pair.partition("=")
            if not eq:
                raise ReplayError(f"strategy parameter {pair!r} needs key=value")
            try:
                params[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                params[key.strip()] = value.strip()
        return cls(name, params)


@dataclass(frozen=True, eq=False)
class ReplayResult:
    variant: Variant
    rate_hz: float
    channels: tuple[str, ...]
    times_ms: np.ndarray
    weights: np.ndarray  # frames x channels
    frames: list[bytes]  # each frame's named avatar_frame payload, CBOR-encoded
    metrics: StreamMetrics

    def stream_bytes(self) -> bytes:
        """The frames as one CBOR sequence (RFC 8742): what determinism is checked on."""
        return b"".join(self.frames)


def replay(
    rec: Recording,
    variant: Variant,
    rig: RigDefinition,
    registry: StrategyRegistry,
    calibration: CalibrationTable | None = None,
    rate_hz: float | None = None,
) -> ReplayResult:
    if not rec.samples:
        raise ReplayError("the recording has no samples")
    rate = float(rate_hz or rec.header.rate_hz)
    if not 1.0 <= rate <= 240.0:
        raise ReplayError(f"rate_hz must be from 1 to 240, got {rate}")
    try:
        strategy = registry.make(variant.strategy, rig, variant.params)
    except ValueError as e:
        raise ReplayError(str(e)) from None
    if calibration is None and rec.header.calibration is not None:
        calibration = CalibrationTable.from_dict(rec.header.calibration)
    mapper = AvatarMapper(rig, strategy=strategy, calibration=calibration)
    tracker = EmotionTracker()
    dt = 1.0 / rate
    n = int(rec.duration_ms * rate / 1000.0) + 1
    times = np.arange(n) * 1000.0 / rate
    weights, inputs, speaking, tops, frames = [], [], [], [], []
    i = 0
    for t in times:
        while i + 1 < len(rec.samples) and rec.samples[i + 1].t_ms <= t:
            i += 1
        s = rec.samples[i]
        frame = mapper.step(s.face, dt, max(0.0, (t - s.t_ms) / 1000.0), s.voice)
        tracker.observe(mapper.last_state, dt)
        weights.append(frame.weights)
        inputs.append(s.face.blendshapes)
        speaking.append(s.voice.speaking_probability if s.voice.present else 0.0)
        tops.append(tracker.top)
        frames.append(cbor2.dumps(avatar_frame_payload(frame)))
    w = np.array(weights)
    metrics = stream_metrics(w, frame.channels, rate, np.array(inputs), np.array(speaking), tops)
    return ReplayResult(variant, rate, frame.channels, times, w, frames, metrics)
