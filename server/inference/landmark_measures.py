"""Shape measures of the face from MediaPipe's 478 landmarks, for the channels its blendshape
model barely moves (avatar_mapping/geometric_channels.py turns them into blendshapes).

Every measure is a ratio of 3D distances between landmarks (x and y in pixels, z in MediaPipe's
depth units, which are pixels at the image's width), divided by the distance between the outer
eye corners: a face turning or coming closer changes none of them much. The only module that
knows which mesh indices make a cheek, a nose wing or a lower lid.
"""

from __future__ import annotations

import numpy as np

from avatar_mapping.geometric_channels import MEASURES

# Mesh indices (MediaPipe's canonical face mesh; "left" is the subject's left).
OUTER_EYE_CORNERS = (33, 263)
CHEEK_CONTOUR_PAIRS = ((58, 288), (132, 361), (172, 397), (215, 435))  # right, left at mouth height
NOSE_WING = {"left": 358, "right": 129}
INNER_EYE_CORNER = {"left": 362, "right": 133}
LOWER_LID = {"left": 374, "right": 145}
EYE_CORNERS = {"left": (263, 362), "right": (33, 133)}
INNER_LIPS = (13, 14)


def landmarks_3d(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """(478, 3) normalised MediaPipe landmarks (x, y in 0..1, z relative) -> one unit in all axes."""
    return points * np.array([width, height, width], dtype=np.float64)


def measure(p: np.ndarray) -> np.ndarray:
    """The MEASURES of one face, in their order, from (478, 3) landmarks in one unit."""

    def dist(a: int, b: int) -> float:
        return float(np.linalg.norm(p[a] - p[b]))

    eyes = dist(*OUTER_EYE_CORNERS)
    if eyes <= 1e-9:
        return np.zeros(len(MEASURES))

    def lid_height(side: str) -> float:
        """How far the lower lid sits below the line through the eye's corners, over the
        eye's width: a raised cheek pushes the lid up and this falls."""
        a, b = (p[i] for i in EYE_CORNERS[side])
        width = float(np.linalg.norm(b - a))
        return float(np.linalg.norm(np.cross(b - a, p[LOWER_LID[side]] - a)) / max(width, 1e-9) ** 2)

    values = {
        "cheek_width": float(np.mean([dist(a, b) for a, b in CHEEK_CONTOUR_PAIRS])) / eyes,
        "nose_wing_eye_left": dist(NOSE_WING["left"], INNER_EYE_CORNER["left"]) / eyes,
        "nose_wing_eye_right": dist(NOSE_WING["right"], INNER_EYE_CORNER["right"]) / eyes,
        "lower_lid_left": lid_height("left"),
        "lower_lid_right": lid_height("right"),
        "lip_gap": dist(*INNER_LIPS) / eyes,
    }
    return np.array([values[m] for m in MEASURES])
