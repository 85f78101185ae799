"""FaceFeatures: what the face tracker measured in one video frame."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray

from .action_units import action_units
from .rotation import IDENTITY_QUAT, quat_from_euler
from .vocabulary import ACTION_UNITS, ARKIT_BLENDSHAPES, ARKIT_MIRROR_PERMUTATION


@dataclass(frozen=True, eq=False)
class HeadPose:
    """Head rotation relative to facing the camera; conventions in rotation.py."""

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    # Face centre in camera space (x right, y up, z toward the camera), centimetres.
    translation_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def quaternion(self) -> tuple[float, float, float, float]:
        return quat_from_euler(self.yaw_deg, self.pitch_deg, self.roll_deg)


@dataclass(frozen=True)
class EyeGaze:
    """Eye rotation relative to the head: yaw positive toward the subject's left, pitch positive down."""

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0


def _zeros(n: int) -> NDArray[np.float64]:
    return np.zeros(n, dtype=np.float64)


class FaceFeaturesExtras(TypedDict, total=False):
    """The FaceFeatures fields `FaceFeatures.from_blendshapes` takes by keyword."""

    confidence: float
    head: HeadPose
    left_eye: EyeGaze
    right_eye: EyeGaze
    mirrored: bool
    emotion_scores: NDArray[np.float64] | None
    faces_seen: int


@dataclass(frozen=True, eq=False)
class FaceFeatures:
    """One frame's face measurements. ``present=False`` carries neutral values."""

    present: bool
    capture_ms: int
    confidence: float = 0.0
    blendshapes: NDArray[np.float64] = field(default_factory=lambda: _zeros(len(ARKIT_BLENDSHAPES)))
    action_units: NDArray[np.float64] = field(default_factory=lambda: _zeros(len(ACTION_UNITS)))
    head: HeadPose = field(default_factory=HeadPose)
    left_eye: EyeGaze = field(default_factory=EyeGaze)
    right_eye: EyeGaze = field(default_factory=EyeGaze)
    mirrored: bool = False
    # The face-emotion classifier's probabilities over EMOTIONS, when one runs.
    emotion_scores: NDArray[np.float64] | None = None
    # How many faces the frame had; these features are the largest one's (one person is
    # tracked at a time). 0: none, or not counted (features that were not detected).
    faces_seen: int = 0

    @classmethod
    def absent(cls, capture_ms: int) -> FaceFeatures:
        return cls(present=False, capture_ms=capture_ms)

    @classmethod
    def from_blendshapes(
        cls, blendshapes: NDArray[np.float64], capture_ms: int, **kwargs: Unpack[FaceFeaturesExtras]
    ) -> FaceFeatures:
        """Features whose AUs are derived from the given 52 blendshape weights (confidence 1
        unless given: the face is known, not detected)."""
        b = np.clip(np.asarray(blendshapes, dtype=np.float64), 0.0, 1.0)
        kwargs.setdefault("confidence", 1.0)
        return cls(present=True, capture_ms=capture_ms, blendshapes=b, action_units=action_units(b), **kwargs)

    @property
    def blink_left(self) -> float:
        return float(self.blendshapes[8])

    @property
    def blink_right(self) -> float:
        return float(self.blendshapes[9])

    @property
    def head_quaternion(self) -> tuple[float, float, float, float]:
        return self.head.quaternion if self.present else IDENTITY_QUAT

    def blendshapes_by_name(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(ARKIT_BLENDSHAPES, self.blendshapes, strict=True)}

    def action_units_by_name(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(ACTION_UNITS, self.action_units, strict=True)}

    def mirror(self) -> FaceFeatures:
        """The same face seen in a mirror: left and right swapped everywhere."""
        tx, ty, tz = self.head.translation_cm
        return replace(
            self,
            blendshapes=self.blendshapes[list(ARKIT_MIRROR_PERMUTATION)],
            head=HeadPose(-self.head.yaw_deg, self.head.pitch_deg, -self.head.roll_deg, (-tx, ty, tz)),
            left_eye=EyeGaze(-self.right_eye.yaw_deg, self.right_eye.pitch_deg),
            right_eye=EyeGaze(-self.left_eye.yaw_deg, self.left_eye.pitch_deg),
            mirrored=not self.mirrored,
        )
