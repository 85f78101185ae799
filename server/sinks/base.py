"""The sink port: where a session's output goes. A new output (a recorder, VMC/OSC, a file,
a metrics tap) is one class with these four methods, attached to a session's output.

Sinks are called on the event loop, once per output tick, in order; they must not block
(encode, queue, hand to a thread — never wait on a socket or a disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.latest_inputs import InputSample

from ..protocol.constants import Variant

if TYPE_CHECKING:
    from ..inference.sensevoice import SpeechRecognition


@dataclass(frozen=True)
class MessageMeta:
    session_id: str
    timestamp_ms: int  # the server's wall clock at the tick
    sequence: int  # per message type (and per variant), +1 each message


@dataclass(frozen=True, eq=False)
class FrameMeta(MessageMeta):
    variant: Variant | None  # None outside A/B sessions
    inputs: InputSample  # what was mapped: the face, the voice and the face's age
    dt_s: float  # since the previous tick
    t_s: float  # the output clock: seconds since the session started


class FrameSink(Protocol):
    def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None: ...

    def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None: ...

    def on_transcript(self, result: SpeechRecognition, meta: MessageMeta) -> None: ...

    def close(self) -> None:
        """The session ended: flush, release, tell whoever listens."""
