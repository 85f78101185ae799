"""Long blocking tools (avatar inspection, line animation) in worker processes.

Inspecting a crafted avatar or decoding a long line with pocketsphinx takes seconds and holds
the GIL; run on the server's threads it would stall every live session. Here it runs in
`workers` processes (started on first use, with `spawn`: the server's own threads are not
forked), at most `workers + queue` jobs at a time — one more is refused at once (`PoolBusy`,
an HTTP 503 with Retry-After) instead of waiting behind the others, and a job that outlives
`timeout_s` is answered as one (its process finishes it and takes the next). A worker
whose server is gone (kill -9 leaves no time to shut the pool down) exits by itself within
`PARENT_CHECK_S`: it watches its parent, since its queue's pipe would never tell it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

PARENT_CHECK_S = 0.5


class PoolBusy(RuntimeError):
    """Every worker is busy and the queue is full: try again later."""


class PoolFailed(RuntimeError):
    """The job did not finish: it took too long, or its worker died."""


class ToolPool:
    def __init__(self, workers: int, queue: int, timeout_s: float):
        self.workers = workers
        self.capacity = workers + queue
        self.timeout_s = timeout_s
        self._executor: ProcessPoolExecutor | None = None
        self._jobs = 0

    @property
    def jobs(self) -> int:
        """Jobs running or waiting now."""
        return self._jobs

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker; ``fn`` and its arguments must pickle. Its own exceptions
        come back as raised; PoolBusy and PoolFailed say why it did not run or finish."""
        if self._jobs >= self.capacity:
            raise PoolBusy(f"{self._jobs} jobs are running or waiting (at most {self.capacity}); try again shortly")
        future = self._pool().submit(fn, *args)
        self._jobs += 1  # until the worker is done with it, even when nobody waits any more
        future.add_done_callback(self._finished)
        outcome = asyncio.wrap_future(future)
        outcome.add_done_callback(_retrieved)  # it may fail after its caller stopped waiting
        try:
            return await asyncio.wait_for(asyncio.shield(outcome), self.timeout_s)
        except TimeoutError:
            raise PoolFailed(f"the job took longer than {self.timeout_s:g} s") from None
        except BrokenProcessPool:
            self._executor = None  # the next job starts fresh workers
            raise PoolFailed("its worker process died") from None

    def _finished(self, _future: Any) -> None:
        self._jobs -= 1

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._executor

    def close(self) -> None:
        """Drops waiting jobs and waits for a running one (at most timeout_s), so the workers
        exit cleanly."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _retrieved(outcome: asyncio.Future[Any]) -> None:
    """Marks a job's exception as seen: a timed-out job's failure was already answered."""
    if not outcome.cancelled():
        outcome.exception()


def exit_with_parent(parent_pid: int) -> None:
    """In a worker: ends the process once ``parent_pid`` is no longer its parent (the server
    died and the worker was re-parented), even in the middle of a job."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
