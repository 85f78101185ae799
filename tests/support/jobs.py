"""Jobs for the tool pool's tests: module-level, so that a spawned worker can import them."""

from __future__ import annotations

import os
import time


def worker_pid() -> int:
    return os.getpid()


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def refuse(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(3)
