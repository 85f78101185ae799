"""The output clock: its rate whatever else the loop does, real dt, no burst after a stall."""

import asyncio
import time

import numpy as np
import pytest

from server.live.clock import OutputClock


def ticks_during(rate_hz: float, seconds: float, stall_s: float = 0.0) -> list[tuple[float, float]]:
    async def scenario() -> list[tuple[float, float]]:
        got: list[tuple[float, float]] = []
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


def test_it_ticks_at_its_rate_with_the_real_dt() -> None:
    got = ticks_during(50.0, 0.5)
    assert 20 <= len(got) <= 26
    dts = [dt for dt, _ in got[1:]]
    assert sum(dts) == pytest.approx(got[-1][1] - got[0][1], rel=1e-9)
    assert sorted(dts)[len(dts) // 2] == pytest.approx(0.02, abs=0.005)


def test_after_a_stall_it_resumes_at_its_rate_instead_of_bursting() -> None:
    got = ticks_during(50.0, 0.4, stall_s=0.3)
    stall = max(range(1, len(got)), key=lambda i: got[i][0])
    assert got[stall][0] >= 0.25  # the tick after the stall says how long it was
    after = [dt for dt, _ in got[stall + 1 : stall + 4]]
    assert all(dt > 0.01 for dt in after), after  # not a burst of catch-up ticks


def test_a_kick_ticks_at_once_and_the_rate_stays_steady() -> None:
    """New face features are shown when they arrive instead of at the next tick; kicks at the
    input rate (30 fps) leave a 60 Hz clock at 60 Hz, and one too soon after a tick waits."""

    async def scenario() -> tuple[list[float], list[float | None], float]:
        got: list[float] = []
        delays: list[float | None] = []
        clock = OutputClock(60.0, lambda dt, now: got.append(now))
        clock.start()
        await asyncio.sleep(0.05)
        start = time.monotonic()
        while time.monotonic() - start < 1.0:
            kicked = time.monotonic()
            n = len(got)
            clock.kick()
            await asyncio.sleep(0.004)
            delays.append(got[n] - kicked if len(got) > n else None)
            await asyncio.sleep(1 / 30 - 0.004)
        clock.close()
        return got, delays, start

    got, delays, start = asyncio.run(scenario())
    answered = [d for d in delays if d is not None]
    assert len(answered) >= 0.8 * len(delays)  # most kicks tick within 4 ms (the others came too soon)
    assert sorted(answered)[len(answered) // 2] < 0.002
    in_second = [t for t in got if start <= t < start + 1.0]
    assert 55 <= len(in_second) <= 66
    gaps = np.diff(in_second)
    assert gaps.min() >= 1 / 120 - 0.002  # never closer than half a period
