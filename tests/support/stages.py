"""A stage run on its own, on the in-process bus, the way a session drives it."""

from __future__ import annotations

import asyncio
import time
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from avatar_mapping.voice_features import N_MFCC
from server.inference.speech_segments import SpeechWindow
from server.live.bus import InProcessBus
from server.live.calibration import DEFAULT_PROTOTYPES
from server.live.voice_stage import VoiceStage
from server.metrics import Metrics
from server.models.store import ModelStore
from server.pools.inference_pool import InferenceWorkerPool
from server.protocol.bus import BusMessage, ReceivedAudio, Topic, VoiceResult
from server.protocol.messages import AudioChunk
from server.settings import Settings

CHUNK = 1600  # 100 ms at 16 kHz
M = TypeVar("M", bound=BusMessage)


def of_type(kind: type[M], messages: list[BusMessage]) -> list[M]:
    """``messages``, every one of them a ``kind`` (what a topic's subscriber gets), as such."""
    narrowed: list[M] = [m for m in messages if isinstance(m, kind)]
    assert len(narrowed) == len(messages), [type(m).__name__ for m in messages]
    return narrowed


def speech_in_silence(speech: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """0.5 s of silence, the speech, then at least 1 s of silence, in whole chunks."""
    tail = 16000 + (-(8000 + len(speech) + 16000) % CHUNK)
    return np.concatenate([np.zeros(8000, "<i2"), speech, np.zeros(tail, "<i2")])


def run_voice_stage(
    pcm: npt.NDArray[np.int16], pool: InferenceWorkerPool | None = None
) -> tuple[list[VoiceResult], list[SpeechWindow], Metrics]:
    """16 kHz PCM through a voice stage (with speech windows) in whole 100 ms chunks, on the
    stage's thread or in ``pool``'s worker: every result and window it published, and its metrics."""
    assert len(pcm) % CHUNK == 0, "whole chunks: each one gives a result"
    vad = ModelStore(Settings().models).require("silero_vad")
    chunks = len(pcm) // CHUNK

    async def scenario() -> tuple[list[VoiceResult], list[SpeechWindow], Metrics]:
        bus, metrics = InProcessBus(), Metrics()
        stage = VoiceStage("s1", bus, vad, DEFAULT_PROTOTYPES, metrics, segment_speech=True, workers=pool)
        voices: list[BusMessage] = []
        windows: list[BusMessage] = []
        bus.subscribe("s1", Topic.VOICE, voices.append)
        bus.subscribe("s1", Topic.SPEECH_WINDOW, windows.append)
        await stage.start()
        stage.set_prototypes(DEFAULT_PROTOTYPES)
        for i in range(0, len(pcm), CHUNK):
            bus.publish("s1", ReceivedAudio(AudioChunk(3000 + i // 16, pcm[i : i + CHUNK].tobytes(), 16000)))
            await asyncio.sleep(0.005)
        t0 = time.monotonic()  # every chunk analysed (a worker answers later than a thread)
        while len(voices) < chunks and time.monotonic() - t0 < 60:  # a worker process starts first
            await asyncio.sleep(0.02)
        stage.close()
        return of_type(VoiceResult, voices), of_type(SpeechWindow, windows), metrics

    return asyncio.run(scenario())


def assert_speech_was_analysed(
    pcm: npt.NDArray[np.int16], voices: list[VoiceResult], windows: list[SpeechWindow], metrics: Metrics
) -> None:
    """Every chunk gave features with its 10 ms frames; the speech was found and windowed."""
    chunks = len(pcm) // CHUNK
    assert all(isinstance(v, VoiceResult) for v in voices) and len(voices) == chunks, (len(voices), chunks)
    assert max(v.features.speaking_probability for v in voices) > 0.5
    assert all(v.mfcc.shape == (len(v.log_energy), N_MFCC) and len(v.log_energy) > 0 for v in voices)
    assert any(v.features.viseme != "sil" for v in voices)
    assert all(isinstance(w, SpeechWindow) for w in windows) and any(w.final for w in windows)
    assert 3000 + 200 <= [w for w in windows if w.final][0].start_ms <= 3000 + 700
    analysed = metrics.registry.get_sample_value("avatar_driver_stage_seconds_count", {"stage": "voice"})
    assert analysed is not None and analysed >= 20
