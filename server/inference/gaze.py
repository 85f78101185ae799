"""Eye gaze from iris landmarks and eyeLook blendshapes.

Iris: the iris centre's offset from the middle of the eye opening, in half eye
widths, is about 0.8 * sin(angle) for an eyeball of 12 mm radius in a 30 mm wide
opening. Blendshapes: eyeLook* at 1.0 is taken as ``eye_range_deg`` of rotation.
The two estimates are averaged (weights in GazeWeights).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from avatar_mapping.features import EyeGaze
from avatar_mapping.vocabulary import ARKIT_INDEX

# MediaPipe face mesh indices (subject's own left/right).
RIGHT_EYE = {"outer": 33, "inner": 133, "upper": 159, "lower": 145, "iris": 468}
LEFT_EYE = {"outer": 263, "inner": 362, "upper": 386, "lower": 374, "iris": 473}
IRIS_TO_SIN = 0.8


@dataclass(frozen=True)
class GazeWeights:
    iris_yaw: float = 0.5
    iris_pitch: float = 0.3
    eye_range_deg: float = 30.0


def iris_angles(points: np.ndarray, eye: dict[str, int]) -> tuple[float, float]:
    """(outward_deg, down_deg) of one eye from pixel-space landmarks (N, 2)."""
    outer, inner, iris = points[eye["outer"]], points[eye["inner"]], points[eye["iris"]]
    axis = outer - inner
    half_width = np.linalg.norm(axis) / 2.0
    if half_width < 1e-6:
        return 0.0, 0.0
    u = axis / (2.0 * half_width)
    down = np.array([-u[1], u[0]])  # image y grows downward
    if down[1] < 0:
        down = -down
    centre = (outer + inner) / 2.0
    lids_mid = (points[eye["upper"]] + points[eye["lower"]]) / 2.0
    h = float(np.dot(iris - centre, u)) / half_width
    v = float(np.dot(iris - lids_mid, down)) / half_width

    def to_deg(x: float | np.floating[Any]) -> float:
        return math.degrees(math.asin(max(-1.0, min(1.0, x / IRIS_TO_SIN))))

    return to_deg(h), to_deg(v)


def eye_gaze(points: np.ndarray, blendshapes: np.ndarray, w: GazeWeights = GazeWeights()) -> tuple[EyeGaze, EyeGaze]:
    """(left, right) eye gaze. Yaw is positive toward the subject's left, pitch positive down."""
    b: Callable[[str], float] = lambda n: float(blendshapes[ARKIT_INDEX[n]])  # noqa: E731
    r = w.eye_range_deg
    # Looking "out" with the left eye and "in" with the right eye both turn toward the subject's left.
    left_bs = ((b("eyeLookOutLeft") - b("eyeLookInLeft")) * r, (b("eyeLookDownLeft") - b("eyeLookUpLeft")) * r)
    right_bs = ((b("eyeLookInRight") - b("eyeLookOutRight")) * r, (b("eyeLookDownRight") - b("eyeLookUpRight")) * r)
    l_out, l_down = iris_angles(points, LEFT_EYE)
    r_out, r_down = iris_angles(points, RIGHT_EYE)
    left_iris, right_iris = (l_out, l_down), (-r_out, r_down)

    def mix(bs: tuple[float, float], iris: tuple[float, float]) -> EyeGaze:
        return EyeGaze(
            yaw_deg=w.iris_yaw * iris[0] + (1 - w.iris_yaw) * bs[0],
            pitch_deg=w.iris_pitch * iris[1] + (1 - w.iris_pitch) * bs[1],
        )

    return mix(left_bs, left_iris), mix(right_bs, right_iris)
