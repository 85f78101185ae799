"""A session's output: each tick, the sampled inputs mapped to an AvatarFrame, the emotion
reported at its own rate, both handed to the sinks in order.

No clock and no I/O of its own — the live output clock (clock.py) and the offline tools
(analyze) drive it alike, so both produce the same messages.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.emotion_tracker import EmotionTracker
from avatar_mapping.face_calibration import FaceCalibration
from avatar_mapping.latest_inputs import InputSample
from avatar_mapping.mapper import AvatarMapper, MapperOptions
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import Strategy

from ..metrics import Metrics
from ..protocol.constants import Variant
from ..sinks.base import FrameMeta, FrameSink, MessageMeta
from ..sinks.compare import CompareSink

if TYPE_CHECKING:
    from ..inference.sensevoice import SpeechRecognition


class AvatarOutput:
    def __init__(
        self,
        session_id: str,
        rig: RigDefinition,
        emotion_rate_hz: float,
        strategy: Strategy | None = None,
        calibration: FaceCalibration | None = None,
        options: MapperOptions | None = None,
        metrics: Metrics | None = None,
    ):
        self.session_id = session_id
        self.metrics = metrics
        self.rig = rig
        self.options = options
        self.mapper = AvatarMapper(rig, options, strategy, calibration)
        self.emotions = EmotionTracker()
        self.sinks: list[FrameSink] = []
        self._compare: CompareSink | None = None
        self._emotion_interval_s = 1.0 / emotion_rate_hz
        self._since_emotion_s = self._emotion_interval_s  # the first tick reports
        self._sequences = {"frame": 0, "emotion": 0, "transcript": 0}

    def add_sink(self, sink: FrameSink) -> None:
        """Sinks are called in the order they were added (a compare sink stays last)."""
        self.sinks.insert(len(self.sinks) - (self._compare is not None), sink)

    def set_strategy(self, strategy: Strategy) -> None:
        self.mapper.set_strategy(strategy)

    def set_calibration(self, calibration: FaceCalibration) -> None:
        self.mapper.set_calibration(calibration)
        if self._compare is not None:
            self._compare.set_calibration(calibration)

    def set_compare(self, strategy: Strategy | None, target: FrameSink | None = None) -> None:
        """A/B: also map every tick through ``strategy`` and send it to ``target`` as variant B;
        None stops it."""
        if strategy is None:
            if self._compare is not None:
                self.sinks.remove(self._compare)
            self._compare = None
        elif self._compare is None:
            if target is None:
                raise ValueError("a new comparison needs the sink its frames go to")
            self._compare = CompareSink(self.rig, strategy, self.mapper.calibration, target, self.options)
            self.sinks.append(self._compare)
        else:
            self._compare.set_strategy(strategy)

    def tick(self, inputs: InputSample, dt_s: float, t_s: float, timestamp_ms: int) -> None:
        t0 = time.perf_counter()
        frame = self.mapper.step(inputs.face, dt_s, inputs.age_s, inputs.voice)
        if self.metrics is not None:
            self.metrics.stage_seconds.labels("mapping").observe(time.perf_counter() - t0)
        state = self.mapper.last_state
        self.emotions.observe(state, dt_s)
        variant = Variant.A if self._compare is not None else None
        meta = FrameMeta(self.session_id, timestamp_ms, self._next("frame"), variant, inputs, dt_s, t_s)
        for sink in self.sinks:
            sink.on_frame(frame, meta)
        self._since_emotion_s += dt_s
        if self._since_emotion_s >= self._emotion_interval_s:
            # Keep the phase (resetting to 0 loses the remainder: 8.3 Hz instead of 10 at 60 Hz
            # ticks); after a stall, start again rather than catch up.
            self._since_emotion_s -= self._emotion_interval_s
            if self._since_emotion_s >= self._emotion_interval_s:
                self._since_emotion_s = 0.0
            report = EmotionReport.of(inputs.face, state, self.emotions.top, self.emotions.scores)
            emotion_meta = MessageMeta(self.session_id, timestamp_ms, self._next("emotion"))
            for sink in self.sinks:
                sink.on_emotion(report, emotion_meta)

    def transcript(self, result: SpeechRecognition, timestamp_ms: int) -> None:
        meta = MessageMeta(self.session_id, timestamp_ms, self._next("transcript"))
        for sink in self.sinks:
            sink.on_transcript(result, meta)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
        self.sinks.clear()
        self._compare = None

    @property
    def next_frame_sequence(self) -> int:
        return self._sequences["frame"]

    def continue_from(self, sequence: int) -> None:
        """Numbers the next frame ``sequence`` (a session reclaimed from a lost worker)."""
        self._sequences["frame"] = max(0, int(sequence))

    def _next(self, kind: str) -> int:
        n = self._sequences[kind]
        self._sequences[kind] = n + 1
        return n
