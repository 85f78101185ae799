"""Where each ARKit channel comes from, and the range it spans on real faces. Prints JSON; not
a test (docs/face-tracking.md has the table).

Real faces: scikit-image's 200 Labeled-Faces-in-the-Wild crops (25×25, upscaled to 256 as
tests/conftest.py does) and its astronaut photo, through the real face model (image mode). Per
channel: the share of faces where it exceeds 0.1, and its p5 / p50 / p95 / max over the faces
tracked. Single photos get no shape estimates (avatar_mapping/geometric_channels.py needs a
video's neutral); the spread of the shape measures across these faces (p10…p90, relative to
the median) shows why: it is as large as a full expression's change.

Usage: python bench/channel_ranges.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

from avatar_mapping.geometric_channels import MEASURES
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES
from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.input_frame import frame_from_rgb
from server.inference.landmark_measures import landmarks_3d, measure
from server.models.store import ModelStore
from server.settings import Settings


def faces() -> list[np.ndarray]:
    out = []
    for face in data.lfw_subset():
        gray = cv2.resize((face * 255).astype(np.uint8), (256, 256), interpolation=cv2.INTER_CUBIC)
        out.append(np.ascontiguousarray(np.dstack([gray] * 3)))
    out.append(np.ascontiguousarray(data.astronaut()))
    return out


def percentiles(values: np.ndarray) -> dict[str, float]:
    return {
        "active_share": round(float((values > 0.1).mean()), 3),
        **{k: round(float(np.percentile(values, q)), 3) for k, q in (("p5", 5), ("p50", 50), ("p95", 95))},
        "max": round(float(values.max()), 3),
    }


def shape_measures(model: Path, images: list[np.ndarray]) -> np.ndarray:
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)), running_mode=vision.RunningMode.IMAGE, num_faces=1
    )
    out = []
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        for rgb in images:
            found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            if found.face_landmarks:
                p = np.array([(q.x, q.y, q.z) for q in found.face_landmarks[0]])
                out.append(measure(landmarks_3d(p, rgb.shape[1], rgb.shape[0])))
    return np.array(out)


def main() -> None:
    model = ModelStore(Settings().models).require("face_landmarker")
    rows = []
    with FaceTracker(FaceTrackerOptions(model, mode="image")) as tracker:
        for rgb in faces():
            f = tracker.process(frame_from_rgb(rgb.tobytes(), rgb.shape[1], rgb.shape[0], 0, 1 << 22))
            if f.present:
                rows.append(f.blendshapes)
    values = np.array(rows)
    table = {name: percentiles(values[:, i]) for i, name in enumerate(ARKIT_BLENDSHAPES)}
    measures = shape_measures(model, faces())
    spread = {}
    for i, m in enumerate(MEASURES[:-1]):  # the lip gap is read absolutely
        median = np.median(measures[:, i])
        spread[m] = {
            "median": round(float(median), 3),
            "p10_p90_relative": [round(float(np.percentile(measures[:, i], q) / median - 1), 3) for q in (10, 90)],
        }
    print(
        json.dumps(
            {"faces_tracked": len(rows), "of": len(faces()), "channels": table, "shape_measure_spread": spread},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
