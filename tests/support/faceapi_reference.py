"""A NumPy forward pass of face-api's expression network, written from face-api's tfjs code
(denseBlock4, depthwiseSeparableConv, avgPool, fullyConnectedLayer), independent of the ONNX
converter: the tests compare the two."""

from __future__ import annotations

import numpy as np

from tests.support.keras_reference import conv2d, depthwise


def _sep(x: np.ndarray, w: dict[str, np.ndarray], prefix: str, stride: int) -> np.ndarray:
    y = depthwise(x, w[f"{prefix}/depthwise_filter"], (stride, stride), "same")
    return conv2d(y, w[f"{prefix}/pointwise_filter"], (1, 1), "valid", w[f"{prefix}/bias"])


def forward(w: dict[str, np.ndarray], x_nhwc: np.ndarray) -> np.ndarray:
    """x: normalised input (N, 112, 112, 3); returns softmax probabilities (N, 7)."""
    x = x_nhwc.astype(np.float64)

    def relu(v: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(v, 0)
        return out

    for b in range(4):
        p = f"dense{b}"
        c0 = (
            conv2d(x, w[f"{p}/conv0/filters"], (2, 2), "same", w[f"{p}/conv0/bias"])
            if b == 0
            else _sep(x, w, f"{p}/conv0", 2)
        )
        out1 = relu(c0)
        out2 = _sep(out1, w, f"{p}/conv1", 1)
        out3 = _sep(relu(out1 + out2), w, f"{p}/conv2", 1)
        out4 = _sep(relu(out1 + (out2 + out3)), w, f"{p}/conv3", 1)
        x = relu(out1 + (out2 + (out3 + out4)))
    pooled = x.mean(axis=(1, 2))  # a 7x7 pool over the 7x7 map (stride 2, valid): one cell
    logits = pooled @ w["fc/weights"] + w["fc/bias"]
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities: np.ndarray = z / z.sum(axis=1, keepdims=True)
    return probabilities
