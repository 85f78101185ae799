"""A NumPy forward pass of a Keras 2 model, written from Keras/TensorFlow layer semantics
(NHWC, TF "same" padding), independent of the ONNX converter: the tests compare the two."""

from __future__ import annotations

import numpy as np

from server.models.keras_model import KerasModel


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _pad(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], padding: str, value: float = 0.0) -> np.ndarray:
    if padding != "same":
        return x
    (top, bottom), (left, right) = _same_pads(x.shape[1], k[0], s[0]), _same_pads(x.shape[2], k[1], s[1])
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    """(N, OH, OW, kh, kw, C) views of x."""
    n, h, w, c = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    st = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, k[0], k[1], c), (st[0], st[1] * s[0], st[2] * s[1], st[1], st[2], st[3])
    )


def conv2d(
    x: np.ndarray, kernel: np.ndarray, strides: tuple[int, int], padding: str, bias: np.ndarray | None = None
) -> np.ndarray:
    k = kernel.shape[:2]
    win = _windows(_pad(x, k, strides, padding), k, strides)
    y: np.ndarray = np.einsum("nhwijc,ijco->nhwo", win, kernel)
    return y + bias if bias is not None else y


def depthwise(x: np.ndarray, kernel: np.ndarray, strides: tuple[int, int], padding: str) -> np.ndarray:
    k = kernel.shape[:2]
    win = _windows(_pad(x, k, strides, padding), k, strides)
    y: np.ndarray = np.einsum("nhwijc,ijc->nhwc", win, kernel[..., 0])
    return y


def forward(model: KerasModel, x_nhwc: np.ndarray) -> np.ndarray:
    values: dict[str, np.ndarray] = {}
    for layer in model.layers:
        c, w = layer.config, layer.weights
        x = values[layer.inputs[0]] if layer.inputs else x_nhwc.astype(np.float64)
        if layer.kind == "InputLayer":
            y = x
        elif layer.kind == "Conv2D":
            y = conv2d(x, w["kernel"], tuple(c["strides"]), c["padding"], w.get("bias") if c["use_bias"] else None)
        elif layer.kind == "SeparableConv2D":
            y = conv2d(
                depthwise(x, w["depthwise_kernel"], tuple(c["strides"]), c["padding"]),
                w["pointwise_kernel"],
                (1, 1),
                "valid",
            )
        elif layer.kind == "BatchNormalization":
            y = (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"]) * w["gamma"] + w["beta"]
        elif layer.kind == "Activation":
            y = _act(x, c["activation"])
        elif layer.kind == "MaxPooling2D":
            k, s = tuple(c["pool_size"]), tuple(c["strides"])
            y = _windows(_pad(x, k, s, c["padding"], -np.inf), k, s).max(axis=(3, 4))
        elif layer.kind == "Add":
            total = sum(values[i] for i in layer.inputs)
            assert isinstance(total, np.ndarray)  # an Add has inputs: never the empty sum, 0
            y = total
        elif layer.kind == "GlobalAveragePooling2D":
            y = x.mean(axis=(1, 2))
        else:
            raise NotImplementedError(layer.kind)
        if layer.kind in ("Conv2D", "SeparableConv2D"):
            y = _act(y, c.get("activation", "linear"))
        values[layer.name] = y
    return values[model.output]


def _act(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "relu":
        relu: np.ndarray = np.maximum(x, 0)
        return relu
    if kind == "softmax":
        z = np.exp(x - x.max(axis=-1, keepdims=True))
        softmax: np.ndarray = z / z.sum(axis=-1, keepdims=True)
        return softmax
    return x
