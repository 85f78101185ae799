"""Speech arousal from prosody, the fallback when no speech-emotion model is available.

Over the last `window_s` of speech: loudness (RMS dB), pitch (autocorrelation F0: median
and spread), speaking rate (loudness-envelope peaks per second, a syllable proxy) and
spectral tilt (energy above vs below 1 kHz). Each is standardised against documented
reference values for conversational speech and combined into arousal in 0..1. Valence is
not estimated: prosody does not tell pleasant from unpleasant reliably.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

RATE_HZ = 16000
FRAME = 640  # 40 ms for pitch
# Reference mean and spread of each cue in calm conversational speech, and its weight.
REFERENCE = {
    "loudness_db": (-22.0, 6.0, 0.35),
    "f0_median_hz": (140.0, 45.0, 0.25),
    "f0_spread_hz": (25.0, 15.0, 0.15),
    "syllables_per_s": (4.0, 1.5, 0.10),
    "tilt_db": (-12.0, 6.0, 0.15),
}


@dataclass(frozen=True)
class ProsodyEstimate:
    arousal: float | None  # 0 calm .. 1 excited; None without enough voiced speech
    confidence: float
    cues: dict[str, float]
    source: str = "prosody"


def _f0(frame: np.ndarray) -> float | None:
    """Autocorrelation pitch in 70..400 Hz, or None when unvoiced."""
    x = frame - frame.mean()
    if np.sqrt(np.mean(x * x)) < 0.01:
        return None
    ac = np.correlate(x, x, mode="full")[len(x) - 1 :]
    lo, hi = RATE_HZ // 400, RATE_HZ // 70
    lag = lo + int(np.argmax(ac[lo:hi]))
    return RATE_HZ / lag if ac[lag] > 0.3 * ac[0] else None


def estimate(audio_16k: np.ndarray) -> ProsodyEstimate:
    """Arousal of a stretch of speech (a second or more works best)."""
    frames = [audio_16k[i : i + FRAME] for i in range(0, len(audio_16k) - FRAME + 1, FRAME)]
    pitches = [p for p in (_f0(f) for f in frames) if p is not None]
    voiced = len(pitches) / max(len(frames), 1)
    if len(pitches) < 5:
        return ProsodyEstimate(None, 0.0, {})
    # Octave errors of the autocorrelation (halving, doubling) would swamp the spread.
    median = float(np.median(pitches))
    pitches = [p for p in pitches if 0.6 * median <= p <= 1.6 * median]
    rms = np.sqrt(np.mean(audio_16k**2)) + 1e-9
    envelope = np.array([np.sqrt(np.mean(f**2)) for f in frames])
    peaks, _ = find_peaks(envelope, prominence=0.3 * envelope.max(), distance=3)  # >= 120 ms apart
    spectrum = np.abs(np.fft.rfft(audio_16k)) ** 2
    freqs = np.fft.rfftfreq(len(audio_16k), 1 / RATE_HZ)
    tilt = 10 * np.log10((spectrum[freqs >= 1000].sum() + 1e-12) / (spectrum[freqs < 1000].sum() + 1e-12))
    cues = {
        "loudness_db": float(20 * np.log10(rms)),
        "f0_median_hz": median,
        "f0_spread_hz": float(np.percentile(pitches, 90) - np.percentile(pitches, 10)),
        "syllables_per_s": float(len(peaks) / (len(audio_16k) / RATE_HZ)),
        "tilt_db": float(tilt),
    }
    z = sum(w * (cues[k] - mean) / spread for k, (mean, spread, w) in REFERENCE.items())
    arousal = float(1.0 / (1.0 + np.exp(-1.5 * z)))
    return ProsodyEstimate(arousal, float(min(1.0, voiced * 1.5)), cues)
