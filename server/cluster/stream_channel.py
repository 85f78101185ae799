"""A session's stream on the cluster: the worker subscribes one `ClusterStreamChannel` per format and
encoding that a client of the session asked for to the session's wire sink, so each message
(frames of both A/B variants, emotion updates, transcripts) is encoded once and published once
on `avatar.session.<id>.frame.<format>.<encoding>`; the edges fan it out to their clients.

Each message carries the number the session's next frame will have (header ``n``), so the
edge of a session whose worker is lost knows where the reclaimed session must go on.
"""

from __future__ import annotations

from ..live.output import AvatarOutput
from ..sinks.outbox import Message
from .relay import NEXT_SEQUENCE
from .writer import ClusterWriter


class ClusterStreamChannel:
    def __init__(self, writer: ClusterWriter, subject: str, output: AvatarOutput):
        self.subject = subject
        self._writer = writer
        self._output = output

    def put_data(self, message: Message) -> None:
        self._writer.put(
            self.subject,
            message.encode() if isinstance(message, str) else message,
            {NEXT_SEQUENCE: str(self._output.next_frame_sequence)},
        )

    def put_control(self, message: Message) -> None:
        self.put_data(message)

    def end(self) -> None:
        pass  # the session's end is an event (relay.Event), for every format at once
