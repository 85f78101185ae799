"""The wire sink: a session's stream to its clients — the publisher and its watchers.

Each message is built once and encoded once per (format, encoding) asked for, whatever the
number of clients; each client's channel keeps avatar data latest-wins (server/live/outbox.py).
Watchers are tracked here and only here: the registry asks this sink how many a session has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport

from ..metrics import Metrics
from ..protocol import envelopes
from ..protocol.codec import Encoding
from ..protocol.envelopes import Outgoing
from .base import FrameMeta, MessageMeta
from .outbox import ClientChannel

if TYPE_CHECKING:
    from ..inference.sensevoice import SpeechRecognition


@dataclass(eq=False)
class Subscriber:
    channel: ClientChannel
    format: str  # "named" or "packed"
    encoding: Encoding
    watcher: bool = False  # False: the publisher itself


class MessageSink:
    """A sink that turns the output into protocol messages and ``send``s each one."""

    def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None:
        self.send(envelopes.avatar_frame(frame, meta.session_id, meta.timestamp_ms, meta.sequence, meta.variant))

    def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None:
        self.send(envelopes.emotion_update(report, meta.session_id, meta.timestamp_ms, meta.sequence))

    def on_transcript(self, result: SpeechRecognition, meta: MessageMeta) -> None:
        self.send(envelopes.transcript(result, meta.session_id, meta.timestamp_ms, meta.sequence))

    def send(self, message: Outgoing) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class WireSink(MessageSink):
    def __init__(self, metrics: Metrics):
        self.metrics = metrics
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    @property
    def subscribers(self) -> tuple[Subscriber, ...]:
        return tuple(self._subscribers)

    @property
    def watchers(self) -> int:
        return sum(s.watcher for s in self._subscribers)

    def send(self, message: Outgoing) -> None:
        t0 = time.perf_counter()
        self.metrics.frames_out.labels(message.type).inc()
        for s in self._subscribers:
            s.channel.put_data(message.encoded(s.format, s.encoding))
        self.metrics.stage_seconds.labels("encode").observe(time.perf_counter() - t0)

    def close(self) -> None:
        """Tells every watcher the session ended (the publisher's transport ends on its own)."""
        for s in self._subscribers:
            if s.watcher:
                s.channel.end()
        self._subscribers.clear()
