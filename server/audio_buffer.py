"""In-memory ring buffer of a session's recent microphone audio (never written to disk)."""

from __future__ import annotations

import numpy as np


class PcmRingBuffer:
    """The last ``capacity_s`` seconds of s16le mono audio at one sample rate."""

    def __init__(self, capacity_s: float = 10.0):
        self.capacity_s = capacity_s
        self.sample_rate_hz = 0
        self._buf = np.zeros(0, dtype=np.int16)
        self._write = 0
        self._filled = 0
        # capture_ms of the sample after the newest one (the end of the buffer).
        self.end_capture_ms: float | None = None

    def append(self, pcm: bytes, sample_rate_hz: int, capture_ms: int) -> None:
        if sample_rate_hz != self.sample_rate_hz:
            self.sample_rate_hz = sample_rate_hz
            self._buf = np.zeros(int(self.capacity_s * sample_rate_hz), dtype=np.int16)
            self._write = self._filled = 0
        samples = np.frombuffer(pcm, dtype="<i2")
        n = len(self._buf)
        if len(samples) >= n:
            samples = samples[-n:]
        idx = (self._write + np.arange(len(samples))) % n
        self._buf[idx] = samples
        self._write = (self._write + len(samples)) % n
        self._filled = min(n, self._filled + len(samples))
        self.end_capture_ms = capture_ms + 1000.0 * len(np.frombuffer(pcm, dtype="<i2")) / sample_rate_hz

    @property
    def duration_s(self) -> float:
        return self._filled / self.sample_rate_hz if self.sample_rate_hz else 0.0

    def latest(self, seconds: float) -> np.ndarray:
        """The newest ``seconds`` of audio, oldest sample first."""
        if not self.sample_rate_hz:
            return np.zeros(0, dtype=np.int16)
        k = min(self._filled, int(seconds * self.sample_rate_hz))
        idx = (self._write - k + np.arange(k)) % len(self._buf)
        return self._buf[idx]
