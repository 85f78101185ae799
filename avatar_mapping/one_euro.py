"""Vectorised One Euro filter (Casiez, Roussel & Vogel, CHI 2012), driven by real dt.

Each element has its own min cutoff and speed coefficient, so one filter instance
smooths all channels of a rig with per-group tuning in a few numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    """min_cutoff_hz: smoothing at rest (lower = smoother); beta: how fast the cutoff
    rises with speed, in 1/(units per second) (higher = less lag on fast moves)."""

    min_cutoff_hz: float = 1.5
    beta: float = 0.5
    d_cutoff_hz: float = 1.0


def _alpha(cutoff_hz: np.ndarray, dt_s: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    def __init__(self, min_cutoff_hz: np.ndarray, beta: np.ndarray, d_cutoff_hz: np.ndarray):
        self.min_cutoff_hz = np.asarray(min_cutoff_hz, dtype=np.float64)
        self.beta = np.asarray(beta, dtype=np.float64)
        self.d_cutoff_hz = np.asarray(d_cutoff_hz, dtype=np.float64)
        self._x: np.ndarray | None = None
        self._dx = np.zeros_like(self.min_cutoff_hz)

    @classmethod
    def from_params(cls, params: list[OneEuroParams]) -> "OneEuroFilter":
        return cls(
            np.array([p.min_cutoff_hz for p in params]),
            np.array([p.beta for p in params]),
            np.array([p.d_cutoff_hz for p in params]),
        )

    def reset(self, value: np.ndarray | None = None) -> None:
        self._x = None if value is None else np.array(value, dtype=np.float64)
        self._dx = np.zeros_like(self.min_cutoff_hz)

    def __call__(self, x: np.ndarray, dt_s: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or dt_s <= 0.0:
            if self._x is None:
                self._x = x.copy()
            return self._x.copy()
        dx = (x - self._x) / dt_s
        self._dx = self._dx + _alpha(self.d_cutoff_hz, dt_s) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt_s) * (x - self._x)
        return self._x.copy()
