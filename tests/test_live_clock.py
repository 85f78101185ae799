"""The output clock: its rate whatever else the loop does, real dt, no burst after a stall."""

import asyncio
import time

import pytest

from server.live.clock import OutputClock


def ticks_during(rate_hz: float, seconds: float, stall_s: float = 0.0) -> list[tuple[float, float]]:
    async def scenario():
        got = []
        clock = OutputClock(rate_hz, lambda dt, now: got.append((dt, now)))
        clock.start()
        await asyncio.sleep(seconds / 2)
        time.sleep(stall_s)  # the whole loop is blocked (a suspended process)
        await asyncio.sleep(seconds / 2)
        clock.close()
        clock.close()
        n = len(got)
        await asyncio.sleep(0.05)
        assert len(got) == n  # closed: no more ticks
        return got
    return asyncio.run(scenario())


def test_it_ticks_at_its_rate_with_the_real_dt():
    got = ticks_during(50.0, 0.5)
    assert 20 <= len(got) <= 26
    dts = [dt for dt, _ in got[1:]]
    assert sum(dts) == pytest.approx(got[-1][1] - got[0][1], rel=1e-9)
    assert sorted(dts)[len(dts) // 2] == pytest.approx(0.02, abs=0.005)


def test_after_a_stall_it_resumes_at_its_rate_instead_of_bursting():
    got = ticks_during(50.0, 0.4, stall_s=0.3)
    stall = max(range(1, len(got)), key=lambda i: got[i][0])
    assert got[stall][0] >= 0.25  # the tick after the stall says how long it was
    after = [dt for dt, _ in got[stall + 1:stall + 4]]
    assert all(dt > 0.01 for dt in after), after  # not a burst of catch-up ticks
