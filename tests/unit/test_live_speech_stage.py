"""The speech stage with the shared recogniser (a scripted tiny SenseVoice): finals in order,
a newer partial window replaces an older one, a bounded backlog."""

import asyncio
import time
from pathlib import Path

import numpy as np

from server.inference.sensevoice import SpeechRecognition
from server.inference.speech_segments import SpeechWindow
from server.inference.speech_service import SpeechService
from server.live.bus import InProcessBus
from server.live.speech_stage import SpeechStage
from server.metrics import Metrics
from server.protocol.bus import BusMessage, Topic
from tests.support.stages import of_type


def window(start_ms: int, final: bool) -> SpeechWindow:
    return SpeechWindow(np.random.default_rng(start_ms).normal(0, 0.1, 16000).astype(np.float32), start_ms, final)


def test_finals_in_order_partials_latest_wins_backlog_bounded(scripted_sensevoice: Path) -> None:
    speech = SpeechService(scripted_sensevoice, device="cpu")
    assert speech.load().available

    async def scenario() -> tuple[list[BusMessage], Metrics]:
        bus, metrics = InProcessBus(), Metrics()
        stage = SpeechStage("s1", bus, speech, metrics, max_pending=4)
        heard: list[BusMessage] = []
        bus.subscribe("s1", Topic.SPEECH, heard.append)
        await stage.start()
        for w in (
            window(0, False),
            window(1000, False),
            window(2000, True),
            window(3000, False),
            window(4000, True),
            window(5000, True),
            window(6000, True),
        ):
            bus.publish("s1", w)  # all before the stage gets to run: they queue
        t0 = time.monotonic()
        while len(heard) < 4 and time.monotonic() - t0 < 30:
            await asyncio.sleep(0.05)
        stage.close()
        return heard, metrics

    try:
        heard, metrics = asyncio.run(scenario())
    finally:
        speech.close()
    assert all(isinstance(r, SpeechRecognition) for r in heard)
    recognised = of_type(SpeechRecognition, heard)
    # 0 and 1000 were replaced by newer partials; 3000 gave way to a final when the backlog was full
    assert [(r.start_ms, r.final) for r in recognised] == [(2000, True), (4000, True), (5000, True), (6000, True)]
    dropped = metrics.registry.get_sample_value
    assert dropped("avatar_driver_frames_dropped_total", {"reason": "speech_window"}) == 2
    assert dropped("avatar_driver_frames_dropped_total", {"reason": "speech_backlog"}) == 1
