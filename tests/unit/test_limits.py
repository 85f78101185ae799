from server.limits import RateLimiter, ViolationWindow


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_rate_limiter_allows_the_rate_and_a_burst():
    clock = Clock()
    r = RateLimiter(10, burst=5, clock=clock)
    assert sum(r.allow() for _ in range(20)) == 5
    clock.t += 1.0
    assert sum(r.allow() for _ in range(20)) == 5  # refilled, capped at the burst
    clock.t += 0.1
    assert r.allow() and not r.allow()


def test_violation_window_slides():
    clock = Clock()
    w = ViolationWindow(3, 10.0, clock=clock)
    assert not w.add() and not w.add()
    clock.t = 11.0
    assert not w.add()  # the first two fell out of the window
    assert not w.add() and w.add()
