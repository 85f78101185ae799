"""The output clock: calls ``tick(dt_s, now_s)`` at ``rate_hz`` on the event loop, whatever rate
inputs arrive at. ``now_s`` is the monotonic clock; ``dt_s`` the real time since the last
tick, so filters stay correct when a tick comes late. A loop that fell far behind (a
suspended process) resumes at the rate instead of bursting to catch up.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable


class OutputClock:
    def __init__(self, rate_hz: float, tick: Callable[[float, float], None], name: str = "output"):
        self.period_s = 1.0 / rate_hz
        self._tick = tick
        self._name = name
        self._task: asyncio.Task | None = None

    def start(self) -> asyncio.Task:
        self._task = asyncio.create_task(self._run(), name=self._name)
        return self._task

    async def _run(self) -> None:
        period = self.period_s
        last = time.monotonic()
        next_tick = last
        while True:
            next_tick += period
            now = time.monotonic()
            if next_tick < now - period:  # fell far behind: do not burst
                next_tick = now + period
            await asyncio.sleep(max(0.0, next_tick - now))
            now = time.monotonic()
            self._tick(now - last, now)
            last = now

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
