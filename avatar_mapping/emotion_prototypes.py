"""Emotion probabilities from action units by the EMFACS prototypes. Pure.

Evidence for an emotion is the mean intensity of its prototype's AUs; neutral has a
constant evidence; a softmax with a temperature turns evidence into probabilities.
AU16 (lower lip depressor) is not measured, so disgust uses its AU10 variant.

A crying face shows AU06+AU12 too (squeezed eyes, stretched lips): its ``distress``
(distress.py) takes that much away from happiness and gives it to sadness, so sobbing does
not read as joy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .distress import distress
from .vocabulary import ACTION_UNITS, AU_INDEX, EMOTIONS

PROTOTYPES: dict[str, tuple[str, ...]] = {
    "happy": ("AU06", "AU12"),
    "sad": ("AU01", "AU04", "AU15"),
    "surprise": ("AU01", "AU02", "AU05", "AU26"),
    "fear": ("AU01", "AU02", "AU04", "AU05", "AU07", "AU20", "AU26"),
    "angry": ("AU04", "AU05", "AU07", "AU23"),
    "disgust": ("AU09", "AU15", "AU10"),
}
NEUTRAL_EVIDENCE = 0.2
TEMPERATURE = 0.08
# Sadness evidence of a fully crying face (above neutral's, below a full prototype's 1).
DISTRESS_SADNESS = 0.5


def _matrix() -> NDArray[np.float64]:
    m = np.zeros((len(EMOTIONS), len(ACTION_UNITS)))
    for emotion, aus in PROTOTYPES.items():
        for au in aus:
            m[EMOTIONS.index(emotion), AU_INDEX[au]] = 1.0 / len(aus)
    return m


_M = _matrix()
_NEUTRAL = EMOTIONS.index("neutral")
_HAPPY, _SAD = EMOTIONS.index("happy"), EMOTIONS.index("sad")


def prototype_probabilities(aus: NDArray[np.float64]) -> NDArray[np.float64]:
    """Probabilities over EMOTIONS (neutral, happy, sad, angry, surprise, disgust, fear)."""
    aus = np.asarray(aus, dtype=np.float64)
    evidence = _M @ aus
    evidence[_NEUTRAL] = NEUTRAL_EVIDENCE
    crying = distress(aus)
    if crying > 0.0:
        evidence[_HAPPY] *= 1.0 - crying
        evidence[_SAD] = max(evidence[_SAD], DISTRESS_SADNESS * crying)
    z = np.exp((evidence - evidence.max()) / TEMPERATURE)
    probabilities: NDArray[np.float64] = z / z.sum()
    return probabilities


_ACTIVE = sorted({AU_INDEX[au] for aus in PROTOTYPES.values() for au in aus})


def expression_arousal(aus: NDArray[np.float64]) -> float:
    """Arousal 0..1 from how strongly the face moves: 0.5 (calm) at rest, rising with the
    mean of the three strongest prototype AUs (a wide-eyed, open-mouthed face is aroused
    whatever the class)."""
    strongest = np.sort(np.asarray(aus, dtype=np.float64)[_ACTIVE])[-3:]
    return float(0.5 + 0.5 * np.clip(strongest.mean(), 0.0, 1.0))
