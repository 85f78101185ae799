"""Blendshapes MediaPipe's model barely moves, estimated from the face's shape. Pure.

MediaPipe's blendshape model leaves cheekPuff, cheekSquint* and noseSneer* near zero on real
faces (bench/channel_ranges.py: never above 0.01 on 91 faces), though its landmarks do move
when the cheeks puff, the cheeks rise or the nose wrinkles. Each channel here reads one
landmark measure (server/inference/landmark_measures.py) against the same person's neutral value
of it: the relative change, past a dead band for the landmarks' jitter, scaled so that
`full_scale` reads 1. The result is blended into the blendshapes by maximum, so a channel
MediaPipe does report is never lowered; calibration then ranges it per user like any other
channel (the wizard has cheek-puff and nose-wrinkle steps).

The neutral comes from `NeutralTracker` while a video is tracked — a slow running quantile on
each measure's resting side, so an expression held for a while is not taken for the neutral.
A single image has no neutral to compare with and gets no estimate: across 88 real faces each
measure spreads ±10 % around its median (`python bench/channel_ranges.py`), as much as a full
expression changes it.

Not estimated: mouthPress. Its landmarks do not resolve lip thinning (measured: pressing a
closed mouth's lips together on the astronaut photo leaves the lip heights unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .vocabulary import ARKIT_INDEX

MEASURES: tuple[str, ...] = (
    "cheek_width",
    "nose_wing_eye_left",
    "nose_wing_eye_right",
    "lower_lid_left",
    "lower_lid_right",
    "lip_gap",
)
_M = {m: i for i, m in enumerate(MEASURES)}


@dataclass(frozen=True)
class GeometricChannel:
    channel: str
    measure: str
    direction: int  # +1: the measure grows as the channel rises; -1: it shrinks
    dead_band: float  # relative changes up to this read 0: the landmarks' jitter on a moving face
    full_scale: float  # the relative change of the measure at which the channel reads 1


# Dead bands: the spread of each measure on the same face rolled ±10° and scaled 0.8–1.0
# (tests/unit/test_landmark_measures.py): cheek width 1 %, nose wings 2.7 %, lower lids 5 %.
CHANNELS: tuple[GeometricChannel, ...] = (
    GeometricChannel("cheekPuff", "cheek_width", +1, 0.015, 0.08),
    GeometricChannel("noseSneerLeft", "nose_wing_eye_left", -1, 0.03, 0.10),
    GeometricChannel("noseSneerRight", "nose_wing_eye_right", -1, 0.03, 0.10),
    GeometricChannel("cheekSquintLeft", "lower_lid_left", -1, 0.06, 0.30),
    GeometricChannel("cheekSquintRight", "lower_lid_right", -1, 0.06, 0.30),
)
# Which side of each measure is rest: cheeks are narrowest, nose wings and lower lids farthest
# from the eye, at rest. The lip gap is not tracked (it is read absolutely).
RESTING_SIDE = {
    "cheek_width": +1,
    "nose_wing_eye_left": -1,
    "nose_wing_eye_right": -1,
    "lower_lid_left": -1,
    "lower_lid_right": -1,
    "lip_gap": 0,
}
# Cheeks only puff with the lips sealed: lip gaps (over the eye distance) from closed to open.
LIPS_SEALED, LIPS_APART = 0.03, 0.08
# The face mesh draws the nose wings toward the eyes when the cheeks puff, as far as the cheeks
# widen (measured on tests/support/face_warps.py's puff): that much of a nose-wing change is not a sneer.
PUFF_ON_NOSE_WINGS = 1.0


def estimate(measures: NDArray[np.float64], neutral: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each CHANNELS entry's value in 0..1 for a face's measures against its neutral."""
    relative = (measures - neutral) / np.maximum(neutral, 1e-9)
    out = np.zeros(len(CHANNELS))
    for k, c in enumerate(CHANNELS):
        change = c.direction * relative[_M[c.measure]]
        if c.channel == "cheekPuff":
            change *= np.clip((LIPS_APART - measures[_M["lip_gap"]]) / (LIPS_APART - LIPS_SEALED), 0.0, 1.0)
        elif c.measure.startswith("nose_wing"):
            change -= PUFF_ON_NOSE_WINGS * max(0.0, relative[_M["cheek_width"]])
        out[k] = np.clip((change - c.dead_band) / (c.full_scale - c.dead_band), 0.0, 1.0)
    return out


def blend(blendshapes: NDArray[np.float64], estimates: NDArray[np.float64]) -> NDArray[np.float64]:
    """The blendshapes with each estimated channel raised to its estimate where that is higher."""
    out = blendshapes.copy()
    for c, value in zip(CHANNELS, estimates, strict=True):
        i = ARKIT_INDEX[c.channel]
        out[i] = max(out[i], float(value))
    return out


class NeutralTracker:
    """A person's neutral value of each measure while a video is tracked: a stochastic
    quantile on the measure's resting side (the 20 % nearest rest), stepping `rate_per_s`
    of the value per second — toward rest four times faster than away from it, so a puff held
    for ten seconds moves the neutral by about 1 % of its 8 % full scale. Starts from the
    first face seen. Deterministic: same measures and dt, same neutral."""

    def __init__(self, rate_per_s: float = 0.005, quantile: float = 0.2):
        self.rate_per_s = rate_per_s
        self.quantile = quantile
        self.neutral: NDArray[np.float64] | None = None
        self._side = np.array([RESTING_SIDE[m] for m in MEASURES], dtype=np.float64)

    def update(self, measures: NDArray[np.float64], dt_s: float) -> NDArray[np.float64]:
        if self.neutral is None:
            self.neutral = np.asarray(measures, dtype=np.float64).copy()
            return self.neutral
        step = self.rate_per_s * max(dt_s, 0.0) * np.abs(self.neutral)
        # In resting-side units: below the neutral is "more at rest" (side * measure smaller).
        toward_rest = self._side * (measures - self.neutral) < 0
        moved = np.where(toward_rest, -(1 - self.quantile), self.quantile) * step * self._side
        self.neutral = np.where(self._side != 0, self.neutral + moved, measures)
        return self.neutral
