"""Benchmark of the live voice path. Prints one JSON object; not a test.

CPU time per second of audio for each stage (resampling from 48 kHz, voice activity,
real-time visemes), on espeak-ng speech, and the real-time path's added latency.

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

from server.inference.audio import to_model_rate  # noqa: E402
from server.inference.espeak import speak  # noqa: E402
from server.inference.realtime_visemes import HOP, RATE_HZ, WINDOW, RealtimeVisemes  # noqa: E402
from server.inference.vad import VadOptions, VoiceActivityDetector  # noqa: E402
from server.models.store import ModelStore  # noqa: E402
from server.settings import Settings  # noqa: E402


def main() -> None:
    text = " ".join(["The quick brown fox jumps over the lazy dog, and then it rests for a while."] * 3)
    spoken = speak(text)
    audio = to_model_rate(spoken.audio, spoken.rate_hz)
    seconds = len(audio) / RATE_HZ
    audio48 = resample_poly(audio, 3, 1).astype(np.float32)
    chunk16, chunk48 = 1600, 4800  # 100 ms chunks

    t0 = time.process_time()
    for i in range(0, len(audio48), chunk48):
        to_model_rate(audio48[i:i + chunk48], 48000)
    resample = time.process_time() - t0

    vad = VoiceActivityDetector(VadOptions(ModelStore(Settings().models).require("silero_vad")))
    t0 = time.process_time()
    for i in range(0, len(audio), chunk16):
        vad.push_samples(audio[i:i + chunk16], 1000.0 * (i + chunk16) / RATE_HZ)
    vad_s = time.process_time() - t0

    rv = RealtimeVisemes()
    t0 = time.process_time()
    for i in range(0, len(audio), chunk16):
        rv.push(audio[i:i + chunk16], 1000.0 * (i + chunk16) / RATE_HZ)
    vis_s = time.process_time() - t0

    print(json.dumps({
        "audio_seconds": round(seconds, 2),
        "cpu_ms_per_audio_second": {"resample_48k_to_16k": round(1000 * resample / seconds, 2),
                                    "voice_activity": round(1000 * vad_s / seconds, 2),
                                    "realtime_visemes": round(1000 * vis_s / seconds, 2)},
        "realtime_visemes_added_latency_ms": {
            "analysis_window_half": 1000.0 * WINDOW / 2 / RATE_HZ,
            "hop": 1000.0 * HOP / RATE_HZ,
            "note": "plus the client's audio chunking (100 ms chunks in the viewer: up to 100 ms)"},
        "targets": {"realtime_added_latency_le_50ms": 1000.0 * (WINDOW / 2 + HOP) / RATE_HZ <= 50},
    }, indent=1))


if __name__ == "__main__":
    main()
