"""face-api's expression net converted to ONNX gives the original's outputs: compared with a
NumPy implementation of face-api's tfjs layers (tests/support/faceapi_reference.py), real weights."""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pytest

from server.models.convert_faceapi_onnx import CLASSES, MEAN_RGB, SIZE, convert, load_tfjs_weights
from server.models.store import ModelStore
from server.settings import Settings
from tests.support.faceapi_reference import forward

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def sources() -> tuple[Path, Path]:
    store = ModelStore(Settings().models)
    return store.require("faceapi_expression_manifest"), store.require("faceapi_expression_weights")


def test_weights_dequantise_to_the_manifest_shapes(sources: tuple[Path, Path]) -> None:
    w = load_tfjs_weights(*sources)
    assert w["dense0/conv0/filters"].shape == (3, 3, 3, 32) and w["fc/weights"].shape == (256, len(CLASSES))
    assert len(w) == 49 and all(np.isfinite(v).all() for v in w.values())


def test_the_converted_graph_matches_the_reference(
    sources: tuple[Path, Path], tmp_path: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    import cv2

    onnx_path = convert(*sources, tmp_path / "faceapi.onnx")
    face = cv2.resize(astronaut[30:230, 150:350], (SIZE, SIZE)).astype(np.float32)
    noise = np.random.default_rng(1).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    x = (np.concatenate([noise, face[None]]) - np.array(MEAN_RGB, np.float32)) / 255.0
    reference = forward(load_tfjs_weights(*sources), x)
    out = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.transpose(0, 3, 1, 2).astype(np.float32)}
    )[0]
    assert np.abs(out - reference).max() < TOLERANCE


def test_a_truncated_weights_file_is_refused(sources: tuple[Path, Path], tmp_path: Path) -> None:
    short = tmp_path / "short.bin"
    short.write_bytes(sources[1].read_bytes()[:-10])
    with pytest.raises(ValueError):
        load_tfjs_weights(sources[0], short)
