"""CalibrationTable: one user's stored calibration — the face part the mapping applies
(`avatar_mapping.face_calibration.FaceCalibration`), who it belongs to, when and from which
steps it was made, and the voice part for the real-time visemes — with its JSON form
(export/import, REST, storage), validated field by field. Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from avatar_mapping.face_calibration import CURVES, TARGET_GAZE_RANGE_DEG, ChannelCurves, FaceCalibration
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, EMOTIONS

from .viseme_calibration import VisemeCalibration, VoiceCalibrationError

SCHEMA_VERSION = 1
# The wizard has 19 steps; a table names each step it was made from once.
MAX_STEPS, MAX_STEP_NAME = 32, 32


class CalibrationError(ValueError):
    """A table that cannot be used, with the reason."""


@dataclass(frozen=True, eq=False, kw_only=True)
class CalibrationTable(FaceCalibration):
    user_id: str = "default"
    created_ms: int = 0
    steps: tuple[str, ...] = ()
    # The user's voice for the real-time visemes (the wizard's voice steps), if recorded.
    visemes: VisemeCalibration | None = None

    @classmethod
    def identity(cls, user_id: str = "default") -> CalibrationTable:
        return cls(user_id=user_id)

    @cached_property
    def is_identity(self) -> bool:
        return self.face_is_identity and self.visemes is None

    # -- JSON form (export/import, REST, storage) ------------------------------------
    def to_dict(self) -> dict[str, Any]:  # JSON values
        c = self.channels
        return {
            "schema_version": SCHEMA_VERSION,
            "user_id": self.user_id,
            "created_ms": self.created_ms,
            "steps": list(self.steps),
            "channels": {
                name: {
                    "neutral": float(c.neutral[i]),
                    "range": float(c.range[i]),
                    "curve": c.curve[i],
                    "gain": float(c.gain[i]),
                    "gamma": float(c.gamma[i]),
                    "dead_zone": float(c.dead_zone[i]),
                }
                for i, name in enumerate(ARKIT_BLENDSHAPES)
            },
            "head_neutral_deg": {
                "yaw": self.head_neutral_deg[0],
                "pitch": self.head_neutral_deg[1],
                "roll": self.head_neutral_deg[2],
            },
            "gaze": {
                "offset_deg": {"yaw": self.gaze_offset_deg[0], "pitch": self.gaze_offset_deg[1]},
                "range_deg": {"yaw": self.gaze_range_deg[0], "pitch": self.gaze_range_deg[1]},
            },
            "blink": {
                "left": {"open": self.blink_open[0], "closed": self.blink_closed[0]},
                "right": {"open": self.blink_open[1], "closed": self.blink_closed[1]},
            },
            "visemes": self.visemes.to_dict() if self.visemes is not None else None,
            "emotion_baseline": (
                dict(zip(EMOTIONS, self.emotion_baseline, strict=True)) if self.emotion_baseline is not None else None
            ),
        }

    @classmethod
    def from_dict(cls, data: object, user_id: str | None = None) -> CalibrationTable:
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
        cols: dict[str, list[float]] = {k: [] for k in ("neutral", "range", "gain", "gamma", "dead_zone")}
        curves: list[str] = []
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
            curves.append(curve)
            cols["gain"].append(_num(row.get("gain", 1.0), f"{name}.gain", 0.05, 10.0))
            cols["gamma"].append(_num(row.get("gamma", 1.0), f"{name}.gamma", 0.1, 10.0))
            cols["dead_zone"].append(_num(row.get("dead_zone", 0.0), f"{name}.dead_zone", 0.0, 0.5))
        head = _obj(data.get("head_neutral_deg", {}), "head_neutral_deg")
        gaze = _obj(data.get("gaze", {}), "gaze")
        offset, grange = (
            _obj(gaze.get("offset_deg", {}), "gaze.offset_deg"),
            _obj(gaze.get("range_deg", {}), "gaze.range_deg"),
        )
        blink = _obj(data.get("blink", {}), "blink")
        left, right = _obj(blink.get("left", {}), "blink.left"), _obj(blink.get("right", {}), "blink.right")
        blink_open = (
            _num(left.get("open", 0.0), "blink.left.open", 0, 1),
            _num(right.get("open", 0.0), "blink.right.open", 0, 1),
        )
        blink_closed = (
            _num(left.get("closed", 1.0), "blink.left.closed", 0, 1),
            _num(right.get("closed", 1.0), "blink.right.closed", 0, 1),
        )
        if blink_closed[0] <= blink_open[0] or blink_closed[1] <= blink_open[1]:
            raise CalibrationError("blink: 'closed' must be above 'open' for each eye")
        steps = data.get("steps", [])
        if not isinstance(steps, list) or not all(isinstance(s, str) and 0 < len(s) <= MAX_STEP_NAME for s in steps):
            raise CalibrationError("'steps' must be a list of step names")
        if len(steps) > MAX_STEPS or len(set(steps)) != len(steps):
            raise CalibrationError(f"'steps' names each step once, at most {MAX_STEPS} of them")
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
            channels=ChannelCurves(
                np.array(cols["neutral"]),
                np.array(cols["range"]),
                tuple(curves),
                np.array(cols["gain"]),
                np.array(cols["gamma"]),
                np.array(cols["dead_zone"]),
            ),
            head_neutral_deg=(
                _num(head.get("yaw", 0.0), "head_neutral_deg.yaw", -90, 90),
                _num(head.get("pitch", 0.0), "head_neutral_deg.pitch", -90, 90),
                _num(head.get("roll", 0.0), "head_neutral_deg.roll", -90, 90),
            ),
            gaze_offset_deg=(
                _num(offset.get("yaw", 0.0), "gaze.offset_deg.yaw", -45, 45),
                _num(offset.get("pitch", 0.0), "gaze.offset_deg.pitch", -45, 45),
            ),
            gaze_range_deg=(
                _num(grange.get("yaw", TARGET_GAZE_RANGE_DEG), "gaze.range_deg.yaw", 2, 90),
                _num(grange.get("pitch", TARGET_GAZE_RANGE_DEG), "gaze.range_deg.pitch", 2, 90),
            ),
            blink_open=blink_open,
            blink_closed=blink_closed,
            created_ms=int(_num(data.get("created_ms", 0), "created_ms", 0, 1e15)),
            steps=tuple(steps),
            visemes=visemes,
            emotion_baseline=baseline,
        )


def _num(v: object, what: str, lo: float, hi: float) -> float:
    # An int is compared before it is converted: 10**400 has no float.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        raise CalibrationError(f"{what} must be a finite number, got {v!r}")
    if not lo <= v <= hi:
        raise CalibrationError(f"{what} = {v} is outside {lo}..{hi}")
    return float(v)


def _obj(v: object, what: str) -> dict[str, Any]:  # a JSON object
    if not isinstance(v, dict):
        raise CalibrationError(f"{what} must be an object")
    return v
