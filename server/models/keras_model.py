"""A Keras 2 functional model stored as HDF5: its layer graph and weights, read with h5py.

Shared by the ONNX converter and the tests' NumPy reference, so neither needs TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SUPPORTED = (
    "InputLayer",
    "Conv2D",
    "SeparableConv2D",
    "BatchNormalization",
    "Activation",
    "MaxPooling2D",
    "Add",
    "GlobalAveragePooling2D",
)


class KerasModelError(ValueError):
    pass


@dataclass(frozen=True)
class KerasLayer:
    kind: str
    name: str
    config: dict[str, Any]
    inputs: tuple[str, ...]
    weights: dict[str, np.ndarray]  # "kernel", "bias", "depthwise_kernel", "gamma", ...


@dataclass(frozen=True)
class KerasModel:
    layers: tuple[KerasLayer, ...]  # in topological order, as Keras saved them
    input_shape: tuple[int, ...]  # (height, width, channels)
    output: str

    @classmethod
    def load(cls, path: Path) -> KerasModel:
        import h5py

        with h5py.File(path, "r") as f:
            config = json.loads(f.attrs["model_config"])
            if config.get("class_name") != "Model":
                raise KerasModelError(f"{path}: a Keras functional Model was expected, got {config.get('class_name')}")
            stored = f["model_weights"]
            layers = []
            for entry in config["config"]["layers"]:
                kind, name = entry["class_name"], entry["name"]
                if kind not in SUPPORTED:
                    raise KerasModelError(f"{path}: layer {name} of type {kind} is not supported")
                weights = _layer_weights(stored[name]) if name in stored else {}
                nodes = entry.get("inbound_nodes") or []
                inputs = tuple(n[0] for n in nodes[0]) if nodes else ()
                layers.append(KerasLayer(kind, name, entry["config"], inputs, weights))
            outputs = config["config"]["output_layers"]
            batch_shape = layers[0].config["batch_input_shape"]
        return cls(tuple(layers), tuple(batch_shape[1:]), outputs[0][0])


def _layer_weights(group: Any) -> dict[str, np.ndarray]:
    """A layer's stored arrays by their short names ("kernel", "bias", ...): the last part of
    each dataset's path without its ":0" suffix."""
    weights: dict[str, np.ndarray] = {}

    def keep(key: str, item: Any) -> None:
        if hasattr(item, "shape"):
            weights[key.rsplit("/", 1)[-1].split(":")[0]] = np.array(item)

    group.visititems(keep)
    return weights
