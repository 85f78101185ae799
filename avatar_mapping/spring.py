"""Vectorised critically-damped spring (the "SmoothDamp" form, Game Programming Gems 4, 1.10).

Reaches a moved target in about `smooth_time_s` without overshoot, whatever the frame
rate: used for viseme crossfades (30-60 ms) and slow expression presets.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class CriticallyDampedSpring:
    def __init__(self, smooth_time_s: NDArray[np.float64]):
        self.smooth_time_s = np.maximum(np.asarray(smooth_time_s, dtype=np.float64), 1e-4)
        self._x: NDArray[np.float64] | None = None
        self._v = np.zeros_like(self.smooth_time_s)
        self._omega = 2.0 / self.smooth_time_s
        self._decay_for: tuple[float, NDArray[np.float64]] | None = None

    def reset(self) -> None:
        self._x = None
        self._v = np.zeros_like(self.smooth_time_s)

    def __call__(self, target: NDArray[np.float64], dt_s: float) -> NDArray[np.float64]:
        target = np.asarray(target, dtype=np.float64)
        if self._x is None or dt_s <= 0.0:
            if self._x is None:
                self._x = target.copy()
            return self._x.copy()
        omega = self._omega
        if self._decay_for is None or self._decay_for[0] != dt_s:  # output ticks mostly share one dt
            x = omega * dt_s
            self._decay_for = (dt_s, 1.0 / (1.0 + x + 0.48 * x * x + 0.235 * x * x * x))
        decay = self._decay_for[1]
        change = self._x - target
        temp = (self._v + omega * change) * dt_s
        self._v = (self._v - omega * temp) * decay
        self._x = target + (change + temp) * decay
        return self._x.copy()
