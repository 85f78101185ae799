"""Benchmark of the live voice path. Prints one JSON object; not a test.

CPU time per second of audio for each stage (resampling from 48 kHz, voice activity,
real-time visemes), on espeak-ng speech, the real-time path's added latency, and
SenseVoice's real-time factor where its weights are installed (null with the reason otherwise).

Usage: python bench/bench_voice.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.inference.audio import to_model_rate
from server.inference.espeak import speak
from server.inference.lookahead_visemes import LookaheadVisemes
from server.inference.realtime_visemes import HOP, RATE_HZ, WINDOW, RealtimeVisemes
from server.inference.speech_service import SpeechService
from server.inference.vad import VadOptions, VoiceActivityDetector
from server.models.store import ModelStore
from server.settings import Settings


def main() -> None:
    text = " ".join(["The quick brown fox jumps over the lazy dog, and then it rests for a while."] * 3)
    spoken = speak(text)
    audio = to_model_rate(spoken.audio, spoken.rate_hz)
    seconds = len(audio) / RATE_HZ
    audio48 = resample_poly(audio, 3, 1).astype(np.float32)
    chunk16, chunk48 = 1600, 4800  # 100 ms chunks

    t0 = time.process_time()
    for i in range(0, len(audio48), chunk48):
        to_model_rate(audio48[i : i + chunk48], 48000)
    resample = time.process_time() - t0

    vad = VoiceActivityDetector(VadOptions(ModelStore(Settings().models).require("silero_vad")))
    t0 = time.process_time()
    for i in range(0, len(audio), chunk16):
        vad.push_samples(audio[i : i + chunk16], 1000.0 * (i + chunk16) / RATE_HZ)
    vad_s = time.process_time() - t0

    rv = RealtimeVisemes()
    t0 = time.process_time()
    for i in range(0, len(audio), chunk16):
        rv.push(audio[i : i + chunk16], 1000.0 * (i + chunk16) / RATE_HZ)
    vis_s = time.process_time() - t0

    la = LookaheadVisemes()
    t0 = time.process_time()
    for i in range(0, len(audio), chunk16):
        chunk = audio[i : i + chunk16]
        la.push(chunk, 1000.0 * (i + chunk16) / RATE_HZ, bool(np.sqrt(np.mean(chunk**2)) > 0.01))
    lookahead_s = time.process_time() - t0

    print(
        json.dumps(
            {
                "sensevoice": sensevoice_rtf(audio, seconds),
                "audio_seconds": round(seconds, 2),
                "cpu_ms_per_audio_second": {
                    "resample_48k_to_16k": round(1000 * resample / seconds, 2),
                    "voice_activity": round(1000 * vad_s / seconds, 2),
                    "realtime_visemes": round(1000 * vis_s / seconds, 2),
                    "lookahead_visemes": round(1000 * lookahead_s / seconds, 2),
                },
                "realtime_visemes_added_latency_ms": {
                    "analysis_window_half": 1000.0 * WINDOW / 2 / RATE_HZ,
                    "hop": 1000.0 * HOP / RATE_HZ,
                    "note": "plus the client's audio chunking (100 ms chunks in the viewer: up to 100 ms)",
                },
                "targets": {"realtime_added_latency_le_50ms": 1000.0 * (WINDOW / 2 + HOP) / RATE_HZ <= 50},
            },
            indent=1,
        )
    )


def sensevoice_rtf(audio: np.ndarray, seconds: float) -> dict[str, float | str | None]:
    """Wall time / audio time on 1 s windows (the live path) and on the whole line."""
    speech = SpeechService.from_settings(Settings())
    status = speech.load()
    if not status.available:
        return {"rtf_1s_windows": None, "rtf_whole_line": None, "reason": status.reason}
    speech.recognize_blocking(audio[:RATE_HZ])  # warm-up
    t0 = time.perf_counter()
    n = 0
    for i in range(0, len(audio) - RATE_HZ, RATE_HZ):
        speech.recognize_blocking(audio[i : i + RATE_HZ])
        n += 1
    windows = (time.perf_counter() - t0) / max(n, 1)
    t0 = time.perf_counter()
    speech.recognize_blocking(audio)
    whole = time.perf_counter() - t0
    speech.close()
    return {"rtf_1s_windows": round(windows, 4), "rtf_whole_line": round(whole / seconds, 4), "device": status.reason}


if __name__ == "__main__":
    main()
