"""The speech stage: a session's speech windows -> SpeechRecognition, through the server's one
shared recogniser (SpeechService: one SenseVoice model on one thread for every session).

Final windows (whole VAD segments) are recognised in order; a newer partial window replaces
one not yet recognised (counted, reason "speech_window"). At most ``max_pending`` windows
wait; beyond that a waiting partial window is dropped, else the oldest final one (reason
"speech_backlog"). A failure on one window is logged and counted, and the stage goes on.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from ..inference.speech_segments import SpeechWindow
from ..inference.speech_service import SpeechService
from ..metrics import Metrics
from ..protocol.bus import BusMessage, Topic
from .bus import Bus
from .stage import Stage

log = logging.getLogger(__name__)
MAX_PENDING_SPEECH_WINDOWS = 8


class SpeechStage(Stage):
    topic = Topic.SPEECH_WINDOW
    name = "speech"

    def __init__(
        self,
        session_id: str,
        bus: Bus,
        speech: SpeechService,
        metrics: Metrics,
        max_pending: int = MAX_PENDING_SPEECH_WINDOWS,
        emotion_inference: bool = True,
    ):
        """``emotion_inference`` False: results carry words and audio events, no emotion."""
        super().__init__(session_id, bus, metrics, own_thread=False)  # the recogniser has its thread
        self.speech = speech
        self._emotion_inference = emotion_inference
        self._pending: deque[SpeechWindow] = deque()
        self._max_pending = max_pending

    def _keep(self, message: BusMessage) -> None:
        assert isinstance(message, SpeechWindow)
        if not message.final:
            for stale in [w for w in self._pending if not w.final]:
                self._pending.remove(stale)
                self.metrics.dropped.labels("speech_window").inc()
        if len(self._pending) >= self._max_pending:
            partial = next((w for w in self._pending if not w.final), None)
            self._pending.remove(partial if partial is not None else self._pending[0])
            self.metrics.dropped.labels("speech_backlog").inc()
        self._pending.append(message)

    async def _work(self) -> None:
        while self._pending:
            window = self._pending.popleft()
            t0 = time.perf_counter()
            try:
                result = await self.speech.recognize(window)
            except (RuntimeError, ValueError) as e:  # torch/FunASR errors, unexpected tags
                log.warning(
                    "session %s: speech recognition failed on %d ms of audio: %s",
                    self.session_id,
                    window.end_ms - window.start_ms,
                    e,
                )
                self.metrics.stage_failures.labels("speech_recognition").inc()
                continue
            self.metrics.stage_seconds.labels("speech_recognition").observe(time.perf_counter() - t0)
            self.publish(result if self._emotion_inference else result.without_emotion())

    def _forget(self) -> None:
        self._pending.clear()
