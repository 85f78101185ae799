"""Hand-made feature values and calibration tables: exact numbers, no model involved."""

from __future__ import annotations

from typing import Any

import numpy as np

from avatar_mapping.face_calibration import ChannelCurves
from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from calibration.table import CalibrationTable


def sample_face(k: float) -> FaceFeatures:
    """A face whose every value follows ``k`` (blendshapes, head, time), for sequences."""
    return FaceFeatures.from_blendshapes(
        np.linspace(0, 1, 52) * k / 3.0,
        int(k * 33),
        confidence=0.9,
        head=HeadPose(k, -k, 0.5, (1.0, 2.0, -50.0)),
        left_eye=EyeGaze(1.0, 2.0),
        right_eye=EyeGaze(3.0, 4.0),
        emotion_scores=np.full(7, 1 / 7),
    )


def awkward_face() -> FaceFeatures:
    """Values whose decimal forms are long, so an inexact codec would show."""
    rng = np.random.default_rng(7)
    return FaceFeatures.from_blendshapes(
        rng.random(52),
        1_700_000_000_123,
        confidence=1 / 3,
        head=HeadPose(0.1 + 0.2, -1 / 7, 2**-30, (1e-300, -2.5, -55.0)),
        left_eye=EyeGaze(1 / 3, 2 / 3),
        right_eye=EyeGaze(-1 / 9, 0.0),
        emotion_scores=rng.dirichlet(np.ones(7)),
    )


def example_table(**overrides: Any) -> CalibrationTable:
    """A user's calibration table with every part set (neutral 0.2, range 0.7 on all channels)."""
    return CalibrationTable(
        user_id="u",
        channels=ChannelCurves(neutral=np.full(52, 0.2), range=np.full(52, 0.7)),
        head_neutral_deg=(0.0, 10.0, -2.0),
        gaze_offset_deg=(3.0, 0.0),
        gaze_range_deg=(12.5, 25.0),
        blink_open=(0.3, 0.3),
        blink_closed=(0.8, 0.8),
        emotion_baseline=(0.25, 0.02, 0.6, 0.05, 0.02, 0.03, 0.03),
        **overrides,
    )
