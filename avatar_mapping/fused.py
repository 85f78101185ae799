"""FusedState: one moment of the user, face and voice together, as strategies see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .emotion_prototypes import prototype_probabilities
from .features import FaceFeatures
from .voice import VoiceFeatures
from .vocabulary import EMOTIONS


@dataclass(frozen=True, eq=False)
class FusedState:
    face: FaceFeatures
    voice: VoiceFeatures = field(default_factory=VoiceFeatures.silent)
    # Probabilities over EMOTIONS, all zeros when nothing is known. With source
    # "au_prototypes" and no array given, they are computed from the face on first use.
    emotion_scores: np.ndarray | None = None
    emotion_source: str = "none"

    @cached_property
    def emotion(self) -> np.ndarray:
        if self.emotion_scores is not None:
            return self.emotion_scores
        if self.emotion_source == "au_prototypes" and self.face.present:
            return prototype_probabilities(self.face.action_units)
        return np.zeros(len(EMOTIONS))

    @property
    def top_emotion(self) -> str | None:
        return EMOTIONS[int(np.argmax(self.emotion))] if self.emotion.any() else None


def fuse(face: FaceFeatures, voice: VoiceFeatures | None = None) -> FusedState:
    """Face (calibrated) and voice into one state. Emotion comes from the face's AU
    prototypes while no classifier is present (computed only when something reads it)."""
    voice = voice or VoiceFeatures.silent(face.capture_ms)
    return FusedState(face, voice, None, "au_prototypes" if face.present else "none")
