"""Real photos warped so that one region of the face moves as an expression moves it.

The astronaut's face (scikit-image) is cropped to head and shoulders at 560 px; each warp is
a smooth displacement field (Gaussian bumps placed on the face's own landmarks, found once by
the face model) applied with cv2.remap, at a strength from 0 (the photo) to 1:
- close_mouth: the lower lip brought up to the upper one (her smile shows her teeth);
- puff: the cheeks between mouth corners and jaw pushed outward, the lips held still;
- nose_wrinkle: the nose wings and the upper lip beneath them drawn up;
- cheek_raise: the cheeks below the eyes pushed up, lifting the lower lids;
- blink: the upper lids drawn down over the eyes to the lower lids (the skin above follows:
  the brows show a seam at full strength; the face model still reads a closing eye).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision
from skimage import data


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


class WarpedFace:
    def __init__(self, model_path: Path) -> None:
        full = data.astronaut()
        self.image = cv2.resize(full[0:280, 80:360], (560, 560), interpolation=cv2.INTER_CUBIC)
        h, w = self.image.shape[:2]
        self._y, self._x = np.mgrid[0:h, 0:w].astype(np.float32)
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
        )
        with vision.FaceLandmarker.create_from_options(options) as landmarker:
            found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(self.image)))
        self.p = np.array([(q.x * w, q.y * h) for q in found.face_landmarks[0]])
        self.eyes = float(np.linalg.norm(self.p[33] - self.p[263]))

    def _bump(self, centre: np.ndarray, sigma: float) -> np.ndarray:
        bump: np.ndarray = np.exp(-((self._x - centre[0]) ** 2 + (self._y - centre[1]) ** 2) / (2 * sigma**2))
        return bump

    def _remap(self, image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """Content at x moves to x + (dx, dy) (inverse map: good for smooth, small fields)."""
        return cv2.remap(
            image,
            (self._x - dx).astype(np.float32),
            (self._y - dy).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )

    @cached_property
    def mouth_closed(self) -> np.ndarray:
        return self.close_mouth(1.0)

    def close_mouth(self, s: float) -> np.ndarray:
        p, e = self.p, self.eyes
        half_width = float(np.linalg.norm(p[61] - p[291])) / 2
        across = _smoothstep(1.3 * half_width, 0.9 * half_width, np.abs(self._x - (p[13, 0] + p[14, 0]) / 2))
        below = _smoothstep(p[13, 1] - 0.02 * e, p[14, 1], self._y) * _smoothstep(
            p[17, 1] + 0.35 * e, p[17, 1], self._y
        )
        return self._remap(self.image, np.zeros_like(self._x), -s * (p[14, 1] - p[13, 1]) * below * across)

    def puff(self, s: float) -> np.ndarray:
        """On the closed mouth (cheeks puff with the lips sealed)."""
        p, e = self.p, self.eyes
        mouth = (p[61] + p[291]) / 2
        half_width = float(np.linalg.norm(p[61] - p[291])) / 2
        lips_still = _smoothstep(
            1.0 * half_width, 1.6 * half_width, np.hypot(self._x - mouth[0], (self._y - mouth[1]) * 1.5)
        )
        dx = np.zeros_like(self._x)
        for corner, jaw, outward in ((61, 132, -1), (291, 361, 1)):
            dx += outward * s * 0.14 * e * self._bump(0.45 * p[corner] + 0.55 * p[jaw], 0.3 * e)
        return self._remap(self.mouth_closed, dx * lips_still, np.zeros_like(self._y))

    def nose_wrinkle(self, s: float) -> np.ndarray:
        p, e = self.p, self.eyes
        dy = np.zeros_like(self._y)
        for wing, lip in ((129, 37), (358, 267)):
            dy -= s * 0.06 * e * self._bump(0.6 * p[wing] + 0.4 * p[lip], 0.16 * e)
        return self._remap(self.image, np.zeros_like(self._x), dy)

    def cheek_raise(self, s: float) -> np.ndarray:
        p, e = self.p, self.eyes
        dy = np.zeros_like(self._y)
        for lower_lid in (145, 374):
            dy -= s * 0.1 * e * self._bump(p[lower_lid] + (0, 0.18 * e), 0.2 * e)
        return self._remap(self.image, np.zeros_like(self._x), dy)

    def blink(self, s: float, eyes: tuple[str, ...] = ("left", "right")) -> np.ndarray:
        """``eyes``: the subject's eyes to close ("left", "right")."""
        p, e = self.p, self.eyes
        dy = np.zeros_like(self._y)
        for side in eyes:
            upper, lower, a, b = (159, 145, 33, 133) if side == "right" else (386, 374, 263, 362)
            half_width = abs(p[a, 0] - p[b, 0]) / 2
            across = _smoothstep(1.4 * half_width, 1.0 * half_width, np.abs(self._x - (p[a, 0] + p[b, 0]) / 2))
            top = p[upper, 1] - 0.25 * e
            band = _smoothstep(top - 0.1 * e, top, self._y) * _smoothstep(
                p[lower, 1] + 0.02 * e, p[lower, 1] - 0.01 * e, self._y
            )
            dy += s * 1.1 * (p[lower, 1] - p[upper, 1]) * band * across
        return self._remap(self.image, np.zeros_like(self._x), dy)
