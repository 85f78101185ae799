"""The recorder sink: a consenting session's feature stream (consent.record), never its media.

Each tick writes what the output clock mapped — the face and voice features, when they
changed — at the tick's time, into a recording (server/protocol/recording.py) that
`avatar-driver ab replay` maps again through other strategies. The file is opened at the
first tick, so a session that never ticks leaves none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport

from ..protocol.constants import Variant
from ..protocol.recording import Recorder, RecordingHeader
from .base import FrameMeta, MessageMeta

if TYPE_CHECKING:
    from ..inference.sensevoice import SpeechRecognition


class RecorderSink:
    def __init__(self, path: Path, header: Callable[[], RecordingHeader]):
        """``header``: what the recording starts with, asked for when the first tick comes."""
        self.path = path
        self._header = header
        self._recorder: Recorder | None = None

    def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None:
        if meta.variant == Variant.B:  # the same inputs as variant A's frame of this tick
            return
        if self._recorder is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._recorder = Recorder(self.path.open("wb"), self._header())
        self._recorder.write(1000.0 * meta.t_s, meta.inputs.face, meta.inputs.voice)

    def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None:
        pass  # derived from the features, which are recorded

    def on_transcript(self, result: SpeechRecognition, meta: MessageMeta) -> None:
        pass  # words are not part of a feature recording

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
