"""The tool pool: jobs in spawned worker processes, bounded, timed out, surviving a worker's
death, and never outliving the server that started them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from server.pools.tool_pool import PARENT_CHECK_S, PoolBusy, PoolFailed, ToolPool
from tests.support.jobs import die, refuse, sleep_then_pid, worker_pid
from tests.support.paths import REPO


def test_a_job_runs_in_another_process_and_its_own_error_comes_back() -> None:
    async def scenario() -> int:
        pool = ToolPool(1, 0, 30.0)
        try:
            with pytest.raises(ValueError, match="not a rig"):
                await pool.run(refuse, "not a rig")
            pid: int = await pool.run(worker_pid)
            return pid
        finally:
            pool.close()

    assert asyncio.run(scenario()) != os.getpid()


def test_one_job_too_many_is_refused_at_once_not_queued() -> None:
    async def scenario() -> tuple[float, int]:
        pool = ToolPool(1, 1, 30.0)
        try:
            running = [asyncio.ensure_future(pool.run(sleep_then_pid, 1.0)) for _ in range(2)]
            await asyncio.sleep(0.05)
            t0 = time.monotonic()
            with pytest.raises(PoolBusy, match="at most 2"):
                await pool.run(worker_pid)
            refused_after = time.monotonic() - t0
            await asyncio.gather(*running)
            return refused_after, pool.jobs
        finally:
            pool.close()

    refused_after, jobs_left = asyncio.run(scenario())
    assert refused_after < 0.1 and jobs_left == 0


def test_a_slow_job_is_answered_as_failed_and_its_worker_takes_the_next_when_done() -> None:
    async def scenario() -> tuple[int, int]:
        pool = ToolPool(1, 2, 0.5)
        try:
            with pytest.raises(PoolFailed, match="longer than 0.5 s"):
                await pool.run(sleep_then_pid, 1.0)
            busy = pool.jobs  # the worker finishes it all the same
            await asyncio.sleep(0.8)
            pid: int = await pool.run(worker_pid)
            return busy, pid
        finally:
            pool.close()

    busy, pid = asyncio.run(scenario())
    assert busy == 1 and pid != os.getpid()


def test_a_dead_worker_fails_its_job_and_fresh_workers_take_the_next() -> None:
    async def scenario() -> int:
        pool = ToolPool(1, 0, 30.0)
        try:
            with pytest.raises(PoolFailed, match="worker process died"):
                await pool.run(die)
            pid: int = await pool.run(worker_pid)
            return pid
        finally:
            pool.close()

    assert asyncio.run(scenario()) != os.getpid()


def test_the_workers_of_a_server_killed_with_sigkill_exit_by_themselves() -> None:
    """kill -9 leaves no time to shut the pool down; its worker must not live on orphaned."""
    script = textwrap.dedent(
        """
        import asyncio, sys, time
        from server.pools.tool_pool import ToolPool
        from tests.support.jobs import worker_pid

        pool = ToolPool(1, 0, 30.0)
        print(asyncio.run(pool.run(worker_pid)), flush=True)
        time.sleep(60)
        """
    )
    server = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        assert _alive(worker)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    deadline = time.monotonic() + 10 * PARENT_CHECK_S
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "the tool worker outlived its server"


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (an exited process waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
