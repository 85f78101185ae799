"""The output clock: calls ``tick(dt_s, now_s)`` at ``rate_hz`` on the event loop, whatever rate
inputs arrive at. ``now_s`` is the monotonic clock; ``dt_s`` the real time since the last
tick, so filters stay correct when a tick comes late. A loop that fell far behind (a
suspended process) resumes at the rate instead of bursting to catch up.

``kick()`` (new face features) ticks at once instead of at the next period, so a frame does
not wait up to a whole period (33 ms at 30 Hz) to be shown. The next regular tick then comes
a period and a quarter later: when frames arrive at the output rate they drive the ticks
themselves, instead of racing a timer that fires just before each one and leaves it a whole
period to wait. Ticks are never closer than half a period (a kick that soon waits for it), so
the rate can never more than double.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# After a kicked tick, the next regular tick waits this many periods.
KICKED_PERIODS = 1.25


class OutputClock:
    def __init__(self, rate_hz: float, tick: Callable[[float, float], None], name: str = "output"):
        self.period_s = 1.0 / rate_hz
        self.min_gap_s = self.period_s / 2
        self._tick = tick
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._kicked = asyncio.Event()

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._run(), name=self._name)
        return self._task

    def kick(self) -> None:
        """New input: tick now (or half a period after the last tick, if that is later)."""
        self._kicked.set()

    async def _run(self) -> None:
        period = self.period_s
        last = time.monotonic()
        next_tick = last + period
        while True:
            now = time.monotonic()
            if next_tick < now - period:  # fell far behind: do not burst
                next_tick = now + period
            try:
                await asyncio.wait_for(self._kicked.wait(), max(0.0, next_tick - now))
            except TimeoutError:
                pass
            kicked = self._kicked.is_set()
            self._kicked.clear()
            now = time.monotonic()
            if kicked and now - last < self.min_gap_s:
                await asyncio.sleep(self.min_gap_s - (now - last))
                now = time.monotonic()
            self._tick(now - last, now)
            last = now
            next_tick = now + KICKED_PERIODS * period if kicked else next_tick + period

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
