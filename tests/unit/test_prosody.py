"""Arousal from prosody on espeak-ng speech spoken calmly and excitedly."""

import numpy as np

from server.inference.audio import to_model_rate
from server.inference.espeak import speak
from server.inference.prosody import ProsodyEstimate, estimate

TEXT = "I cannot believe what just happened in the market this morning."


def arousal(words_per_minute: int, pitch: int, volume: int, pitch_range: int) -> ProsodyEstimate:
    s = speak(TEXT, words_per_minute=words_per_minute, pitch=pitch, volume=volume, pitch_range=pitch_range)
    return estimate(to_model_rate(s.audio, s.rate_hz))


def test_excited_speech_has_more_arousal_than_calm_speech() -> None:
    calm = arousal(words_per_minute=120, pitch=25, volume=40, pitch_range=20)
    excited = arousal(words_per_minute=230, pitch=80, volume=180, pitch_range=90)
    assert calm.arousal is not None and excited.arousal is not None
    print(f"arousal calm {calm.arousal:.2f}, excited {excited.arousal:.2f}")
    assert excited.arousal > calm.arousal + 0.3
    assert excited.cues["f0_median_hz"] > calm.cues["f0_median_hz"]
    assert calm.confidence > 0.5 and excited.confidence > 0.5 and calm.source == "prosody"


def test_silence_and_noise_give_no_estimate() -> None:
    assert estimate(np.zeros(32000, np.float32)).arousal is None
    noise = np.random.default_rng(0).normal(0, 0.001, 32000).astype(np.float32)
    e = estimate(noise)
    assert e.arousal is None and e.confidence == 0.0
