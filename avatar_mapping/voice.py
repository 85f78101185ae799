"""VoiceFeatures: what the audio path measured at one moment (the voice issue fills it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .vocabulary import VISEMES


@dataclass(frozen=True, eq=False)
class VoiceFeatures:
    """``present=False`` means no audio analysis (no microphone consent, or no voice model)."""

    present: bool
    capture_ms: int
    speaking_probability: float = 0.0
    visemes: np.ndarray = field(default_factory=lambda: np.zeros(len(VISEMES)))  # weights, order of VISEMES
    viseme_conf: float = 0.0
    # Speech emotion: arousal 0..1 and its confidence, and where it came from ("prosody").
    arousal: float | None = None
    emotion_confidence: float = 0.0
    emotion_source: str | None = None

    @classmethod
    def silent(cls, capture_ms: int = 0) -> "VoiceFeatures":
        return cls(present=False, capture_ms=capture_ms)

    @property
    def viseme(self) -> str:
        return VISEMES[int(np.argmax(self.visemes))] if self.visemes.any() else "sil"
