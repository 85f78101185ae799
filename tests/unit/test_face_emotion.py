"""The face-emotion CNN on real faces, through the face tracker's aligned crop."""

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.vocabulary import EMOTIONS
from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.face_emotion import FaceEmotionClassifier, FaceEmotionOptions
from server.inference.input_frame import Frame
from server.models.store import ModelStore
from server.settings import Settings


@pytest.fixture(scope="module")
def emotion_model() -> Path:
    return ModelStore(Settings().models).require("face_emotion")


def test_the_astronaut_reads_happy_and_the_scores_are_probabilities(
    model_path: Path, emotion_model: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    with FaceTracker(FaceTrackerOptions(model_path, mode="image", emotion_model=emotion_model)) as t:
        f = t.process(Frame(astronaut, 0))
    assert f.emotion_scores is not None
    assert f.emotion_scores.shape == (len(EMOTIONS),) and f.emotion_scores.sum() == pytest.approx(1.0, abs=1e-5)
    assert EMOTIONS[int(np.argmax(f.emotion_scores))] == "happy"


def test_the_crop_is_aligned_so_a_tilted_head_reads_the_same(
    model_path: Path, emotion_model: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    """Rotating the photo 20 degrees: the eye-levelled crop gives nearly the same scores."""
    h, w = astronaut.shape[:2]
    tilted = cv2.warpAffine(
        astronaut, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h), borderMode=cv2.BORDER_REFLECT
    )
    with FaceTracker(FaceTrackerOptions(model_path, mode="image", emotion_model=emotion_model)) as t:
        upright, rotated = t.process(Frame(astronaut, 0)), t.process(Frame(np.ascontiguousarray(tilted), 1))
    assert upright.emotion_scores is not None and rotated.emotion_scores is not None
    assert np.abs(upright.emotion_scores - rotated.emotion_scores).max() < 0.1


def test_crop_geometry(emotion_model: Path) -> None:
    """A synthetic face: the crop is the model's size and centred on the landmarks."""
    c = FaceEmotionClassifier(FaceEmotionOptions(emotion_model))
    rgb = np.zeros((200, 200, 3), np.uint8)
    cv2.circle(rgb, (100, 100), 40, (255, 255, 255), -1)
    landmarks = np.array([(100 + 40 * np.cos(a), 100 + 40 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 478)])
    crop = c.crop(rgb, landmarks)
    assert crop.shape == (64, 64) and crop[32, 32] == 255 and crop[0, 0] == 0


def test_the_faceapi_network_reads_the_astronaut_as_happy_too(
    model_path: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    model = ModelStore(Settings().models).require("face_emotion_faceapi")
    c = FaceEmotionClassifier(FaceEmotionOptions(model))
    assert not c.grey and c.size == (112, 112)
    with FaceTracker(FaceTrackerOptions(model_path, mode="image", emotion_model=model)) as t:
        f = t.process(Frame(astronaut, 0))
    assert f.emotion_scores is not None and EMOTIONS[int(np.argmax(f.emotion_scores))] == "happy"


def test_at_the_emotion_rate_the_cnn_runs_once_per_interval_and_its_scores_carry_over(
    model_path: Path,
    emotion_model: Path,
    astronaut: npt.NDArray[np.uint8],
    cat: npt.NDArray[np.uint8],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Live sessions classify at the emotion rate (100 ms), not at every 33 ms frame."""
    options = FaceTrackerOptions(model_path, mode="video", emotion_model=emotion_model, emotion_interval_ms=100.0)
    with FaceTracker(options) as t:
        runs = []
        assert t._emotion is not None
        real = t._emotion.classify

        def counted(rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
            runs.append(1)
            return real(rgb, landmarks_px)

        monkeypatch.setattr(t._emotion, "classify", counted)
        faces = [t.process(Frame(astronaut, 33 * i)) for i in range(9)]  # 0 .. 264 ms
        assert len(runs) == 3  # at 0, 132 and 264 ms: each the first frame 100 ms or more after the last run
        assert all(
            f.emotion_scores is not None and EMOTIONS[int(np.argmax(f.emotion_scores))] == "happy" for f in faces
        )
        assert (
            t.process(Frame(np.ascontiguousarray(cv2.resize(cat, astronaut.shape[1::-1])), 300)).emotion_scores is None
        )
        t.process(Frame(astronaut, 333))  # the face is back: classified at once
        assert len(runs) == 4
