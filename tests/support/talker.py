"""Real read speech through the real live voice path, as VoiceFeatures at a video rate: the
microphone half of a smiling talker (the face half: a real photo through the FaceTracker)."""

from __future__ import annotations

import wave

import numpy as np

from avatar_mapping.voice_features import VoiceFeatures
from server.inference.voice_analyzer import VoiceAnalyzer
from server.models.store import ModelStore
from server.settings import Settings
from server.tools.train_visemes import LIBRIVOX

RATE_HZ = 16000
# One LibriVox clip of pocketsphinx-testdata (a woman reading Austen, 16 kHz mono).
CLIP = "sense_and_sensibility_01_austen_64kb-0870.wav"


def librivox_voice(seconds: float, fps: int = 30) -> list[VoiceFeatures]:
    """The first ``seconds`` of the clip, pushed in chunks of one video frame; the newest
    VoiceFeatures after each chunk (the first frames, before a viseme frame completes, are
    silent features)."""
    with wave.open(str(LIBRIVOX / CLIP)) as w:
        assert w.getframerate() == RATE_HZ and w.getnchannels() == 1  # the package's format
        pcm = np.frombuffer(w.readframes(int(seconds * RATE_HZ)), "<i2")
    analyzer = VoiceAnalyzer(ModelStore(Settings().models).require("silero_vad"), prosody=False)
    hop = RATE_HZ // fps
    out: list[VoiceFeatures] = []
    last = VoiceFeatures(True, 0)
    for k in range(len(pcm) // hop):
        v = analyzer.push(pcm[k * hop : (k + 1) * hop].tobytes(), RATE_HZ, 1000.0 * k * hop / RATE_HZ)
        last = v or last
        out.append(last)
    return out
