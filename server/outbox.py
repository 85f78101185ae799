"""Per-connection send queue: control messages in order, avatar data latest-wins.

One task drains it, so a WebSocket never sees two concurrent sends, and a slow
client costs memory for at most ``max_data`` stale messages, which are dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

Message = bytes | str


class Outbox:
    # Room for one whole tick of an A/B session (two frames and an emotion update) plus one.
    def __init__(self, max_data: int = 4, max_control: int = 64, on_drop: Callable[[str], None] = lambda r: None):
        self._control: deque[Message] = deque()
        self._data: deque[Message] = deque()
        self._max_data = max_data
        self._max_control = max_control
        self._on_drop = on_drop
        self._ready = asyncio.Event()
        self.closed = False

    def put_control(self, message: Message) -> None:
        if len(self._control) >= self._max_control:
            self._control.popleft()
            self._on_drop("control_overflow")
        self._control.append(message)
        self._ready.set()

    def put_data(self, message: Message) -> None:
        if len(self._data) >= self._max_data:
            self._data.popleft()
            self._on_drop("slow_client")
        self._data.append(message)
        self._ready.set()

    @property
    def pending(self) -> int:
        return len(self._control) + len(self._data)

    async def next(self) -> Message:
        while not (self._control or self._data):
            self._ready.clear()
            await self._ready.wait()
        return self._control.popleft() if self._control else self._data.popleft()

    async def drain_to(self, websocket: WebSocket) -> None:
        """Send until the socket closes; the task running this is cancelled on close."""
        try:
            while True:
                message = await self.next()
                if isinstance(message, bytes):
                    await websocket.send_bytes(message)
                else:
                    await websocket.send_text(message)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True  # the peer is gone; the receive side ends the connection
