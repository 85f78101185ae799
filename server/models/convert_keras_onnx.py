"""Keras HDF5 (the `fer` FER2013 model) -> ONNX, built node by node from the original weights.

Layout: Keras is NHWC, ONNX convolutions are NCHW, so the graph takes (N, C, H, W) and
kernels are transposed: Conv2D (kh, kw, in, out) -> (out, in, kh, kw); a SeparableConv2D
is a grouped (depthwise) Conv followed by a 1x1 Conv. BatchNormalization (inference) is
folded into a per-channel scale and shift. TensorFlow's "same" padding puts an odd extra
pixel at the end, which is ONNX's SAME_UPPER; for stride 1 and odd kernels both ends pad
equally.

Run as ``python -m server.models.convert_keras_onnx MODEL.hdf5 OUT.onnx``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .keras_model import KerasLayer, KerasModel, KerasModelError

INPUT, OUTPUT = "input", "probabilities"


def convert(hdf5: Path, onnx_path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = KerasModel.load(hdf5)
    nodes, inits = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def conv(layer: KerasLayer, x: str, w: np.ndarray, name: str, group: int = 1, bias: np.ndarray | None = None) -> str:
        c = layer.config
        kh, kw = w.shape[2], w.shape[3]
        attrs = {"strides": list(c.get("strides", (1, 1))), "group": group, "kernel_shape": [kh, kw]}
        if c["padding"] == "same":
            attrs["auto_pad"] = "SAME_UPPER"
        inputs = [x, const(f"{name}.w", w)] + ([const(f"{name}.b", bias)] if bias is not None else [])
        nodes.append(helper.make_node("Conv", inputs, [name], name=name, **attrs))
        return name

    names = {}
    for layer in model.layers:
        k, c, w = layer.kind, layer.config, layer.weights
        x = names[layer.inputs[0]] if layer.inputs else INPUT
        out = layer.name
        if k == "InputLayer":
            out = INPUT
        elif k == "Conv2D":
            out = conv(layer, x, w["kernel"].transpose(3, 2, 0, 1), out,
                       bias=w["bias"] if c.get("use_bias") else None)
            out = _activation(nodes, out, c.get("activation", "linear"))
        elif k == "SeparableConv2D":
            if c.get("depth_multiplier", 1) != 1:
                raise KerasModelError(f"{layer.name}: depth_multiplier {c['depth_multiplier']} is not supported")
            depthwise = w["depthwise_kernel"].transpose(2, 3, 0, 1)  # (in, 1, kh, kw)
            mid = conv(layer, x, depthwise, f"{out}.depthwise", group=depthwise.shape[0])
            pointwise = layer.__class__(layer.kind, layer.name, {**c, "strides": (1, 1), "padding": "valid"}, (), {})
            out = conv(pointwise, mid, w["pointwise_kernel"].transpose(3, 2, 0, 1), out,
                       bias=w["bias"] if c.get("use_bias") else None)
            out = _activation(nodes, out, c.get("activation", "linear"))
        elif k == "BatchNormalization":
            scale = w["gamma"] / np.sqrt(w["moving_variance"] + c["epsilon"])
            shift = w["beta"] - w["moving_mean"] * scale
            s = const(f"{out}.scale", scale.reshape(1, -1, 1, 1))
            b = const(f"{out}.shift", shift.reshape(1, -1, 1, 1))
            nodes.append(helper.make_node("Mul", [x, s], [f"{out}.scaled"]))
            nodes.append(helper.make_node("Add", [f"{out}.scaled", b], [out]))
        elif k == "Activation":
            out = _activation(nodes, x, c["activation"], out)
        elif k == "MaxPooling2D":
            nodes.append(helper.make_node("MaxPool", [x], [out], kernel_shape=list(c["pool_size"]),
                                          strides=list(c["strides"]),
                                          auto_pad="SAME_UPPER" if c["padding"] == "same" else "VALID"))
        elif k == "Add":
            nodes.append(helper.make_node("Add", [names[i] for i in layer.inputs], [out]))
        elif k == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", [x], [f"{out}.pooled"]))
            nodes.append(helper.make_node("Flatten", [f"{out}.pooled"], [out]))
        names[layer.name] = out
    nodes.append(helper.make_node("Identity", [names[model.output]], [OUTPUT]))
    h, w_, ch = model.input_shape
    graph = helper.make_graph(
        nodes, "fer2013_emotion",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", ch, h, w_])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", None])], inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                                   producer_name="avatar-driver convert_keras_onnx")
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, onnx_path)
    return Path(onnx_path)


def _activation(nodes: list, x: str, kind: str, name: str | None = None) -> str:
    from onnx import helper

    ops = {"relu": "Relu", "softmax": "Softmax", "linear": "Identity"}
    if kind not in ops:
        raise KerasModelError(f"activation {kind!r} is not supported")
    if kind == "linear" and name is None:
        return x
    out = name or f"{x}.{kind}"
    attrs = {"axis": -1} if kind == "softmax" else {}
    nodes.append(helper.make_node(ops[kind], [x], [out], **attrs))
    return out


if __name__ == "__main__":
    print(convert(Path(sys.argv[1]), Path(sys.argv[2])))
