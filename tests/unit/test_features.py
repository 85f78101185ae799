import numpy as np

from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.vocabulary import ARKIT_INDEX


def test_absent_is_neutral() -> None:
    f = FaceFeatures.absent(123)
    assert not f.present and f.capture_ms == 123
    assert not f.blendshapes.any() and not f.action_units.any()
    assert np.allclose(f.head_quaternion, [0, 0, 0, 1])


def test_mirror_swaps_sides_consistently_and_twice_is_identity() -> None:
    b = np.zeros(52)
    b[ARKIT_INDEX["eyeBlinkLeft"]] = 0.9
    b[ARKIT_INDEX["mouthLeft"]] = 0.4
    f = FaceFeatures.from_blendshapes(
        b,
        5,
        head=HeadPose(12.0, 4.0, -7.0, (3.0, 1.0, -50.0)),
        left_eye=EyeGaze(10.0, 2.0),
        right_eye=EyeGaze(6.0, 3.0),
    )
    m = f.mirror()
    assert m.blink_right == 0.9 and m.blink_left == 0.0
    assert m.blendshapes[ARKIT_INDEX["mouthRight"]] == 0.4
    assert (m.head.yaw_deg, m.head.pitch_deg, m.head.roll_deg) == (-12.0, 4.0, 7.0)
    assert m.head.translation_cm == (-3.0, 1.0, -50.0)
    assert m.left_eye == EyeGaze(-6.0, 3.0) and m.right_eye == EyeGaze(-10.0, 2.0)
    mm = m.mirror()
    assert np.array_equal(mm.blendshapes, f.blendshapes) and mm.left_eye == f.left_eye and not mm.mirrored
