"""Who is alive on the cluster: heartbeats out, and a watch over other processes' heartbeats.

Heartbeats go out from a thread and a NATS connection of their own, so they say whether the
process lives, not whether its event loop is free this instant (a session starting, a burst
of frames): a busy worker is not taken for a lost one. On the receiving side a check that
comes late — its own loop was busy, so heartbeats that arrived meanwhile are still unread —
judges nobody.
"""

from __future__ import annotations

import asyncio

from nats.aio.client import Client

from .link import LinkOptions, SyncLink


class Heartbeat:
    def __init__(self, options: LinkOptions, subject: str, interval_s: float):
        self._link = SyncLink(options)

        async def beat(client: Client) -> None:
            while True:
                await client.publish(subject, b"")
                await asyncio.sleep(interval_s)

        self._beating = self._link.submit(beat)

    def close(self) -> None:
        """Stops at once: to the others, this process is gone."""
        self._beating.cancel()
        self._link.close()


class LivenessWatch:
    def __init__(self, timeout_s: float, check_every_s: float):
        self.timeout_s = timeout_s
        self.check_every_s = check_every_s
        self._seen: dict[str, float] = {}
        self._last_check: float | None = None

    def seen(self, key: str, now: float) -> None:
        self._seen[key] = now

    def watch(self, key: str, now: float) -> None:
        """From now on, ``key`` is expected to heartbeat (whether one came yet or not)."""
        self._seen.setdefault(key, now)

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def last_seen(self, key: str) -> float | None:
        return self._seen.get(key)

    def lost(self, now: float) -> set[str]:
        """Whoever has been silent longer than the timeout; nobody when this check is late."""
        late = self._last_check is not None and now - self._last_check > 2 * self.check_every_s
        self._last_check = now
        if late:
            return set()
        return {key for key, at in self._seen.items() if now - at > self.timeout_s}
