"""CalibrationTable: one user's resting face and ranges, applied to FaceFeatures.

Per ARKit channel: x' = curve(deadzone((x - neutral) / (range - neutral))), where
`neutral` is the user's resting value, `range` their own maximum, the dead zone removes
small wobble around rest and the curve is gain, gamma or sigmoid. Blinks use per-eye
open/closed levels measured on the user (so glasses or narrow eyes still blink fully).
Head pose is taken relative to the user's neutral pose; gaze relative to their neutral
gaze and scaled by their measured range. Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from avatar_mapping.action_units import action_units
from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, ARKIT_INDEX, EMOTIONS

from .voice import VisemeCalibration, VoiceCalibrationError

SCHEMA_VERSION = 1
CURVES = ("gain", "gamma", "sigmoid")
N = len(ARKIT_BLENDSHAPES)
BLINKS = (ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"])
# A channel whose measured range is narrower than this keeps the default range of 1.
MIN_SPAN = 0.08
# Eye rotation an avatar shows at the user's measured gaze extreme.
TARGET_GAZE_RANGE_DEG = 25.0


class CalibrationError(ValueError):
    """A table that cannot be used, with the reason."""


@dataclass(frozen=True, eq=False)
class ChannelCurves:
    neutral: np.ndarray = field(default_factory=lambda: np.zeros(N))
    range: np.ndarray = field(default_factory=lambda: np.ones(N))
    curve: tuple[str, ...] = ("gain",) * N
    gain: np.ndarray = field(default_factory=lambda: np.ones(N))
    gamma: np.ndarray = field(default_factory=lambda: np.ones(N))
    dead_zone: np.ndarray = field(default_factory=lambda: np.zeros(N))


@dataclass(frozen=True, eq=False)
class CalibrationTable:
    user_id: str
    channels: ChannelCurves = field(default_factory=ChannelCurves)
    head_neutral_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)  # yaw, pitch, roll
    gaze_offset_deg: tuple[float, float] = (0.0, 0.0)  # yaw, pitch of the neutral gaze
    gaze_range_deg: tuple[float, float] = (TARGET_GAZE_RANGE_DEG, TARGET_GAZE_RANGE_DEG)
    # Per eye (left, right): blendshape value with the eye open and closed.
    blink_open: tuple[float, float] = (0.0, 0.0)
    blink_closed: tuple[float, float] = (1.0, 1.0)
    created_ms: int = 0
    steps: tuple[str, ...] = ()
    # The user's voice for the real-time visemes (the wizard's voice steps), if recorded.
    visemes: VisemeCalibration | None = None
    # The face-emotion classifier's mean scores on the user's resting face (neutral step).
    emotion_baseline: tuple[float, ...] | None = None

    @classmethod
    def identity(cls, user_id: str = "default") -> "CalibrationTable":
        return cls(user_id=user_id)

    @cached_property
    def is_identity(self) -> bool:
        c = self.channels
        return (not c.neutral.any() and (c.range == 1).all() and (c.gain == 1).all() and not c.dead_zone.any()
                and set(c.curve) == {"gain"} and self.head_neutral_deg == (0.0, 0.0, 0.0)
                and self.gaze_offset_deg == (0.0, 0.0)
                and self.gaze_range_deg == (TARGET_GAZE_RANGE_DEG, TARGET_GAZE_RANGE_DEG)
                and self.blink_open == (0.0, 0.0) and self.blink_closed == (1.0, 1.0) and self.visemes is None
                and self.emotion_baseline is None)

    @cached_property
    def _prepared(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        c = self.channels
        kinds = np.array(c.curve)
        return (np.maximum(c.range - c.neutral, 1e-6), np.maximum(1.0 - c.dead_zone, 1e-6),
                kinds == "gamma", kinds == "sigmoid")

    def apply(self, f: FaceFeatures) -> FaceFeatures:
        if f.present and self.emotion_baseline is not None and f.emotion_scores is not None:
            f = replace(f, emotion_scores=remove_resting_face(f.emotion_scores, self.emotion_baseline))
        if not f.present or self.is_identity:
            return f
        c = self.channels
        span, live, _, _ = self._prepared
        x = np.clip((f.blendshapes - c.neutral) / span, 0.0, 1.0)
        x = np.clip((x - c.dead_zone) / live, 0.0, 1.0)
        x = self._curve(x)
        for eye, i in enumerate(BLINKS):
            lo, hi = self.blink_open[eye], self.blink_closed[eye]
            x[i] = min(1.0, max(0.0, (f.blendshapes[i] - lo) / max(hi - lo, 1e-6)))
        hy, hp, hr = self.head_neutral_deg
        oy, op = self.gaze_offset_deg
        ky, kp = TARGET_GAZE_RANGE_DEG / self.gaze_range_deg[0], TARGET_GAZE_RANGE_DEG / self.gaze_range_deg[1]
        eye = lambda g: EyeGaze((g.yaw_deg - oy) * ky, (g.pitch_deg - op) * kp)  # noqa: E731
        return replace(
            f,
            blendshapes=x,
            action_units=action_units(x),
            head=HeadPose(f.head.yaw_deg - hy, f.head.pitch_deg - hp, f.head.roll_deg - hr, f.head.translation_cm),
            left_eye=eye(f.left_eye),
            right_eye=eye(f.right_eye),
        )

    def _curve(self, x: np.ndarray) -> np.ndarray:
        c = self.channels
        out = np.clip(x * c.gain, 0.0, 1.0)
        _, _, gamma, sig = self._prepared
        if gamma.any():
            out[gamma] = np.clip(x[gamma] ** c.gamma[gamma] * c.gain[gamma], 0.0, 1.0)
        if sig.any():  # centred at 0.5, steepness = gain, rescaled to 0 -> 0 and 1 -> 1
            k = 4.0 * c.gain[sig]
            s = lambda v: 1.0 / (1.0 + np.exp(-k * (v - 0.5)))  # noqa: E731
            out[sig] = (s(x[sig]) - s(0.0)) / (s(1.0) - s(0.0))
        return out

    # -- JSON form (export/import, REST, storage) ------------------------------------
    def to_dict(self) -> dict[str, Any]:
        c = self.channels
        return {
            "schema_version": SCHEMA_VERSION,
            "user_id": self.user_id,
            "created_ms": self.created_ms,
            "steps": list(self.steps),
            "channels": {
                name: {"neutral": float(c.neutral[i]), "range": float(c.range[i]), "curve": c.curve[i],
                       "gain": float(c.gain[i]), "gamma": float(c.gamma[i]), "dead_zone": float(c.dead_zone[i])}
                for i, name in enumerate(ARKIT_BLENDSHAPES)
            },
            "head_neutral_deg": {"yaw": self.head_neutral_deg[0], "pitch": self.head_neutral_deg[1],
                                 "roll": self.head_neutral_deg[2]},
            "gaze": {"offset_deg": {"yaw": self.gaze_offset_deg[0], "pitch": self.gaze_offset_deg[1]},
                     "range_deg": {"yaw": self.gaze_range_deg[0], "pitch": self.gaze_range_deg[1]}},
            "blink": {"left": {"open": self.blink_open[0], "closed": self.blink_closed[0]},
                      "right": {"open": self.blink_open[1], "closed": self.blink_closed[1]}},
            "visemes": self.visemes.to_dict() if self.visemes is not None else None,
            "emotion_baseline": (dict(zip(EMOTIONS, self.emotion_baseline)) if self.emotion_baseline is not None
                                 else None),
        }

    @classmethod
    def from_dict(cls, data: Any, user_id: str | None = None) -> "CalibrationTable":
        """Validates everything; raises CalibrationError with the reason."""
        if not isinstance(data, dict):
            raise CalibrationError("a calibration table must be a JSON object")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise CalibrationError(f"schema_version must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}")
        uid = user_id or data.get("user_id")
        if not isinstance(uid, str) or not 0 < len(uid) <= 128:
            raise CalibrationError("user_id must be a string of 1 to 128 characters")
        channels = data.get("channels")
        if not isinstance(channels, dict):
            raise CalibrationError("'channels' must map ARKit names to curves")
        unknown = sorted(set(channels) - set(ARKIT_BLENDSHAPES))
        if unknown:
            raise CalibrationError(f"unknown channels {unknown[:5]}")
        cols: dict[str, list[Any]] = {k: [] for k in ("neutral", "range", "curve", "gain", "gamma", "dead_zone")}
        for name in ARKIT_BLENDSHAPES:
            row = channels.get(name, {})
            if not isinstance(row, dict):
                raise CalibrationError(f"channel {name!r} must be an object")
            neutral = _num(row.get("neutral", 0.0), f"{name}.neutral", 0.0, 1.0)
            rng = _num(row.get("range", 1.0), f"{name}.range", 0.0, 1.0)
            if rng <= neutral:
                raise CalibrationError(f"{name}: range {rng} must be above neutral {neutral}")
            curve = row.get("curve", "gain")
            if curve not in CURVES:
                raise CalibrationError(f"{name}: curve must be one of {CURVES}")
            cols["neutral"].append(neutral)
            cols["range"].append(rng)
            cols["curve"].append(curve)
            cols["gain"].append(_num(row.get("gain", 1.0), f"{name}.gain", 0.05, 10.0))
            cols["gamma"].append(_num(row.get("gamma", 1.0), f"{name}.gamma", 0.1, 10.0))
            cols["dead_zone"].append(_num(row.get("dead_zone", 0.0), f"{name}.dead_zone", 0.0, 0.5))
        head = _obj(data.get("head_neutral_deg", {}), "head_neutral_deg")
        gaze = _obj(data.get("gaze", {}), "gaze")
        offset, grange = _obj(gaze.get("offset_deg", {}), "gaze.offset_deg"), _obj(gaze.get("range_deg", {}), "gaze.range_deg")
        blink = _obj(data.get("blink", {}), "blink")
        left, right = _obj(blink.get("left", {}), "blink.left"), _obj(blink.get("right", {}), "blink.right")
        blink_open = (_num(left.get("open", 0.0), "blink.left.open", 0, 1), _num(right.get("open", 0.0), "blink.right.open", 0, 1))
        blink_closed = (_num(left.get("closed", 1.0), "blink.left.closed", 0, 1),
                        _num(right.get("closed", 1.0), "blink.right.closed", 0, 1))
        if blink_closed[0] <= blink_open[0] or blink_closed[1] <= blink_open[1]:
            raise CalibrationError("blink: 'closed' must be above 'open' for each eye")
        steps = data.get("steps", [])
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise CalibrationError("'steps' must be a list of step names")
        baseline = data.get("emotion_baseline")
        if baseline is not None:
            if not isinstance(baseline, dict) or set(baseline) != set(EMOTIONS):
                raise CalibrationError(f"emotion_baseline must map each of {list(EMOTIONS)} to a probability")
            baseline = tuple(_num(baseline[e], f"emotion_baseline.{e}", 1e-6, 1.0) for e in EMOTIONS)
        try:
            visemes = VisemeCalibration.from_dict(data["visemes"]) if data.get("visemes") is not None else None
        except VoiceCalibrationError as e:
            raise CalibrationError(str(e)) from None
        return cls(
            user_id=uid,
            channels=ChannelCurves(np.array(cols["neutral"]), np.array(cols["range"]), tuple(cols["curve"]),
                                   np.array(cols["gain"]), np.array(cols["gamma"]), np.array(cols["dead_zone"])),
            head_neutral_deg=tuple(_num(head.get(k, 0.0), f"head_neutral_deg.{k}", -90, 90)
                                   for k in ("yaw", "pitch", "roll")),  # type: ignore[arg-type]
            gaze_offset_deg=(_num(offset.get("yaw", 0.0), "gaze.offset_deg.yaw", -45, 45),
                             _num(offset.get("pitch", 0.0), "gaze.offset_deg.pitch", -45, 45)),
            gaze_range_deg=(_num(grange.get("yaw", TARGET_GAZE_RANGE_DEG), "gaze.range_deg.yaw", 2, 90),
                            _num(grange.get("pitch", TARGET_GAZE_RANGE_DEG), "gaze.range_deg.pitch", 2, 90)),
            blink_open=blink_open,
            blink_closed=blink_closed,
            created_ms=int(_num(data.get("created_ms", 0), "created_ms", 0, 1e15)),
            steps=tuple(steps),
            visemes=visemes,
            emotion_baseline=baseline,
        )


# What a resting face should read as after its baseline is removed.
REST_PRIOR = np.array([0.7 if e == "neutral" else 0.05 for e in EMOTIONS])


def remove_resting_face(scores: np.ndarray, baseline: tuple[float, ...]) -> np.ndarray:
    """Scores relative to the user's resting face: p'(c) ∝ p(c) / rest(c) · prior(c). The
    resting face itself reads as the prior (neutral 0.7); a class the face moves toward
    rises as much relative to rest as it did in the raw scores."""
    p = np.asarray(scores, np.float64) / np.maximum(np.asarray(baseline), 1e-6) * REST_PRIOR
    return p / p.sum()


def _num(v: Any, what: str, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise CalibrationError(f"{what} must be a finite number, got {v!r}")
    if not lo <= v <= hi:
        raise CalibrationError(f"{what} = {v} is outside {lo}..{hi}")
    return float(v)


def _obj(v: Any, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise CalibrationError(f"{what} must be an object")
    return v
