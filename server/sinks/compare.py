"""The A/B variant path: the inputs of every variant-A frame mapped again through a second
strategy, and handed on as variant B with a sequence of its own.

Attached after the sinks that take variant A, so each tick sends A, then B, from the same
inference pass; its frames go to ``target`` (the wire), not to the recorder (A's frame
already recorded the inputs).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.face_calibration import FaceCalibration
from avatar_mapping.mapper import AvatarMapper, MapperOptions
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import Strategy

from ..protocol.constants import Variant
from .base import FrameMeta, FrameSink, MessageMeta

if TYPE_CHECKING:
    from ..inference.sensevoice import SpeechRecognition


class CompareSink:
    def __init__(
        self,
        rig: RigDefinition,
        strategy: Strategy,
        calibration: FaceCalibration,
        target: FrameSink,
        options: MapperOptions | None = None,
    ):
        self.mapper = AvatarMapper(rig, options, strategy, calibration)
        self.target = target
        self._sequence = 0

    def set_strategy(self, strategy: Strategy) -> None:
        self.mapper.set_strategy(strategy)

    def set_calibration(self, calibration: FaceCalibration) -> None:
        self.mapper.set_calibration(calibration)

    def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None:
        if meta.variant != Variant.A:
            return
        i = meta.inputs
        frame_b = self.mapper.step(i.face, meta.dt_s, i.age_s, i.voice)
        self.target.on_frame(frame_b, replace(meta, variant=Variant.B, sequence=self._sequence))
        self._sequence += 1

    def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None:
        pass  # one emotion estimate per session: the inputs are the same

    def on_transcript(self, result: SpeechRecognition, meta: MessageMeta) -> None:
        pass

    def close(self) -> None:
        pass
