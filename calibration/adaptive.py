"""Adaptive ranges: a running robust minimum and maximum per channel. Pure.

Each channel keeps slow estimates of its 5th and 95th percentile (stochastic quantile
tracking: step up by rate*q, down by rate*(1-q)), so the table follows a user whose face
was never calibrated, without being pulled by single outliers. `frozen` stops learning.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from avatar_mapping.face_calibration import MIN_SPAN
from avatar_mapping.features import FaceFeatures

from .table import CalibrationTable


class AdaptiveRanges:
    def __init__(self, user_id: str, rate_per_s: float = 0.05, low_q: float = 0.05, high_q: float = 0.95):
        self.user_id = user_id
        self.rate_per_s = rate_per_s
        self.low_q, self.high_q = low_q, high_q
        self.low: NDArray[np.float64] | None = None
        self.high: NDArray[np.float64] | None = None
        self.frozen = False

    def update(self, f: FaceFeatures, dt_s: float) -> None:
        if self.frozen or not f.present:
            return
        x = f.blendshapes
        if self.low is None or self.high is None:  # both are set together
            self.low, self.high = x.copy(), np.minimum(x + MIN_SPAN, 1.0)
            return
        step = self.rate_per_s * dt_s
        self.low += np.where(x < self.low, -step * (1 - self.low_q), step * self.low_q)
        self.high += np.where(x > self.high, step * self.high_q, -step * (1 - self.high_q))
        self.low = np.clip(self.low, 0.0, 1.0 - MIN_SPAN)
        self.high = np.clip(np.maximum(self.high, self.low + MIN_SPAN), 0.0, 1.0)

    def table(self, base: CalibrationTable | None = None) -> CalibrationTable:
        base = base or CalibrationTable.identity(self.user_id)
        if self.low is None or self.high is None:  # both are set together
            return base
        return replace(base, channels=replace(base.channels, neutral=self.low.copy(), range=self.high.copy()))
