import numpy as np
import numpy.typing as npt

from avatar_mapping.action_units import AU_FROM_BLENDSHAPES, action_units
from avatar_mapping.vocabulary import ACTION_UNITS, ARKIT_INDEX, AU_INDEX


def bs(**weights: float) -> npt.NDArray[np.float64]:
    v = np.zeros(52)
    for k, w in weights.items():
        v[ARKIT_INDEX[k]] = w
    return v


def test_every_au_has_a_row() -> None:
    assert set(AU_FROM_BLENDSHAPES) == set(ACTION_UNITS)


def test_smile_gives_au12_and_duchenne_au06() -> None:
    au = action_units(bs(mouthSmileLeft=0.9, mouthSmileRight=0.7, eyeSquintLeft=0.4, eyeSquintRight=0.4))
    assert au[AU_INDEX["AU12"]] == np.float64(0.8)
    assert abs(au[AU_INDEX["AU06"]] - 2 * 0.4 * 0.8) < 1e-9
    assert au[AU_INDEX["AU04"]] == 0.0


def test_lips_part_is_jaw_or_lower_lip_minus_mouth_close() -> None:
    assert action_units(bs(jawOpen=0.6))[AU_INDEX["AU25"]] == 0.6
    assert abs(action_units(bs(jawOpen=0.6, mouthClose=0.5))[AU_INDEX["AU25"]] - 0.1) < 1e-9
    assert action_units(bs(mouthClose=0.5))[AU_INDEX["AU25"]] == 0.0


def test_output_is_within_unit_range() -> None:
    au = action_units(np.ones(52))
    assert au.min() >= 0.0 and au.max() <= 1.0
