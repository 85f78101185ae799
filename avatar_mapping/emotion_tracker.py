"""The reported emotion over time: smoothed scores and a top class with hysteresis. Pure.

Scores are smoothed with a time constant; the top class changes only when another class
leads it by `margin` for `hold_s`, so it does not flicker between near-equal classes.
Observations below `min_confidence` are ignored (the last state is kept).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .fused import FusedState
from .vocabulary import EMOTIONS


class EmotionTracker:
    def __init__(self, tau_s: float = 0.3, margin: float = 0.1, hold_s: float = 0.3, min_confidence: float = 0.5):
        self.tau_s, self.margin, self.hold_s, self.min_confidence = tau_s, margin, hold_s, min_confidence
        self.scores: NDArray[np.float64] | None = None
        self.top: str | None = None
        self._challenger: str | None = None
        self._challenge_s = 0.0

    def observe(self, state: FusedState | None, dt_s: float) -> str | None:
        """One tick of a mapped state: its fused emotion, when it has one."""
        if state is not None and state.fused_emotion.present:
            return self.update(state.emotion, state.fused_emotion.confidence, dt_s)
        return self.top

    def update(self, probabilities: NDArray[np.float64], confidence: float, dt_s: float) -> str | None:
        if confidence < self.min_confidence or not probabilities.any():
            return self.top
        if self.scores is None:
            self.scores = probabilities.astype(np.float64).copy()
        else:
            a = 1.0 - math.exp(-dt_s / self.tau_s) if dt_s > 0 else 0.0
            self.scores += a * (probabilities - self.scores)
        best = EMOTIONS[int(np.argmax(self.scores))]
        if self.top is None:
            self.top = best
        elif (
            best != self.top
            and self.scores[EMOTIONS.index(best)] - self.scores[EMOTIONS.index(self.top)] >= self.margin
        ):
            self._challenge_s = self._challenge_s + dt_s if best == self._challenger else dt_s
            self._challenger = best
            if self._challenge_s >= self.hold_s:
                self.top, self._challenger, self._challenge_s = best, None, 0.0
        else:
            self._challenger, self._challenge_s = None, 0.0
        return self.top
