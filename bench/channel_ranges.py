"""Where each ARKit channel comes from, and the range it spans on real faces. Prints JSON; not
a test (docs/face-tracking.md has the table).

Real faces: scikit-image's 200 Labeled-Faces-in-the-Wild crops (25×25, upscaled to 256 as
tests/conftest.py does) and its astronaut photo, through the real face model (image mode). Per
channel: the share of faces where it exceeds 0.1, and its p5 / p50 / p95 / max over the faces
tracked.

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

from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES  # noqa: E402
from server.inference.face import FaceTracker, FaceTrackerOptions  # noqa: E402
from server.inference.frame import frame_from_rgb  # noqa: E402
from server.models.store import ModelStore  # noqa: E402
from server.settings import Settings  # noqa: E402


def faces() -> list[np.ndarray]:
    out = []
    for face in data.lfw_subset():
        gray = cv2.resize((face * 255).astype(np.uint8), (256, 256), interpolation=cv2.INTER_CUBIC)
        out.append(np.ascontiguousarray(np.dstack([gray] * 3)))
    out.append(np.ascontiguousarray(data.astronaut()))
    return out


def main() -> None:
    tracker = FaceTracker(FaceTrackerOptions(ModelStore(Settings().models).require("face_landmarker")))
    rows = []
    try:
        for rgb in faces():
            f = tracker.process(frame_from_rgb(rgb.tobytes(), rgb.shape[1], rgb.shape[0], 0, 1 << 22))
            if f.present:
                rows.append(f.blendshapes)
    finally:
        tracker.close()
    values = np.array(rows)
    table = {name: {"active_share": round(float((values[:, i] > 0.1).mean()), 3),
                    **{k: round(float(np.percentile(values[:, i], q)), 3) for k, q in (("p5", 5), ("p50", 50),
                                                                                       ("p95", 95))},
                    "max": round(float(values[:, i].max()), 3)} for i, name in enumerate(ARKIT_BLENDSHAPES)}
    print(json.dumps({"faces_tracked": len(rows), "of": len(faces()), "channels": table}, indent=1))


if __name__ == "__main__":
    main()
