"""Shape measures from the landmarks, and the channels they drive, on warped real photos.

A video of the astronaut's face: a second at rest (the tracker learns her neutral), then the
same face warped more and more (tests/support/face_warps.py). The channel MediaPipe leaves near zero
must rise with every step of the warp."""

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from avatar_mapping.features import FaceFeatures
from avatar_mapping.vocabulary import ACTION_UNITS, ARKIT_INDEX
from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.input_frame import Frame
from server.inference.landmark_measures import measure
from tests.support.face_warps import WarpedFace

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def warped(model_path: Path) -> WarpedFace:
    return WarpedFace(model_path)


def track_sequence(
    model_path: Path, rest: np.ndarray, warp: Callable[[float], np.ndarray], geometric: bool = True
) -> list[FaceFeatures]:
    """Features of the last frame at each strength, after 1 s of the rest frame (30 fps)."""
    options = FaceTrackerOptions(model_path, mode="video", geometric_channels=geometric)
    out: list[FaceFeatures] = []
    t = 0
    with FaceTracker(options) as tracker:
        for _ in range(30):
            tracker.process(Frame(rest, t))
            t += 33
        for s in STRENGTHS:
            image = np.ascontiguousarray(warp(s))
            for _ in range(4):
                f = tracker.process(Frame(image, t))
                t += 33
            assert f.present
            out.append(f)
    return out


def channel(faces: list[FaceFeatures], *names: str) -> list[float]:
    return [float(np.mean([f.blendshapes[ARKIT_INDEX[n]] for n in names])) for f in faces]


def rises(values: list[float], total: float) -> bool:
    """Each step up (within the landmarks' jitter, 0.02) and the whole rise at least `total`."""
    return all(b >= a - 0.02 for a, b in pairwise(values)) and values[-1] - values[0] >= total


def assert_both_sides_rise(faces: list[FaceFeatures], channel_name: str, total: float) -> None:
    for side in ("Left", "Right"):
        values = channel(faces, f"{channel_name}{side}")
        print(f"{channel_name}{side}", np.round(values, 3))
        assert values[0] < 0.1 and rises(values, total)


def test_puffed_cheeks_read_cheek_puff(model_path: Path, warped: WarpedFace) -> None:
    faces = track_sequence(model_path, warped.mouth_closed, warped.puff)
    puff = channel(faces, "cheekPuff")
    print("cheekPuff", np.round(puff, 3))
    assert puff[0] < 0.1 and rises(puff, 0.25)
    plain = channel(track_sequence(model_path, warped.mouth_closed, warped.puff, geometric=False), "cheekPuff")
    assert max(plain) < 0.02  # what MediaPipe alone says
    # The mesh draws the nose wings up as the cheeks widen; that is not taken for a sneer.
    assert max(channel(faces, "noseSneerLeft", "noseSneerRight")) < 0.1


def test_a_wrinkled_nose_reads_nose_sneer_and_action_units_9_and_10(model_path: Path, warped: WarpedFace) -> None:
    faces = track_sequence(model_path, warped.image, warped.nose_wrinkle)
    assert_both_sides_rise(faces, "noseSneer", 0.25)

    def au(f: FaceFeatures, name: str) -> float:
        return float(f.action_units[ACTION_UNITS.index(name)])

    assert au(faces[-1], "AU09") > au(faces[0], "AU09") + 0.2
    assert au(faces[-1], "AU10") > au(faces[0], "AU10") + 0.2


def test_raised_cheeks_read_cheek_squint(model_path: Path, warped: WarpedFace) -> None:
    assert_both_sides_rise(track_sequence(model_path, warped.image, warped.cheek_raise), "cheekSquint", 0.12)


def test_a_face_that_only_moves_reads_no_expression(model_path: Path, warped: WarpedFace) -> None:
    """The measures are 3D ratios: the same face rolling and coming closer and farther reads
    (nearly) the same; what is left is the landmarks' jitter under the dead band."""
    import cv2

    options = FaceTrackerOptions(model_path, mode="video")
    values, t = [], 0
    with FaceTracker(options) as tracker:
        for i in range(90):
            angle, scale = 10 * np.sin(i / 9), 1.0 - 0.1 * (1 - np.cos(i / 7))
            m = cv2.getRotationMatrix2D((280, 280), angle, scale)
            f = tracker.process(
                Frame(
                    np.ascontiguousarray(cv2.warpAffine(warped.image, m, (560, 560), borderMode=cv2.BORDER_REFLECT)), t
                )
            )
            t += 33
            values.append(
                [
                    f.blendshapes[ARKIT_INDEX[n]]
                    for n in ("cheekPuff", "noseSneerLeft", "noseSneerRight", "cheekSquintLeft", "cheekSquintRight")
                ]
            )
    read = np.array(values)
    print("p95", np.percentile(read, 95, axis=0).round(3), "max", read.max(axis=0).round(3))
    assert np.percentile(read, 95) < 0.05 and read.max() < 0.2


def test_measures_are_ratios_of_the_face_itself() -> None:
    rng = np.random.default_rng(0)
    p = rng.normal(size=(478, 3)) * 50
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    moved = 3.0 * p @ rotation.T + (10, -4, 7)
    np.testing.assert_allclose(measure(moved), measure(p), rtol=1e-9)
    assert not measure(np.zeros((478, 3))).any()  # a degenerate face: zeros, not a division by zero
