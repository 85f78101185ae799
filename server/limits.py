"""Per-connection limits: message rate (token bucket) and repeated-violation tracking."""

from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    """Allows ``rate_per_s`` messages per second on average, bursts up to ``burst``."""

    def __init__(self, rate_per_s: float, burst: float | None = None, clock=time.monotonic):
        self.rate = rate_per_s
        self.burst = burst if burst is not None else max(1.0, 2.0 * rate_per_s)
        self._tokens = self.burst
        self._clock = clock
        self._last = clock()

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class ViolationWindow:
    """Counts bad messages in a sliding window; ``exceeded`` once there are too many."""

    def __init__(self, max_count: int, window_s: float, clock=time.monotonic):
        self.max_count = max_count
        self.window_s = window_s
        self._clock = clock
        self._times: deque[float] = deque()

    def add(self) -> bool:
        now = self._clock()
        self._times.append(now)
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        return self.exceeded

    @property
    def exceeded(self) -> bool:
        return len(self._times) >= self.max_count
