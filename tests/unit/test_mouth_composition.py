"""The channel-wise split of the mouth between the face and the voice (issue 25, item 3)."""

import numpy as np
import pytest

from avatar_mapping.mouth_composition import ARTICULATION, EXPRESSION, compose_mouth
from avatar_mapping.strategies import MOUTH, VISEME_ARKIT
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, ARKIT_INDEX


def test_every_mouth_channel_is_either_articulation_or_expression() -> None:
    assert not (ARTICULATION & EXPRESSION).any()
    assert ((ARTICULATION | EXPRESSION) == MOUTH).all()
    # Every channel a viseme moves is articulation, but for E's slight smile.
    moved = {n for shape in VISEME_ARKIT.values() for n in shape}
    assert {n for n in moved if not ARTICULATION[ARKIT_INDEX[n]]} == {"mouthSmileLeft", "mouthSmileRight"}


def test_the_voice_articulates_and_the_face_keeps_its_expression() -> None:
    face = np.zeros(len(ARKIT_BLENDSHAPES))
    face[[ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["jawOpen"], ARKIT_INDEX["browInnerUp"]]] = [0.9, 0.1, 0.5]
    voice = np.zeros_like(face)
    voice[[ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]]] = [0.5, 0.2, 0.2]
    assert compose_mouth(face, voice, 0.0) is face
    half = compose_mouth(face, voice, 0.5)
    assert half[ARKIT_INDEX["jawOpen"]] == pytest.approx(0.3)  # a ramp
    assert half[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.9)  # never lowered
    assert half[ARKIT_INDEX["mouthSmileRight"]] == pytest.approx(0.1)  # raised to w * voice
    assert half[ARKIT_INDEX["browInnerUp"]] == pytest.approx(0.5)
    rests = compose_mouth(face, None, 1.0)  # a rig with viseme targets
    assert rests[ARKIT_INDEX["jawOpen"]] == 0.0 and rests[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.9)
