"""FusedState: one moment of the user, face and voice together, as strategies see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from .distress import distress
from .emotion_fusion import EmotionEvidence, FusedEmotion, affect, fuse_emotion
from .emotion_prototypes import expression_arousal, prototype_probabilities
from .features import FaceFeatures
from .vocabulary import EMOTIONS
from .voice_features import VoiceFeatures


@dataclass(frozen=True, eq=False)
class FusedState:
    face: FaceFeatures
    voice: VoiceFeatures = field(default_factory=VoiceFeatures.silent)
    # Probabilities over EMOTIONS given directly (tests, replays); otherwise fused from
    # the face's estimate and the voice's speech emotion on first use.
    emotion_scores: NDArray[np.float64] | None = None
    # False where inferring emotions is not allowed: no estimate at all, whatever is measured.
    emotion_inference: bool = True

    @cached_property
    def fused_emotion(self) -> FusedEmotion:
        if not self.emotion_inference:
            return FusedEmotion.unknown()
        if self.emotion_scores is not None:
            scores = np.asarray(self.emotion_scores, np.float64)
            return FusedEmotion(True, scores, *affect(scores), 1.0, ("given",))
        evidence: list[EmotionEvidence] = []
        if self.face.present:
            # The ensemble: the classifier (when it ran) and the AU prototypes as a second opinion.
            if self.face.emotion_scores is not None:
                # The CNN reads a sobbing face as happy; while the face shows distress (grief brows,
                # pressed lips with shut eyes) it is trusted less, down to ignored.
                cnn_confidence = self.face.confidence * (1.0 - distress(self.face.action_units))
                evidence.append(EmotionEvidence("face_cnn", cnn_confidence, self.face.emotion_scores))
            evidence.append(
                EmotionEvidence("au_prototypes", self.face.confidence, prototype_probabilities(self.face.action_units))
            )
            evidence.append(
                EmotionEvidence(
                    "au_intensity", self.face.confidence, arousal=expression_arousal(self.face.action_units)
                )
            )
        if self.voice.present:
            evidence += self.voice.speech_emotion
        return fuse_emotion(tuple(evidence))

    @property
    def emotion(self) -> NDArray[np.float64]:
        return self.fused_emotion.scores

    @property
    def emotion_source(self) -> str:
        return self.fused_emotion.source

    @property
    def top_emotion(self) -> str | None:
        return EMOTIONS[int(np.argmax(self.emotion))] if self.emotion.any() else None


def fuse(face: FaceFeatures, voice: VoiceFeatures | None = None, emotion_inference: bool = True) -> FusedState:
    """Face (calibrated) and voice into one state; emotion is fused when something reads it."""
    return FusedState(face, voice or VoiceFeatures.silent(face.capture_ms), emotion_inference=emotion_inference)
