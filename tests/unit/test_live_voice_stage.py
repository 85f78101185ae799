"""The voice stage with the real VAD: audio in over the bus, voice features with their 10 ms
frames out, speech windows for a recogniser, a bounded backlog. (The same stage with its
analysis in a worker process: tests/integration/test_pools_inference.py.)"""

import asyncio
import time

import numpy as np

from server.live.bus import InProcessBus
from server.live.calibration import DEFAULT_PROTOTYPES
from server.live.voice_stage import VoiceStage
from server.metrics import Metrics
from server.models.store import ModelStore
from server.protocol.bus import BusMessage, ReceivedAudio, Topic, VoiceResult
from server.protocol.messages import AudioChunk
from server.settings import Settings
from tests.support.media import espeak, pcm16
from tests.support.stages import assert_speech_was_analysed, of_type, run_voice_stage, speech_in_silence


def test_speech_gives_voice_features_frames_and_windows() -> None:
    pcm = speech_in_silence(pcm16(espeak("Good morning, how are you doing today?")))
    voices, windows, metrics = run_voice_stage(pcm)
    assert_speech_was_analysed(pcm, voices, windows, metrics)


def test_a_backlog_keeps_the_newest_chunks_and_counts_the_rest() -> None:
    vad = ModelStore(Settings().models).require("silero_vad")

    async def scenario() -> tuple[list[BusMessage], Metrics]:
        bus, metrics = InProcessBus(), Metrics()
        stage = VoiceStage("s1", bus, vad, DEFAULT_PROTOTYPES, metrics, max_pending=5)
        voices: list[BusMessage] = []
        bus.subscribe("s1", Topic.VOICE, voices.append)
        await stage.start()
        for k in range(12):  # no await: the stage cannot take any before the burst ends
            bus.publish("s1", ReceivedAudio(AudioChunk(100 * k, np.zeros(1600, "<i2").tobytes(), 16000)))
        t0 = time.monotonic()
        while len(voices) < 5 and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        stage.close()
        return voices, metrics

    voices, metrics = asyncio.run(scenario())
    assert metrics.registry.get_sample_value("avatar_driver_frames_dropped_total", {"reason": "audio_backlog"}) == 7
    analysed = of_type(VoiceResult, voices)
    assert [v.features.capture_ms // 100 for v in analysed][-1] >= 11  # the newest chunk was analysed
    assert len(voices) == 5
