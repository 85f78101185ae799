"""One client connection's limits, kept in one place for every door a client comes through:
the SessionController (embedded server, cluster worker) and the cluster edge's relay.

Size and rate are checked on every message before it is decoded; a bad message gets its
specific error and the connection goes on, until the client has sent `max_errors` of them
within `error_window_s` (closed: 1009 for oversize messages, else 1008); a wrong token closes
at once (1008); a client that sends no hello within `hello_timeout_s` is closed (4408).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol.codec import ProtocolError
from ..protocol.constants import CloseCode, ErrorCode

Clock = Callable[[], float]


@dataclass(frozen=True)
class ConnectionLimits:
    max_message_bytes: int
    max_messages_per_s: float
    max_errors: int
    error_window_s: float
    hello_timeout_s: float


@dataclass(frozen=True)
class Refusal:
    """What a connection does about a refused message: the errors the client is told, in
    order, and the close code when the connection must end."""

    errors: tuple[ProtocolError, ...]
    close: CloseCode | None = None


class RateLimiter:
    """Allows ``rate_per_s`` messages per second on average, bursts up to ``burst``."""

    def __init__(self, rate_per_s: float, burst: float | None = None, clock: Clock = time.monotonic):
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

    def __init__(self, max_count: int, window_s: float, clock: Clock = time.monotonic):
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


class ConnectionGuard:
    def __init__(self, limits: ConnectionLimits, clock: Clock = time.monotonic):
        self.limits = limits
        self._rate = RateLimiter(limits.max_messages_per_s, clock=clock)
        self._violations = ViolationWindow(limits.max_errors, limits.error_window_s, clock)
        self._clock = clock
        self._hello_deadline = clock() + limits.hello_timeout_s

    def wait_s(self, started: bool) -> float | None:
        """How long the transport may wait for the next message: until the hello deadline
        before a session, without limit after (media may pause; keepalive is the transport's)."""
        return None if started else max(0.0, self._hello_deadline - self._clock())

    def check(self, data: bytes | str) -> None:
        """ProtocolError for a message over the size or the rate limit (it is dropped)."""
        limits = self.limits
        if len(data) > limits.max_message_bytes:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"message of {len(data)} bytes is over the limit of {limits.max_message_bytes} bytes",
            )
        if not self._rate.allow():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, f"more than {limits.max_messages_per_s:g} messages per second; message dropped"
            )

    def refuse(self, error: ProtocolError) -> Refusal:
        """The client is told ``error``; a wrong token, or one error too many, also closes."""
        if error.code == ErrorCode.AUTH_FAILED:
            return Refusal((error,), CloseCode.POLICY)
        if not self._violations.add():
            return Refusal((error,))
        too_many = ProtocolError(
            ErrorCode.TOO_MANY_ERRORS,
            f"{self._violations.max_count} bad messages within {self._violations.window_s:g} s; closing",
        )
        return Refusal((error, too_many), CloseCode.TOO_BIG if error.code == ErrorCode.TOO_LARGE else CloseCode.POLICY)

    def hello_overdue(self) -> Refusal:
        """No hello came within the deadline."""
        error = ProtocolError(ErrorCode.HELLO_TIMEOUT, f"no hello within {self.limits.hello_timeout_s:g} s; closing")
        return Refusal((error,), CloseCode.HELLO_TIMEOUT)
