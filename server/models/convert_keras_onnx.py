"""Keras HDF5 (the `fer` FER2013 model) -> ONNX, built node by node from the original weights.

Layout: Keras is NHWC, ONNX convolutions are NCHW, so the graph takes (N, C, H, W) and
kernels are transposed: Conv2D (kh, kw, in, out) -> (out, in, kh, kw); a SeparableConv2D
is a grouped (depthwise) Conv followed by a 1x1 Conv. BatchNormalization (inference) is
folded into a per-channel scale and shift. The graph building is shared (onnx_graph.py).

Run as ``python -m server.models.convert_keras_onnx MODEL.hdf5 OUT.onnx``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .keras_model import KerasModel, KerasModelError
from .onnx_graph import INPUT, OUTPUT, GraphBuilder


def convert(hdf5: Path, onnx_path: Path) -> Path:
    model = KerasModel.load(hdf5)
    g = GraphBuilder()
    names: dict[str, str] = {}
    for layer in model.layers:
        k, c, w = layer.kind, layer.config, layer.weights
        x = names[layer.inputs[0]] if layer.inputs else INPUT
        out = layer.name
        same = c.get("padding") == "same"
        bias = w["bias"] if c.get("use_bias") else None
        if k == "InputLayer":
            out = INPUT
        elif k == "Conv2D":
            out = g.conv(x, w["kernel"].transpose(3, 2, 0, 1), out, tuple(c["strides"]), bias=bias, same=same)
            out = _activation(g, out, c.get("activation", "linear"))
        elif k == "SeparableConv2D":
            if c.get("depth_multiplier", 1) != 1:
                raise KerasModelError(f"{layer.name}: depth_multiplier {c['depth_multiplier']} is not supported")
            depthwise = w["depthwise_kernel"].transpose(2, 3, 0, 1)  # (in, 1, kh, kw)
            mid = g.conv(x, depthwise, f"{out}.depthwise", tuple(c["strides"]), group=depthwise.shape[0], same=same)
            out = g.conv(mid, w["pointwise_kernel"].transpose(3, 2, 0, 1), out, bias=bias, same=False)
            out = _activation(g, out, c.get("activation", "linear"))
        elif k == "BatchNormalization":
            scale = w["gamma"] / np.sqrt(w["moving_variance"] + c["epsilon"])
            shift = w["beta"] - w["moving_mean"] * scale
            scaled = g.node("Mul", [x, g.const(f"{out}.scale", scale.reshape(1, -1, 1, 1))], f"{out}.scaled")
            g.node("Add", [scaled, g.const(f"{out}.shift", shift.reshape(1, -1, 1, 1))], out)
        elif k == "Activation":
            out = _activation(g, x, c["activation"], out)
        elif k == "MaxPooling2D":
            g.node(
                "MaxPool",
                [x],
                out,
                kernel_shape=list(c["pool_size"]),
                strides=list(c["strides"]),
                auto_pad="SAME_UPPER" if same else "VALID",
            )
        elif k == "Add":
            g.node("Add", [names[i] for i in layer.inputs], out)
        elif k == "GlobalAveragePooling2D":
            g.node("Flatten", [g.node("GlobalAveragePool", [x], f"{out}.pooled")], out)
        names[layer.name] = out
    g.node("Identity", [names[model.output]], OUTPUT)
    h, w_, ch = model.input_shape
    return g.save(onnx_path, "fer2013_emotion", ["batch", ch, h, w_], None, "avatar-driver convert_keras_onnx")


def _activation(g: GraphBuilder, x: str, kind: str, name: str | None = None) -> str:
    ops = {"relu": "Relu", "softmax": "Softmax", "linear": "Identity"}
    if kind not in ops:
        raise KerasModelError(f"activation {kind!r} is not supported")
    if kind == "linear" and name is None:
        return x
    return g.node(ops[kind], [x], name or f"{x}.{kind}", **({"axis": -1} if kind == "softmax" else {}))


if __name__ == "__main__":
    print(convert(Path(sys.argv[1]), Path(sys.argv[2])))
