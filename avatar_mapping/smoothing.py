"""Per-group smoothing of a frame's values: One Euro or critically-damped spring, dt-based."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .one_euro import OneEuroFilter, OneEuroParams
from .spring import CriticallyDampedSpring


@dataclass(frozen=True)
class SpringParams:
    smooth_time_s: float


GroupParams = OneEuroParams | SpringParams

DEFAULT_SMOOTHING: dict[str, GroupParams] = {
    # Blinks are fast: little smoothing, so a blink is never swallowed.
    "eyes": OneEuroParams(min_cutoff_hz=4.0, beta=2.0),
    "brows": OneEuroParams(min_cutoff_hz=1.5, beta=1.0),
    "mouth": OneEuroParams(min_cutoff_hz=2.5, beta=2.0),
    # "linear with damping" rows of the design card's table.
    "damped": OneEuroParams(min_cutoff_hz=0.8, beta=0.3),
    # Viseme crossfades: 90 % of a change within ~50 ms (10-90 % rise ~42 ms): no pop, no mush.
    "visemes": SpringParams(smooth_time_s=0.025),
    # Emotion presets and posture change slowly.
    "presets": SpringParams(smooth_time_s=0.25),
    # Slouch and lean (0..1): slow, barely speed-dependent.
    "posture": OneEuroParams(min_cutoff_hz=0.5, beta=0.1),
    # Angles in degrees: beta is per (deg/s).
    "head": OneEuroParams(min_cutoff_hz=1.0, beta=0.02),
    "gaze": OneEuroParams(min_cutoff_hz=2.0, beta=0.02),
}


class GroupSmoother:
    """Smooths one vector whose elements belong to named groups."""

    def __init__(self, groups: list[str], params: dict[str, GroupParams]):
        kinds = [params[g] for g in groups]
        self._euro_idx = np.array([i for i, p in enumerate(kinds) if isinstance(p, OneEuroParams)], dtype=int)
        self._spring_idx = np.array([i for i, p in enumerate(kinds) if isinstance(p, SpringParams)], dtype=int)
        self._euro = OneEuroFilter.from_params([p for p in kinds if isinstance(p, OneEuroParams)])
        self._spring = CriticallyDampedSpring(np.array([p.smooth_time_s for p in kinds if isinstance(p, SpringParams)]))
        self._n = len(groups)

    def __call__(self, x: NDArray[np.float64], dt_s: float) -> NDArray[np.float64]:
        out = np.empty(self._n)
        out[self._euro_idx] = self._euro(x[self._euro_idx], dt_s)
        if len(self._spring_idx):
            out[self._spring_idx] = self._spring(x[self._spring_idx], dt_s)
        return out


def jitter_percent(frames: NDArray[np.float64], ranges: NDArray[np.float64] | float = 1.0) -> NDArray[np.float64]:
    """Mean absolute frame-to-frame change of each channel as a percentage of its range.

    `frames` is (time, channels). The design target is below 5 % on a still face.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if len(frames) < 2:
        return np.zeros(frames.shape[1] if frames.ndim == 2 else 0)
    jitter: NDArray[np.float64] = (
        100.0 * np.mean(np.abs(np.diff(frames, axis=0)), axis=0) / np.asarray(ranges, dtype=np.float64)
    )
    return jitter
