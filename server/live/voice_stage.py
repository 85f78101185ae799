"""The voice stage: a session's received audio -> VoiceFeatures (and speech windows for the
recogniser), on its own thread, so voice activity never waits behind a face, or, with
`serve --workers N`, in the worker process the session is pinned to (server/pools/inference_pool.py).

At most ``max_pending`` chunks wait while the stage analyses the ones it took (~5 s of 100 ms
chunks); older ones are dropped and counted (reason "audio_backlog"). The user's viseme
prototypes (calibration's voice steps) can change mid-stream; they are swapped on the
stage's thread, between chunks.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from ..inference.realtime_visemes import VisemePrototypes
from ..inference.voice_analyzer import VoiceAnalyzer
from ..metrics import Metrics
from ..pools.inference_jobs import Analysed, VoiceOptions, analyse_chunk, new_voice_analyzer
from ..pools.inference_pool import InferenceWorkerPool
from ..protocol.bus import BusMessage, ReceivedAudio, StageError, Topic
from ..protocol.constants import ErrorCode
from ..protocol.messages import AudioChunk
from .bus import Bus
from .stage import Stage

log = logging.getLogger(__name__)
MAX_PENDING_AUDIO_CHUNKS = 50


class VoiceStage(Stage):
    topic = Topic.AUDIO
    name = "audio"

    def __init__(
        self,
        session_id: str,
        bus: Bus,
        vad_model: Path,
        prototypes: VisemePrototypes,
        metrics: Metrics,
        segment_speech: bool = False,
        lookahead_delay_ms: float | None = None,
        max_pending: int = MAX_PENDING_AUDIO_CHUNKS,
        emotion_inference: bool = True,
        workers: InferenceWorkerPool | None = None,
    ):
        """``segment_speech``: also cut speech windows for a recogniser (published on the bus);
        ``lookahead_delay_ms``: visemes from streamed phone recognition that far behind the audio;
        ``emotion_inference``: estimate speech arousal from prosody."""
        super().__init__(session_id, bus, metrics, own_thread=workers is None)
        self.workers = workers
        self.options = VoiceOptions(vad_model, prototypes, segment_speech, lookahead_delay_ms, emotion_inference)
        self._analyzer: VoiceAnalyzer | None = None
        self._pending: deque[AudioChunk] = deque(maxlen=max_pending)

    def _load(self) -> None:
        self._analyzer = new_voice_analyzer(self.options)

    def set_prototypes(self, prototypes: VisemePrototypes) -> None:
        """The user's viseme prototypes from the next chunk on."""
        self.options = replace(self.options, prototypes=prototypes)
        if self.workers is not None:
            self.workers.set_prototypes(self.session_id, prototypes)
        elif self._executor is not None:
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
            try:
                analysed = await self._analyse(chunk)
            except RuntimeError as e:  # WorkerDied (its worker process ended), a model's failure there
                log.warning("session %s: voice analysis failed: %s", self.session_id, e)
                self.metrics.stage_failures.labels(self.name).inc()
                self.publish(StageError(self.name, ErrorCode.INFERENCE_FAILED, f"voice analysis failed: {e}"))
                continue
            self.metrics.stage_seconds.labels("voice").observe(time.perf_counter() - t0)
            if analysed.voice is not None:
                self.publish(analysed.voice)
            for window in analysed.windows:
                self.publish(window)

    async def _analyse(self, chunk: AudioChunk) -> Analysed:
        if self.workers is not None:
            return await self.workers.analyse(self.session_id, self.options, chunk)
        analysed: Analysed = await self.on_thread(analyse_chunk, self._analyzer, chunk)
        return analysed

    def close(self) -> None:
        super().close()
        if self.workers is not None:
            self.workers.release(self.session_id)

    def _forget(self) -> None:
        self._pending.clear()
