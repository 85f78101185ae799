"""Late fusion of face and speech emotion, and the circumplex."""

import numpy as np
import pytest

from avatar_mapping.emotion_fusion import CIRCUMPLEX, EmotionEvidence, affect, fuse_emotion
from avatar_mapping.vocabulary import EMOTIONS


def onehot(name: str, p: float = 1.0) -> np.ndarray:
    v = np.full(len(EMOTIONS), (1 - p) / (len(EMOTIONS) - 1))
    v[EMOTIONS.index(name)] = p
    return v


def test_confidence_weighted_average_of_class_scores() -> None:
    face = EmotionEvidence("au_prototypes", 0.9, onehot("happy"))
    voice = EmotionEvidence("sensevoice", 0.9, onehot("sad"))
    f = fuse_emotion((face, voice))
    # weights 0.9 x 0.8 and 0.9 x 0.7: the face leads, the voice is heard.
    assert f.scores[EMOTIONS.index("happy")] == pytest.approx(0.8 / 1.5)
    assert f.scores[EMOTIONS.index("sad")] == pytest.approx(0.7 / 1.5)
    assert f.sources == ("au_prototypes", "sensevoice") and f.source == "au_prototypes+sensevoice"


def test_low_confidence_modalities_are_ignored() -> None:
    f = fuse_emotion(
        (EmotionEvidence("au_prototypes", 0.95, onehot("angry")), EmotionEvidence("sensevoice", 0.1, onehot("happy")))
    )
    assert np.allclose(f.scores, onehot("angry")) and f.sources == ("au_prototypes",)
    assert not fuse_emotion((EmotionEvidence("sensevoice", 0.2, onehot("happy")),)).present


def test_valence_dominance_from_classes_and_arousal_blends_prosody() -> None:
    f = fuse_emotion((EmotionEvidence("au_prototypes", 1.0, onehot("happy")),))
    assert (f.valence, f.arousal, f.dominance) == pytest.approx(CIRCUMPLEX["happy"])
    calm = EmotionEvidence("prosody", 1.0, arousal=0.1)
    g = fuse_emotion((EmotionEvidence("au_prototypes", 1.0, onehot("happy")), calm))
    # arousal: (1.0 x 0.74 + 0.6 x 0.1) / 1.6 -- the class arousal and the measured one
    assert g.arousal == pytest.approx((0.74 + 0.6 * 0.1) / 1.6) and g.valence == pytest.approx(0.76)


def test_prosody_alone_gives_arousal_and_no_made_up_valence() -> None:
    f = fuse_emotion((EmotionEvidence("prosody", 0.8, arousal=0.9),))
    assert f.present and not f.scores.any()
    assert f.arousal == pytest.approx(0.9) and f.valence is None and f.dominance is None
    assert affect(None) == (None, None, None)


def test_a_strongly_moving_face_raises_arousal() -> None:
    from avatar_mapping.emotion_prototypes import expression_arousal
    from avatar_mapping.vocabulary import AU_INDEX

    still = np.zeros(len(AU_INDEX))
    startled = still.copy()
    for au in ("AU01", "AU02", "AU05", "AU26"):
        startled[AU_INDEX[au]] = 0.9
    assert expression_arousal(still) == 0.5 and expression_arousal(startled) == pytest.approx(0.95)
