"""Recorded lines -> animation timelines (the NPC dialogue use case of POST /v1/animate)."""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np

from avatar_mapping.vocabulary import VISEMES

from .inference.audio import MODEL_RATE_HZ, to_model_rate
from .inference.timed_visemes import timed_phones, viseme_track
from .inference.vad import VadOptions, VoiceActivityDetector


class AnimateError(ValueError):
    pass


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate from 16-bit PCM WAV bytes (stereo is averaged)."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != 2:
                raise AnimateError(f"WAV must be 16-bit PCM, got {8 * w.getsampwidth()}-bit")
            rate, channels = w.getframerate(), w.getnchannels()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as e:
        raise AnimateError(f"not a readable WAV file: {e}") from None
    if rate not in (16000, 22050, 44100, 48000):
        raise AnimateError(f"sample rate must be 16000, 22050, 44100 or 48000 Hz, got {rate}")
    samples = pcm.reshape(-1, channels).mean(axis=1).astype(np.float32) / 32768.0
    if len(samples) == 0:
        raise AnimateError("the WAV file has no samples")
    return samples, rate


def animate(wav: bytes, transcript: str | None, rate_hz: float, vad_model) -> dict[str, Any]:
    """A viseme timeline at rate_hz with speaking probability, from a WAV and its transcript."""
    if not 1.0 <= rate_hz <= 120.0:
        raise AnimateError("rate_hz must be from 1 to 120")
    samples, rate = read_wav(wav)
    audio = to_model_rate(samples, rate)
    duration_ms = 1000.0 * len(audio) / MODEL_RATE_HZ
    phones, method = timed_phones(audio, transcript)
    track = viseme_track(phones, duration_ms, rate_hz)
    vad = VoiceActivityDetector(VadOptions(vad_model))
    vad_frames = vad.push_samples(audio, duration_ms)
    vad_t = np.array([f.end_ms for f in vad_frames])
    vad_p = np.array([f.probability for f in vad_frames])
    frames = []
    for i, w in enumerate(track):
        t_ms = (i + 0.5) * 1000.0 / rate_hz
        k = int(np.searchsorted(vad_t, t_ms)) if len(vad_t) else 0
        frames.append({
            "t_ms": round(t_ms, 1),
            "viseme": VISEMES[int(np.argmax(w))],
            "viseme_conf": round(float(w.max()), 4),
            "visemes": {v: round(float(x), 4) for v, x in zip(VISEMES, w) if x > 0.0},
            "speaking_probability": round(float(vad_p[min(k, len(vad_p) - 1)]), 4) if len(vad_p) else 0.0,
        })
    return {
        "duration_ms": round(duration_ms, 1),
        "rate_hz": rate_hz,
        "method": method,  # "alignment" (with the transcript) or "recognition"
        "phones": [{"phone": p.name, "viseme": p.viseme, "start_ms": p.start_ms, "end_ms": p.end_ms} for p in phones],
        "frames": frames,
    }
