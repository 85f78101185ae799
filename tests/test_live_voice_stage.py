"""The voice stage with the real VAD: audio in over the bus, voice features with their 10 ms
frames out, speech windows for a recogniser, a bounded backlog."""

import asyncio
import time

import numpy as np
import pytest

from server.inference.speech_segments import SpeechWindow
from server.live.bus import InProcessBus
from server.live.calibration import DEFAULT_PROTOTYPES
from server.live.voice_stage import VoiceStage
from server.metrics import Metrics
from server.models.store import ModelStore
from server.pools.inference_pool import InferenceWorkerPool
from server.protocol.bus import ReceivedAudio, Topic, VoiceResult
from server.protocol.messages import AudioChunk
from server.settings import Settings


@pytest.mark.parametrize("in_workers", [False, True], ids=["thread", "worker_process"])
def test_speech_gives_voice_features_frames_and_windows(tmp_path, in_workers):
    """On the stage's thread, or in an inference worker process (`serve --workers N`)."""
    from tests.test_vad import espeak

    speech = (np.clip(espeak("Good morning, how are you doing today?", tmp_path), -1, 1) * 32767).astype("<i2")
    pcm = np.concatenate([np.zeros(8000, "<i2"), speech, np.zeros(16000, "<i2")])
    vad = ModelStore(Settings().models).require("silero_vad")

    pool = InferenceWorkerPool(1, 1920 * 1080) if in_workers else None

    async def scenario():
        bus, metrics = InProcessBus(), Metrics()
        stage = VoiceStage("s1", bus, vad, DEFAULT_PROTOTYPES, metrics, segment_speech=True, workers=pool)
        voices, windows = [], []
        bus.subscribe("s1", Topic.VOICE, voices.append)
        bus.subscribe("s1", Topic.SPEECH_WINDOW, windows.append)
        await stage.start()
        stage.set_prototypes(DEFAULT_PROTOTYPES)
        for i in range(0, len(pcm), 1600):
            bus.publish("s1", ReceivedAudio(AudioChunk(3000 + i // 16, pcm[i : i + 1600].tobytes(), 16000)))
            await asyncio.sleep(0.005)
        t0 = time.monotonic()  # every chunk analysed (a worker answers later than a thread)
        while len(voices) < chunks and time.monotonic() - t0 < 20:
            await asyncio.sleep(0.02)
        stage.close()
        return voices, windows, metrics

    chunks = -(-len(pcm) // 1600)
    try:
        voices, windows, metrics = asyncio.run(scenario())
    finally:
        if pool is not None:
            pool.close()
    assert all(isinstance(v, VoiceResult) for v in voices) and len(voices) == chunks
    assert max(v.features.speaking_probability for v in voices) > 0.5
    assert all(v.mfcc.shape == (len(v.log_energy), 13) and len(v.log_energy) > 0 for v in voices)
    assert any(v.features.viseme != "sil" for v in voices)
    assert all(isinstance(w, SpeechWindow) for w in windows) and any(w.final for w in windows)
    assert 3000 + 200 <= [w for w in windows if w.final][0].start_ms <= 3000 + 700
    assert metrics.registry.get_sample_value("avatar_driver_stage_seconds_count", {"stage": "voice"}) >= 20


def test_a_backlog_keeps_the_newest_chunks_and_counts_the_rest():
    vad = ModelStore(Settings().models).require("silero_vad")

    async def scenario():
        bus, metrics = InProcessBus(), Metrics()
        stage = VoiceStage("s1", bus, vad, DEFAULT_PROTOTYPES, metrics, max_pending=5)
        voices = []
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
    assert [v.features.capture_ms // 100 for v in voices][-1] >= 11  # the newest chunk was analysed
    assert len(voices) == 5
