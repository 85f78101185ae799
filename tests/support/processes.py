"""The processes a test run started, read from /proc (Linux): what must not outlive it.

The test process makes itself a child subreaper, so a process orphaned below it (a server
the tests killed leaves its pool's workers behind) is re-parented to it, not to init, and
is still found here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# The interpreter's own helper: it exits when the process that started it does.
EXPECTED = ("multiprocessing.resource_tracker",)


PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> bool:
    """Makes this process the subreaper of its descendants; False where the kernel cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@dataclass(frozen=True)
class Child:
    pid: int
    command: str


def _parent_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), fields[0]


def _command(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def living_descendants(root: int | None = None) -> list[Child]:
    """Every process below ``root`` (default: this one) that still runs: zombies (exited,
    not yet reaped) and the interpreter's expected helpers are left out."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    states: dict[int, str] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (found := _parent_and_state(int(entry.name))) is not None:
            children.setdefault(found[0], []).append(int(entry.name))
            states[int(entry.name)] = found[1]
    found_below: list[Child] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        command = _command(pid)
        if states.get(pid) != "Z" and not any(name in command for name in EXPECTED):
            found_below.append(Child(pid, command))
    return found_below
