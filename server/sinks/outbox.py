"""A client's send queue: control messages in order, avatar data latest-wins.

The session side puts (the wire sink its stream, the controller its replies); one task of the
transport takes, so a socket never sees two concurrent sends, and a slow client costs memory
for at most ``max_data`` stale messages, which are dropped and counted. Transport-free: a
WebSocket drains one outbox; a transport with separate channels reads both queues.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

Message = bytes | str


class ClientChannel(Protocol):
    """Where a client's messages go: replies and events in order, stream data latest-wins."""

    def put_control(self, message: Message) -> None: ...

    def put_data(self, message: Message) -> None: ...

    def end(self) -> None:
        """Nothing more will come (the session ended); what is queued still goes out."""


class Outbox:
    # Room for one whole tick of an A/B session (two frames and an emotion update) plus one.
    def __init__(self, max_data: int = 4, max_control: int = 64, on_drop: Callable[[str], None] = lambda r: None):
        self._control: deque[Message] = deque()
        self._data: deque[Message] = deque()
        self._max_data = max_data
        self._max_control = max_control
        self._on_drop = on_drop
        self._ready = asyncio.Event()
        self._ended = False

    def end(self) -> None:
        self._ended = True
        self._ready.set()

    def put_control(self, message: Message) -> None:
        self._put(self._control, self._max_control, "control_overflow", message)

    def put_data(self, message: Message) -> None:
        self._put(self._data, self._max_data, "slow_client", message)

    def _put(self, queue: deque[Message], limit: int, overflow_reason: str, message: Message) -> None:
        """Append, dropping the oldest (and saying why) when the queue is full."""
        if len(queue) >= limit:
            queue.popleft()
            self._on_drop(overflow_reason)
        queue.append(message)
        self._ready.set()

    @property
    def pending(self) -> int:
        return len(self._control) + len(self._data)

    async def next(self) -> Message | None:
        """The next message to send; None once ended and everything queued went out."""
        item = await self.next_item()
        return item[1] if item is not None else None

    async def next_item(self) -> tuple[bool, Message] | None:
        """The next message and whether it is a control message (a transport with separate
        channels sends the two kinds apart); None once ended and everything queued went out."""
        while not (self._control or self._data):
            if self._ended:
                return None
            self._ready.clear()
            await self._ready.wait()
        return (True, self._control.popleft()) if self._control else (False, self._data.popleft())
