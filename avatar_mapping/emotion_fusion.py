"""Late fusion of face and speech emotion, and the circumplex (valence, arousal, dominance). Pure.

Each modality gives class probabilities over EMOTIONS (face: AU prototypes or a
classifier; speech: SenseVoice's emotion logits) and/or an arousal estimate (speech
prosody), with a confidence. Sources below `min_confidence` are ignored; the others are
averaged with weight = confidence x the modality's reliability. Valence and dominance
come from the fused probabilities through per-class coordinates; arousal blends those
with measured arousal (prosody), each weighted by its confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from .vocabulary import EMOTIONS

# Pleasure-arousal-dominance of each class, after Russell & Mehrabian (1977), valence and
# dominance in -1..1, arousal rescaled to the protocol's 0..1 (0.5 = conversational calm).
CIRCUMPLEX: dict[str, tuple[float, float, float]] = {
    "neutral": (0.00, 0.50, 0.00),
    "happy": (0.76, 0.74, 0.35),
    "sad": (-0.63, 0.37, -0.33),
    "angry": (-0.51, 0.80, 0.25),
    "surprise": (0.40, 0.84, -0.13),
    "disgust": (-0.60, 0.68, 0.11),
    "fear": (-0.64, 0.80, -0.43),
}
_VAD = np.array([CIRCUMPLEX[e] for e in EMOTIONS])


@dataclass(frozen=True, eq=False)
class EmotionEvidence:
    """One modality's estimate: class probabilities and/or arousal, with a confidence 0..1."""

    source: str  # "au_prototypes", "face_cnn", "sensevoice", "prosody", ...
    confidence: float
    scores: NDArray[np.float64] | None = None  # over EMOTIONS, sums to 1
    arousal: float | None = None  # 0..1


@dataclass(frozen=True)
class FusionOptions:
    min_confidence: float = 0.3
    # Reliability of each kind of source relative to the others (documented in docs/voice.md).
    reliability: tuple[tuple[str, float], ...] = (
        ("face_cnn", 1.0),
        ("au_prototypes", 0.8),
        ("sensevoice", 0.7),
        ("prosody", 0.6),
        ("au_intensity", 0.5),
    )

    def weight(self, e: EmotionEvidence) -> float:
        if e.confidence < self.min_confidence:
            return 0.0
        return e.confidence * dict(self.reliability).get(e.source, 0.5)


@dataclass(frozen=True, eq=False)
class FusedEmotion:
    present: bool
    scores: NDArray[np.float64]  # over EMOTIONS; zeros when nothing is known
    valence: float | None  # -1..1
    arousal: float | None  # 0..1
    dominance: float | None  # -1..1
    confidence: float
    sources: tuple[str, ...]

    @classmethod
    def unknown(cls) -> FusedEmotion:
        return cls(False, np.zeros(len(EMOTIONS)), None, None, None, 0.0, ())

    @property
    def source(self) -> str:
        return "+".join(self.sources) if self.sources else "none"


def affect(
    scores: NDArray[np.float64] | None,
    measured: tuple[EmotionEvidence, ...] = (),
    scores_confidence: float = 1.0,
    options: FusionOptions = FusionOptions(),
) -> tuple[float | None, float | None, float | None]:
    """(valence, arousal, dominance) of class probabilities, arousal blended with measured arousal."""
    known = scores is not None and scores.any()
    v = a = d = None
    if known:
        v, a, d = (float(x) for x in np.asarray(scores) @ _VAD)
    weights = [(options.weight(e), e.arousal) for e in measured if e.arousal is not None]
    weights = [(w, x) for w, x in weights if w > 0]
    if weights:
        total = sum(w for w, _ in weights) + (scores_confidence if known else 0.0)
        a = (sum(w * x for w, x in weights) + (scores_confidence * a if a is not None else 0.0)) / total
    return v, a, d


def fuse_emotion(evidence: tuple[EmotionEvidence, ...], options: FusionOptions = FusionOptions()) -> FusedEmotion:
    used = [(options.weight(e), e) for e in evidence]
    used = [(w, e) for w, e in used if w > 0]
    if not used:
        return FusedEmotion.unknown()
    with_scores = [(w, e) for w, e in used if e.scores is not None and np.asarray(e.scores).any()]
    scores: NDArray[np.float64] = np.zeros(len(EMOTIONS))
    confidence = 0.0
    if with_scores:
        total = sum(w for w, _ in with_scores)
        # cast: a sum of one or more arrays (with_scores is not empty) is an array, never sum()'s start 0.
        scores = cast(NDArray[np.float64], sum(w * np.asarray(e.scores, np.float64) for w, e in with_scores)) / total
        scores = scores / scores.sum()
        confidence = max(e.confidence for _, e in with_scores)
    v, a, d = affect(scores, tuple(e for _, e in used if e.scores is None), confidence, options)
    return FusedEmotion(
        True, scores, v, a, d, max(confidence, max(e.confidence for _, e in used)), tuple(e.source for _, e in used)
    )
