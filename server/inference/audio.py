"""Audio in: s16le PCM at any supported rate -> clean float32 at 16 kHz.

Resampled with scipy's polyphase filter; DC offset removed; clipping and silence need no
special case. The only module that turns client PCM into model input.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter, resample_poly

MODEL_RATE_HZ = 16000


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """s16le bytes -> float32 in [-1, 1]."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def to_model_rate(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """Float samples at rate_hz -> float32 at 16 kHz."""
    if rate_hz == MODEL_RATE_HZ:
        return samples.astype(np.float32, copy=False)
    g = gcd(MODEL_RATE_HZ, rate_hz)
    return resample_poly(samples, MODEL_RATE_HZ // g, rate_hz // g).astype(np.float32)


class DcBlocker:
    """First-order DC blocker, y[n] = x[n] - x[n-1] + r*y[n-1], continuous across chunks."""

    def __init__(self, r: float = 0.995):
        self._b, self._a = np.array([1.0, -1.0]), np.array([1.0, -r])
        self._state = np.zeros(1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self._state = lfilter(self._b, self._a, x, zi=self._state)
        filtered: NDArray[np.float32] = y.astype(np.float32)
        return filtered


class PcmConditioner:
    """Client PCM chunks -> clean 16 kHz float audio: resampled, DC removed, NaN/inf zeroed.
    A change of sample rate starts a new stream."""

    def __init__(self) -> None:
        self.rate_hz: int | None = None
        self._dc = DcBlocker()

    def __call__(self, pcm: bytes, rate_hz: int) -> tuple[np.ndarray, bool]:
        """(samples, restarted): restarted is True when this chunk began a new stream."""
        restarted = rate_hz != self.rate_hz
        if restarted:
            self.rate_hz = rate_hz
            self._dc = DcBlocker()
        samples = self._dc(to_model_rate(pcm_to_float(pcm), rate_hz))
        return np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0), restarted
