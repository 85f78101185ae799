"""Real people's resting faces as a webcam would show them, through the real face model.

scikit-image's Labeled Faces in the Wild crops (25 px, upscaled to 256 as tests/conftest.py
does) of people at rest — eyes open, mouth closed, no smile, facing the camera — made into a
short video: each frame turned and moved a little (a person sitting still sways by a degree or
two and a few pixels) with a webcam's sensor noise, tracked by the real FaceTracker in video
mode, so the shape-estimated channels (cheekPuff, noseSneer*, cheekSquint*) and the gaze
jitter as they do live.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from skimage import data

from avatar_mapping.features import FaceFeatures

# LFW subset indices of faces at rest that the neutral step accepts (eyes open, mouth closed,
# no smile, facing the camera), tracked in every frame of their video. The wizard's old check
# (90th percentile 0.08 above rest) took No. 12's resting face for a nose wrinkle.
RESTING = (12, 63, 92)


def resting_face(index: int) -> npt.NDArray[np.uint8]:
    """One LFW crop, upscaled to 256 px, as RGB."""
    face = (data.lfw_subset()[index] * 255).astype(np.uint8)
    gray = cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(np.dstack([gray] * 3))


def sitting_still(img: npt.NDArray[np.uint8], frames: int, seed: int = 0) -> list[npt.NDArray[np.uint8]]:
    """``frames`` frames of a photo swaying slowly (±1.5°, ±3 px) with sensor noise (σ 3 levels)."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    out = []
    for i in range(frames):
        angle = 1.5 * np.sin(i / 11.0)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        m[:, 2] += (3.0 * np.sin(i / 7.0), 3.0 * np.cos(i / 13.0))
        moved = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT).astype(np.float64)
        out.append(np.ascontiguousarray(np.clip(moved + rng.normal(0, 3.0, moved.shape), 0, 255).astype(np.uint8)))
    return out


def tracked_video(model_path: Path, frames: list[npt.NDArray[np.uint8]], fps: float = 30.0) -> list[FaceFeatures]:
    """Each frame's features from one FaceTracker in video mode (frames ``1/fps`` apart)."""
    from server.inference.face import FaceTracker, FaceTrackerOptions
    from server.inference.input_frame import Frame

    with FaceTracker(FaceTrackerOptions(model_path, mode="video")) as tracker:
        return [tracker.process(Frame(rgb, int(i * 1000 / fps))) for i, rgb in enumerate(frames)]
