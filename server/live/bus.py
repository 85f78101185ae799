"""The bus port: the one way a session and its stages hand messages to each other.

A stage never holds the session, and the session never reaches into a stage's state: the
session publishes what it received (`ReceivedVideo`, `ReceivedAudio`), stages subscribe to
that and publish their typed results (`FaceResult`, `VoiceResult`, `SpeechRecognition`,
`StageError`), and the session subscribes to those. Topics and the messages' CBOR are
defined in server/protocol/bus.py.

`InProcessBus` is the default: a direct call of each subscriber, on the event loop (stages
publish from the loop, after their worker thread returns). A bus between processes or
machines implements the same two methods, sending `bus.encode(message)` for each (session,
topic) (its subjects named in server/cluster/subjects.py); `InProcessBus(through_codec=True)` behaves as such a bus
does — every message is encoded and decoded on the way — so a test proves that a whole
session runs on what the wire carries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..protocol.bus import TOPIC_OF, BusMessage, Topic, decode, encode

Handler = Callable[[BusMessage], None]
Address = tuple[str, Topic]  # (session id, topic)


class Subscription(Protocol):
    def cancel(self) -> None: ...


class Bus(Protocol):
    def publish(self, session_id: str, message: BusMessage) -> None:
        """Hand a message on to the subscribers of its topic; never blocks."""

    def subscribe(self, session_id: str, topic: Topic, handler: Handler) -> Subscription:
        """Call ``handler`` with each message of the session's topic until cancelled."""


class _InProcessSubscription:
    def __init__(self, bus: InProcessBus, address: Address, handler: Handler):
        self._bus, self._address, self._handler = bus, address, handler

    def cancel(self) -> None:
        self._bus._remove(self._address, self._handler)


class InProcessBus:
    def __init__(self, through_codec: bool = False):
        self.through_codec = through_codec
        self._handlers: dict[Address, list[Handler]] = {}

    def publish(self, session_id: str, message: BusMessage) -> None:
        topic = TOPIC_OF[type(message)]
        handlers = self._handlers.get((session_id, topic))
        if not handlers:
            return
        if self.through_codec:
            message = decode(topic, encode(message))
        for handler in tuple(handlers):
            handler(message)

    def subscribe(self, session_id: str, topic: Topic, handler: Handler) -> Subscription:
        address = (session_id, topic)
        self._handlers.setdefault(address, []).append(handler)
        return _InProcessSubscription(self, address, handler)

    def _remove(self, address: Address, handler: Handler) -> None:
        handlers = self._handlers.get(address, [])
        if handler in handlers:
            handlers.remove(handler)
        if not handlers:
            self._handlers.pop(address, None)

    @property
    def subscriptions(self) -> int:
        """Open subscriptions, all sessions together (a closed session leaves none)."""
        return sum(len(h) for h in self._handlers.values())
