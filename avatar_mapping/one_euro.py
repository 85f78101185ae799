"""Vectorised One Euro filter (Casiez, Roussel & Vogel, CHI 2012), driven by real dt.

Each element has its own min cutoff and speed coefficient, so one filter instance
smooths all channels of a rig with per-group tuning in a few numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray


@dataclass(frozen=True)
class OneEuroParams:
    """min_cutoff_hz: smoothing at rest (lower = smoother); beta: how fast the cutoff
    rises with speed, in 1/(units per second) (higher = less lag on fast moves)."""

    min_cutoff_hz: float = 1.5
    beta: float = 0.5
    d_cutoff_hz: float = 1.0


def _alpha(cutoff_hz: NDArray[np.float64], dt_s: float) -> NDArray[np.float64]:
    """Smoothing factor of a first-order low-pass: 1 / (1 + tau/dt), tau = 1 / (2 pi f_c)."""
    r = (2.0 * np.pi * dt_s) * cutoff_hz
    return r / (r + 1.0)


class OneEuroFilter:
    def __init__(self, min_cutoff_hz: npt.ArrayLike, beta: npt.ArrayLike, d_cutoff_hz: npt.ArrayLike):
        self.min_cutoff_hz = np.asarray(min_cutoff_hz, dtype=np.float64)
        self.beta = np.asarray(beta, dtype=np.float64)
        self.d_cutoff_hz = np.asarray(d_cutoff_hz, dtype=np.float64)
        self._x: NDArray[np.float64] | None = None
        self._dx = np.zeros_like(self.min_cutoff_hz)
        self._d_alpha_for: tuple[float, NDArray[np.float64]] | None = None

    @classmethod
    def from_params(cls, params: list[OneEuroParams]) -> OneEuroFilter:
        return cls(
            np.array([p.min_cutoff_hz for p in params]),
            np.array([p.beta for p in params]),
            np.array([p.d_cutoff_hz for p in params]),
        )

    def reset(self, value: NDArray[np.float64] | None = None) -> None:
        self._x = None if value is None else np.array(value, dtype=np.float64)
        self._dx = np.zeros_like(self.min_cutoff_hz)

    def __call__(self, x: NDArray[np.float64], dt_s: float) -> NDArray[np.float64]:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or dt_s <= 0.0:
            if self._x is None:
                self._x = x.copy()
            return self._x.copy()
        if self._d_alpha_for is None or self._d_alpha_for[0] != dt_s:  # output ticks mostly share one dt
            self._d_alpha_for = (dt_s, _alpha(self.d_cutoff_hz, dt_s))
        dx = (x - self._x) / dt_s
        self._dx += self._d_alpha_for[1] * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt_s) * (x - self._x)
        return self._x.copy()
