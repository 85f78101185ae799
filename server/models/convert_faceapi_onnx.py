"""face-api's expression network (tfjs weights manifest + .bin, from npm @vladmandic/face-api)
-> ONNX, built node by node from the original weights.

The network (face-api's FaceFeatureExtractor + FaceExpressionNet): input 112x112 RGB,
normalised as (rgb - mean) / 255 with mean (122.782, 117.001, 104.298); four dense blocks
(32, 64, 128, 256 channels), each
    out1 = relu(conv0(x))            stride 2; a 3x3 conv in the first block, else separable
    out2 = sep(out1)
    out3 = sep(relu(out1 + out2))
    out4 = sep(relu(out1 + out2 + out3))
    y = relu(out1 + out2 + out3 + out4)
where sep is a 3x3 depthwise and a 1x1 pointwise convolution plus bias ("same" padding);
then a 7x7 average pool (stride 2, valid), a 256 -> 7 fully connected layer and a softmax
over (neutral, happy, sad, angry, fearful, disgusted, surprised). Weights are stored as
uint8 with a per-tensor scale and minimum: w = q * scale + min.

Run as ``python -m server.models.convert_faceapi_onnx MANIFEST.json WEIGHTS.bin OUT.onnx``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .onnx_graph import INPUT, OUTPUT, GraphBuilder

SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)
CLASSES = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
_DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8}


def load_tfjs_weights(manifest: Path, weights: Path) -> dict[str, np.ndarray]:
    """Name -> float32 array (NHWC / HWIO layouts as tfjs keeps them), dequantised."""
    groups = json.loads(Path(manifest).read_text())
    data = Path(weights).read_bytes()
    out, offset = {}, 0
    for group in groups:
        for w in group["weights"]:
            q = w.get("quantization")
            dtype = _DTYPES[q["dtype"] if q else w["dtype"]]
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            raw = np.frombuffer(data, dtype=dtype, count=n, offset=offset)
            offset += n * np.dtype(dtype).itemsize
            values = raw.astype(np.float32) * q["scale"] + q["min"] if q else raw.astype(np.float32)
            out[w["name"]] = values.reshape(w["shape"])
    if offset != len(data):
        raise ValueError(f"{weights}: the manifest describes {offset} bytes, the file has {len(data)}")
    return out


def convert(manifest: Path, weights: Path, onnx_path: Path) -> Path:
    w = load_tfjs_weights(manifest, weights)
    g = GraphBuilder()

    def separable(x: str, prefix: str, stride: int) -> str:
        depthwise = w[f"{prefix}/depthwise_filter"]  # (3, 3, in, 1) -> (in, 1, 3, 3)
        mid = g.conv(x, depthwise.transpose(2, 3, 0, 1), f"{prefix}/depthwise", stride, group=depthwise.shape[2])
        return g.conv(mid, w[f"{prefix}/pointwise_filter"].transpose(3, 2, 0, 1), prefix, bias=w[f"{prefix}/bias"])

    x = INPUT
    for b in range(4):
        p = f"dense{b}"
        c0 = (
            g.conv(x, w[f"{p}/conv0/filters"].transpose(3, 2, 0, 1), f"{p}/conv0", 2, bias=w[f"{p}/conv0/bias"])
            if b == 0
            else separable(x, f"{p}/conv0", 2)
        )
        out1 = g.node("Relu", [c0], f"{p}/out1")
        out2 = separable(out1, f"{p}/conv1", 1)
        s12 = g.node("Add", [out1, out2], f"{p}/s12")
        out3 = separable(g.node("Relu", [s12], f"{p}/in3"), f"{p}/conv2", 1)
        s123 = g.node("Add", [s12, out3], f"{p}/s123")
        out4 = separable(g.node("Relu", [s123], f"{p}/in4"), f"{p}/conv3", 1)
        x = g.node("Relu", [g.node("Add", [s123, out4], f"{p}/s1234")], f"{p}/out")
    pooled = g.node("AveragePool", [x], "pooled", kernel_shape=[7, 7], strides=[2, 2])
    features = g.node("Flatten", [pooled], "features")
    logits = g.node("Gemm", [features, g.const("fc.w", w["fc/weights"]), g.const("fc.b", w["fc/bias"])], "logits")
    g.node("Softmax", [logits], OUTPUT, axis=-1)
    return g.save(
        onnx_path, "faceapi_expression", ["batch", 3, SIZE, SIZE], len(CLASSES), "avatar-driver convert_faceapi_onnx"
    )


if __name__ == "__main__":
    print(convert(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
