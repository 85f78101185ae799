"""FaceCalibration.apply: the user's resting face and ranges, blinks, head and gaze, emotion baseline."""

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.face_calibration import ChannelCurves, FaceCalibration
from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.vocabulary import ARKIT_INDEX, EMOTIONS
from calibration.wizard import compute_table


def face(b: npt.ArrayLike, yaw: float = 0.0, gaze: float = 0.0) -> FaceFeatures:
    return FaceFeatures.from_blendshapes(
        np.asarray(b, float),
        0,
        head=HeadPose(yaw, 10.0, -2.0),
        left_eye=EyeGaze(gaze, 0.0),
        right_eye=EyeGaze(gaze, 0.0),
    )


def table(**kw: Any) -> FaceCalibration:
    neutral = np.full(52, 0.2)
    rng = np.full(52, 0.7)
    return FaceCalibration(
        channels=ChannelCurves(neutral=neutral, range=rng),
        head_neutral_deg=(0.0, 10.0, -2.0),
        gaze_offset_deg=(3.0, 0.0),
        gaze_range_deg=(12.5, 25.0),
        blink_open=(0.3, 0.3),
        blink_closed=(0.8, 0.8),
        **kw,
    )


def test_neutral_maps_to_zero_and_the_user_maximum_to_one() -> None:
    t = table()
    rest = t.apply(face(np.full(52, 0.2), gaze=3.0))
    assert np.allclose(rest.blendshapes, 0.0, atol=1e-9)
    assert (rest.head.pitch_deg, rest.head.roll_deg) == (0.0, 0.0)
    assert rest.left_eye.yaw_deg == 0.0
    peak = t.apply(face(np.full(52, 0.7), gaze=15.5))
    blinks = [ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"]]
    assert np.allclose(np.delete(peak.blendshapes, blinks), 1.0)
    assert np.allclose(peak.blendshapes[blinks], 0.8)  # blinks use the blink levels: (0.7 - 0.3) / (0.8 - 0.3)
    assert peak.left_eye.yaw_deg == pytest.approx(25.0)  # the user's own extreme -> the avatar's full range
    assert peak.action_units.max() > 0.9  # AUs follow the calibrated blendshapes


def test_blink_uses_the_users_own_open_and_closed_levels() -> None:
    b = np.full(52, 0.2)
    b[ARKIT_INDEX["eyeBlinkLeft"]] = 0.55  # halfway between this user's open 0.3 and closed 0.8
    assert table().apply(face(b)).blink_left == pytest.approx(0.5)


def test_curves_and_dead_zone() -> None:
    c = ChannelCurves(curve=("gamma",) * 52, gamma=np.full(52, 2.0), dead_zone=np.full(52, 0.1))
    t = FaceCalibration(channels=c)
    out = t.apply(face(np.full(52, 0.55))).blendshapes
    assert out[0] == pytest.approx(0.25)  # ((0.55 - 0.1) / 0.9) ** 2
    assert t.apply(face(np.full(52, 0.05))).blendshapes[0] == 0.0  # inside the dead zone
    s = FaceCalibration(channels=ChannelCurves(curve=("sigmoid",) * 52, gain=np.full(52, 2.0)))
    v = s.apply(face(np.array([0.0, 0.5, 1.0] + [0.0] * 49))).blendshapes
    assert v[0] == pytest.approx(0.0) and v[1] == pytest.approx(0.5) and v[2] == pytest.approx(1.0)


def test_identity_changes_nothing() -> None:
    f = face(np.linspace(0, 1, 52), yaw=7.0)
    assert FaceCalibration().apply(f) is f


def test_the_resting_face_is_removed_from_classifier_scores() -> None:
    """A user whose resting face the classifier reads as sad reads neutral at rest after
    calibration, and a smile still reads happy."""

    def face(scores: list[float]) -> FaceFeatures:
        return FaceFeatures.from_blendshapes(np.zeros(52), 0, emotion_scores=np.array(scores))

    resting = [0.25, 0.02, 0.6, 0.05, 0.02, 0.03, 0.03]  # neutral, happy, sad, ...: "sad" at rest
    t = compute_table("glum", {"neutral": [face(resting)] * 10})
    assert t.emotion_baseline == pytest.approx(resting)

    def top(f: FaceFeatures) -> str:
        scores = t.apply(f).emotion_scores
        assert scores is not None
        return EMOTIONS[int(np.argmax(scores))]

    assert EMOTIONS[int(np.argmax(resting))] == "sad" and top(face(resting)) == "neutral"
    smile = [0.2, 0.45, 0.3, 0.01, 0.02, 0.01, 0.01]
    assert top(face(smile)) == "happy"
