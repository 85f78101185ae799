"""The voice stage: a session's received audio -> VoiceFeatures (and speech windows for the
recogniser), on its own thread, so voice activity never waits behind a face.

At most ``max_pending`` chunks wait while the stage analyses the ones it took (~5 s of 100 ms
chunks); older ones are dropped and counted (reason "audio_backlog"). The user's viseme
prototypes (calibration's voice steps) can change mid-stream; they are swapped on the
stage's thread, between chunks.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np

from ..inference.lookahead_visemes import LookaheadOptions, LookaheadVisemes
from ..inference.realtime_visemes import VisemePrototypes
from ..inference.speech_segments import SpeechSegmenter, SpeechWindow
from ..inference.voice import VoiceAnalyzer
from ..metrics import Metrics
from ..protocol.bus import BusMessage, ReceivedAudio, Topic, VoiceResult
from ..protocol.messages import AudioChunk
from .bus import Bus
from .stage import Stage

MAX_PENDING_AUDIO_CHUNKS = 50


class VoiceStage(Stage):
    topic = Topic.AUDIO
    name = "audio"

    def __init__(self, session_id: str, bus: Bus, vad_model: Path, prototypes: VisemePrototypes, metrics: Metrics,
                 segment_speech: bool = False, lookahead_delay_ms: float | None = None,
                 max_pending: int = MAX_PENDING_AUDIO_CHUNKS, emotion_inference: bool = True):
        """``segment_speech``: also cut speech windows for a recogniser (published on the bus);
        ``lookahead_delay_ms``: visemes from streamed phone recognition that far behind the audio;
        ``emotion_inference``: estimate speech arousal from prosody."""
        super().__init__(session_id, bus, metrics)
        self._emotion_inference = emotion_inference
        self._vad_model = vad_model
        self._prototypes = prototypes
        self._segment_speech = segment_speech
        self._lookahead_delay_ms = lookahead_delay_ms
        self._analyzer: VoiceAnalyzer | None = None
        self._pending: deque[AudioChunk] = deque(maxlen=max_pending)

    def _load(self) -> None:
        delay = self._lookahead_delay_ms
        self._analyzer = VoiceAnalyzer(self._vad_model, SpeechSegmenter() if self._segment_speech else None,
                                       LookaheadVisemes(LookaheadOptions(delay)) if delay else None,
                                       prosody=self._emotion_inference)
        self._analyzer.visemes.set_prototypes(self._prototypes)

    def set_prototypes(self, prototypes: VisemePrototypes) -> None:
        """The user's viseme prototypes from the next chunk on."""
        self._prototypes = prototypes
        if self._executor is not None:
            self._executor.submit(self._swap_prototypes, prototypes)

    def _swap_prototypes(self, prototypes: VisemePrototypes) -> None:
        if self._analyzer is not None:
            self._analyzer.visemes.set_prototypes(prototypes)

    def _keep(self, message: BusMessage) -> None:
        assert isinstance(message, ReceivedAudio)
        if len(self._pending) == self._pending.maxlen:
            self.metrics.dropped.labels("audio_backlog").inc()
        self._pending.append(message.chunk)

    async def _work(self) -> None:
        batch = list(self._pending)  # what arrives meanwhile waits (bounded) for the next batch
        self._pending.clear()
        for chunk in batch:
            t0 = time.perf_counter()
            result, windows = await self.on_thread(self._analyse, chunk)
            self.metrics.stage_seconds.labels("voice").observe(time.perf_counter() - t0)
            if result is not None:
                self.publish(result)
            for window in windows:
                self.publish(window)

    def _analyse(self, chunk: AudioChunk) -> tuple[VoiceResult | None, list[SpeechWindow]]:
        analyzer = self._analyzer
        voice = analyzer.push(chunk.pcm, chunk.sample_rate_hz, chunk.capture_ms)
        frames = analyzer.last_frames
        result = None
        if voice is not None:
            result = VoiceResult(voice, np.array([f.mfcc for f in frames]).reshape(len(frames), -1),
                                 np.array([f.log_energy for f in frames], dtype=np.float64))
        return result, analyzer.take_windows()

    def _forget(self) -> None:
        self._pending.clear()
