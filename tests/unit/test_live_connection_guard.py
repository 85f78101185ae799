"""The connection guard: size, rate and repeated errors, the hello deadline, and which close
code ends a connection, the same for the controller and the cluster edge."""

from __future__ import annotations

import pytest

from server.live.connection_guard import ConnectionGuard, ConnectionLimits, RateLimiter, ViolationWindow
from server.protocol.codec import ProtocolError
from server.protocol.constants import CloseCode, ErrorCode

LIMITS = ConnectionLimits(
    max_message_bytes=100, max_messages_per_s=10, max_errors=3, error_window_s=10.0, hello_timeout_s=5.0
)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_allows_the_rate_and_a_burst() -> None:
    clock = Clock()
    r = RateLimiter(10, burst=5, clock=clock)
    assert sum(r.allow() for _ in range(20)) == 5
    clock.t += 1.0
    assert sum(r.allow() for _ in range(20)) == 5  # refilled, capped at the burst
    clock.t += 0.1
    assert r.allow() and not r.allow()


def test_violation_window_slides() -> None:
    clock = Clock()
    w = ViolationWindow(3, 10.0, clock=clock)
    assert not w.add() and not w.add()
    clock.t = 11.0
    assert not w.add()  # the first two fell out of the window
    assert not w.add() and w.add()


def test_oversize_and_too_fast_messages_are_refused_by_name() -> None:
    guard = ConnectionGuard(LIMITS, Clock())
    with pytest.raises(ProtocolError, match="101 bytes is over the limit of 100") as big:
        guard.check(b"x" * 101)
    assert big.value.code == ErrorCode.TOO_LARGE
    for _ in range(20):  # a burst of twice the rate passes (an oversize message costs no token)
        guard.check(b"x")
    with pytest.raises(ProtocolError, match="more than 10 messages per second") as fast:
        guard.check("x")
    assert fast.value.code == ErrorCode.RATE_LIMITED


@pytest.mark.parametrize(
    "code, close", [(ErrorCode.BAD_MESSAGE, CloseCode.POLICY), (ErrorCode.TOO_LARGE, CloseCode.TOO_BIG)]
)
def test_errors_are_answered_and_one_too_many_closes_with_its_code(code: ErrorCode, close: CloseCode) -> None:
    guard = ConnectionGuard(LIMITS, Clock())
    error = ProtocolError(code, "bad")
    assert guard.refuse(error).errors == (error,) and guard.refuse(error).close is None
    last = guard.refuse(error)
    assert [e.code for e in last.errors] == [code, ErrorCode.TOO_MANY_ERRORS] and last.close == close
    assert "3 bad messages within 10 s" in last.errors[1].message


def test_a_wrong_token_closes_at_once() -> None:
    refusal = ConnectionGuard(LIMITS, Clock()).refuse(ProtocolError(ErrorCode.AUTH_FAILED, "wrong token"))
    assert [e.code for e in refusal.errors] == [ErrorCode.AUTH_FAILED] and refusal.close == CloseCode.POLICY


def test_the_hello_deadline_counts_down_until_a_session_starts() -> None:
    clock = Clock()
    guard = ConnectionGuard(LIMITS, clock)
    clock.t = 2.0
    assert guard.wait_s(started=False) == 3.0 and guard.wait_s(started=True) is None
    clock.t = 7.0
    assert guard.wait_s(started=False) == 0.0
    overdue = guard.hello_overdue()
    assert overdue.close == CloseCode.HELLO_TIMEOUT and overdue.errors[0].code == ErrorCode.HELLO_TIMEOUT
    assert "no hello within 5 s" in overdue.errors[0].message
