"""FusedState: one moment of the user, face and voice together, as strategies see it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .emotion_prototypes import prototype_probabilities
from .features import FaceFeatures
from .voice import VoiceFeatures
from .vocabulary import EMOTIONS


@dataclass(frozen=True, eq=False)
class FusedState:
    face: FaceFeatures
    voice: VoiceFeatures = field(default_factory=VoiceFeatures.silent)
    # Probabilities over EMOTIONS; uniform-free: all zeros when nothing is known.
    emotion: np.ndarray = field(default_factory=lambda: np.zeros(len(EMOTIONS)))
    emotion_source: str = "none"

    @property
    def top_emotion(self) -> str | None:
        return EMOTIONS[int(np.argmax(self.emotion))] if self.emotion.any() else None


def fuse(face: FaceFeatures, voice: VoiceFeatures | None = None) -> FusedState:
    """Face (calibrated) and voice into one state. Emotion comes from the face's AU
    prototypes while no classifier is present."""
    voice = voice or VoiceFeatures.silent(face.capture_ms)
    if face.present:
        return FusedState(face, voice, prototype_probabilities(face.action_units), "au_prototypes")
    return FusedState(face, voice)
