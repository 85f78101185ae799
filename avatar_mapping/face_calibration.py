"""FaceCalibration: one user's resting face and ranges, applied to FaceFeatures. Pure.

Per ARKit channel: x' = curve(deadzone((x - neutral) / (range - neutral))), where
`neutral` is the user's resting value, `range` their own maximum, the dead zone removes
small wobble around rest and the curve is gain, gamma or sigmoid. Blinks use per-eye
open/closed levels measured on the user (so glasses or narrow eyes still blink fully).
Head pose is taken relative to the user's neutral pose; gaze relative to their neutral
gaze and scaled by their measured range. The face-emotion scores are taken relative to the
user's resting face.

The mapping applies this; `calibration/` measures it (the wizard, adaptive ranges) and
stores it (`calibration.table.CalibrationTable`, which adds who, when and the voice part).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from .action_units import action_units
from .features import EyeGaze, FaceFeatures, HeadPose
from .vocabulary import ARKIT_BLENDSHAPES, ARKIT_INDEX, EMOTIONS

CURVES = ("gain", "gamma", "sigmoid")
N = len(ARKIT_BLENDSHAPES)
BLINKS = (ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"])
# A channel whose measured range is narrower than this keeps the default range of 1.
MIN_SPAN = 0.08
# Eye rotation an avatar shows at the user's measured gaze extreme.
TARGET_GAZE_RANGE_DEG = 25.0
# What a resting face should read as after its baseline is removed.
REST_PRIOR = np.array([0.7 if e == "neutral" else 0.05 for e in EMOTIONS])


@dataclass(frozen=True, eq=False)
class ChannelCurves:
    neutral: NDArray[np.float64] = field(default_factory=lambda: np.zeros(N))
    range: NDArray[np.float64] = field(default_factory=lambda: np.ones(N))
    curve: tuple[str, ...] = ("gain",) * N
    gain: NDArray[np.float64] = field(default_factory=lambda: np.ones(N))
    gamma: NDArray[np.float64] = field(default_factory=lambda: np.ones(N))
    dead_zone: NDArray[np.float64] = field(default_factory=lambda: np.zeros(N))


@dataclass(frozen=True, eq=False, kw_only=True)
class FaceCalibration:
    channels: ChannelCurves = field(default_factory=ChannelCurves)
    head_neutral_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)  # yaw, pitch, roll
    gaze_offset_deg: tuple[float, float] = (0.0, 0.0)  # yaw, pitch of the neutral gaze
    gaze_range_deg: tuple[float, float] = (TARGET_GAZE_RANGE_DEG, TARGET_GAZE_RANGE_DEG)
    # Per eye (left, right): blendshape value with the eye open and closed.
    blink_open: tuple[float, float] = (0.0, 0.0)
    blink_closed: tuple[float, float] = (1.0, 1.0)
    # The face-emotion classifier's mean scores on the user's resting face (neutral step).
    emotion_baseline: tuple[float, ...] | None = None

    @cached_property
    def face_is_identity(self) -> bool:
        """Applying it changes nothing."""
        c = self.channels
        return (
            not c.neutral.any()
            and (c.range == 1).all()
            and (c.gain == 1).all()
            and not c.dead_zone.any()
            and set(c.curve) == {"gain"}
            and self.head_neutral_deg == (0.0, 0.0, 0.0)
            and self.gaze_offset_deg == (0.0, 0.0)
            and self.gaze_range_deg == (TARGET_GAZE_RANGE_DEG, TARGET_GAZE_RANGE_DEG)
            and self.blink_open == (0.0, 0.0)
            and self.blink_closed == (1.0, 1.0)
            and self.emotion_baseline is None
        )

    @cached_property
    def _prepared(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
        c = self.channels
        kinds = np.array(c.curve)
        return (
            np.maximum(c.range - c.neutral, 1e-6),
            np.maximum(1.0 - c.dead_zone, 1e-6),
            kinds == "gamma",
            kinds == "sigmoid",
        )

    def apply(self, f: FaceFeatures) -> FaceFeatures:
        if f.present and self.emotion_baseline is not None and f.emotion_scores is not None:
            f = replace(f, emotion_scores=remove_resting_face(f.emotion_scores, self.emotion_baseline))
        if not f.present or self.face_is_identity:
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

        def relative_gaze(g: EyeGaze) -> EyeGaze:
            return EyeGaze((g.yaw_deg - oy) * ky, (g.pitch_deg - op) * kp)

        return replace(
            f,
            blendshapes=x,
            action_units=action_units(x),
            head=HeadPose(f.head.yaw_deg - hy, f.head.pitch_deg - hp, f.head.roll_deg - hr, f.head.translation_cm),
            left_eye=relative_gaze(f.left_eye),
            right_eye=relative_gaze(f.right_eye),
        )

    def _curve(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        c = self.channels
        out = np.clip(x * c.gain, 0.0, 1.0)
        _, _, gamma, sig = self._prepared
        if gamma.any():
            out[gamma] = np.clip(x[gamma] ** c.gamma[gamma] * c.gain[gamma], 0.0, 1.0)
        if sig.any():  # centred at 0.5, steepness = gain, rescaled to 0 -> 0 and 1 -> 1
            k = 4.0 * c.gain[sig]

            def s(v: NDArray[np.float64] | float) -> NDArray[np.float64]:
                return 1.0 / (1.0 + np.exp(-k * (v - 0.5)))

            out[sig] = (s(x[sig]) - s(0.0)) / (s(1.0) - s(0.0))
        return out


def remove_resting_face(scores: NDArray[np.float64], baseline: tuple[float, ...]) -> NDArray[np.float64]:
    """Scores relative to the user's resting face: p'(c) ∝ p(c) / rest(c) · prior(c). The
    resting face itself reads as the prior (neutral 0.7); a class the face moves toward
    rises as much relative to rest as it did in the raw scores."""
    p = np.asarray(scores, np.float64) / np.maximum(np.asarray(baseline), 1e-6) * REST_PRIOR
    relative: NDArray[np.float64] = p / p.sum()
    return relative
