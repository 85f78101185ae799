"""VoiceFeatures: what the audio path measured at one moment."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .emotion_fusion import EmotionEvidence
from .vocabulary import VISEMES

# MFCCs per 10 ms audio frame: what the real-time visemes classify, the bus carries beside
# VoiceFeatures and a user's voice calibration keeps per viseme.
N_MFCC = 13


@dataclass(frozen=True, eq=False)
class VoiceFeatures:
    """``present=False`` means no audio analysis (no microphone consent, or no voice model)."""

    present: bool
    capture_ms: int
    speaking_probability: float = 0.0
    visemes: NDArray[np.float64] = field(default_factory=lambda: np.zeros(len(VISEMES)))  # weights, order of VISEMES
    viseme_conf: float = 0.0
    # Speech emotion, one entry per source: SenseVoice class scores, prosody arousal.
    speech_emotion: tuple[EmotionEvidence, ...] = ()

    @classmethod
    def silent(cls, capture_ms: int = 0) -> VoiceFeatures:
        return cls(present=False, capture_ms=capture_ms)

    @property
    def viseme(self) -> str:
        return VISEMES[int(np.argmax(self.visemes))] if self.visemes.any() else "sil"
