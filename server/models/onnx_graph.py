"""Building an ONNX graph node by node from converted weights (the converters' shared part).

Convolution kernels come in ONNX's (out, in/group, kh, kw) layout; "same" padding is
TensorFlow's, which puts an odd extra pixel at the end: ONNX's SAME_UPPER.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from onnx import NodeProto, TensorProto

INPUT, OUTPUT = "input", "probabilities"
OPSET, IR_VERSION = 13, 8


class GraphBuilder:
    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.nodes: list[NodeProto] = []
        self.inits: list[TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(self._numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:  # ONNX attributes of any type
        self.nodes.append(self._helper.make_node(op, inputs, [output], **attrs))
        return output

    def conv(
        self,
        x: str,
        kernel: np.ndarray,
        name: str,
        stride: int | tuple[int, int] = 1,
        group: int = 1,
        bias: np.ndarray | None = None,
        same: bool = True,
    ) -> str:
        strides = [stride, stride] if isinstance(stride, int) else list(stride)
        inputs = [x, self.const(f"{name}.w", kernel)] + ([self.const(f"{name}.b", bias)] if bias is not None else [])
        attrs = {"auto_pad": "SAME_UPPER"} if same else {}
        return self.node(
            "Conv", inputs, name, kernel_shape=list(kernel.shape[2:]), strides=strides, group=group, **attrs
        )

    def save(
        self, path: Path, graph_name: str, input_shape: list[str | int], n_outputs: int | None, producer: str
    ) -> Path:
        """Checks the model and writes it; the graph's input is INPUT, its output OUTPUT."""
        import onnx
        from onnx import TensorProto

        h = self._helper
        graph = h.make_graph(
            self.nodes,
            graph_name,
            [h.make_tensor_value_info(INPUT, TensorProto.FLOAT, input_shape)],
            [h.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", n_outputs])],
            self.inits,
        )
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)], producer_name=producer)
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        onnx.save(model, path)
        return Path(path)
