"""The convolution weights of an ONNX detector file, as float arrays keyed by module path.

Exporters keep each convolution's module path in its node name; the weights are initializers. A
float file has ``Conv(x, W, b)``. A dynamically quantised file (onnxruntime ``quantize_dynamic``,
as the shipped YOLOv8n) has ``ConvInteger(x_q, W_q, x_zp, W_zp) → Cast → Mul(·, x_scale · W_scale)
→ Add(·, b)``: the weight is recovered as ``(W_q - W_zp) · W_scale`` (per tensor, or per output
channel when the scale has one value per channel) and the bias from the Add. The activations'
run-time quantisation cannot be recovered (it is what makes the file inexact), nor needs to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ConversionError(Exception):
    """The file is not one this converter can turn into a trainable model; the message says why."""


def load_onnx(path: Path):  # type: ignore[no-untyped-def]
    import onnx

    try:
        return onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError and friends
        raise ConversionError(f"{path}: not an ONNX file ({err})") from None


def module_path(node_name: str) -> str:
    """`/backbone/backbone/dark2/dark2.1/m/m.0/conv1/conv/Conv` → `backbone.backbone.dark2.1.m.0.conv1.conv`.

    The exporter writes one scope per module; a child of a container repeats its parent's scope
    name with ``.index`` appended, so only the new part is kept.
    """
    parts = [p for p in node_name.split("/") if p][:-1]
    out: list[str] = []
    prev = ""
    for p in parts:
        out.append(p[len(prev) + 1:] if prev and p.startswith(prev + ".") else p)
        prev = p
    return ".".join(out)


@dataclass(frozen=True)
class ConvWeights:
    node: str  # the node's name, for messages
    weight: np.ndarray
    bias: np.ndarray | None


class _Graph:
    """Initializers, producers and consumers of one graph, for following a value through it."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        from onnx import numpy_helper

        self.init = {i.name: i for i in model.graph.initializer}
        self._array = numpy_helper.to_array
        self.producer = {o: n for n in model.graph.node for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in model.graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def array(self, name: str) -> np.ndarray | None:
        """The constant behind ``name`` (an initializer, or one reshaped by a Reshape node)."""
        if name in self.init:
            return self._array(self.init[name]).astype(np.float32)
        node = self.producer.get(name)
        if node is not None and node.op_type == "Reshape" and node.input[0] in self.init:
            return self._array(self.init[node.input[0]]).astype(np.float32).reshape(-1)
        return None

    def only_consumer(self, value: str, op: str):  # type: ignore[no-untyped-def]
        nodes = [n for n in self.consumers.get(value, []) if n.op_type == op]
        return nodes[0] if len(nodes) == 1 else None


def _float_conv(g: _Graph, node, path: Path) -> ConvWeights:  # type: ignore[no-untyped-def]
    weight = g.array(node.input[1])
    if weight is None:
        raise ConversionError(f"{path}: the weight of convolution {node.name} is not a constant of the file")
    bias = g.array(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    return ConvWeights(node.name, weight, bias)


def _quantised_conv(g: _Graph, node, path: Path) -> ConvWeights:  # type: ignore[no-untyped-def]
    """Follow ConvInteger → Cast → Mul(·, Mul(x_scale, W_scale)) [→ Add(·, bias)]."""
    def fail(what: str) -> ConversionError:
        return ConversionError(f"{path}: quantised convolution {node.name}: {what} (not an onnxruntime dynamic "
                               "quantisation this converter reads)")

    w_q = g.array(node.input[1])
    if w_q is None:
        raise fail("its weight is not a constant")
    zero = g.array(node.input[3]) if len(node.input) > 3 and node.input[3] else np.zeros(1, np.float32)
    cast = g.only_consumer(node.output[0], "Cast")
    scaled = cast and g.only_consumer(cast.output[0], "Mul")
    scales = scaled and g.producer.get(next(i for i in scaled.input if i != cast.output[0]))
    w_scale = None
    if scales is not None and scales.op_type == "Mul":
        w_scale = next((a for a in (g.array(i) for i in scales.input) if a is not None), None)
    if w_scale is None:
        raise fail("no weight scale found after it")
    per_channel = (-1, 1, 1, 1) if w_scale.size > 1 else ()
    if zero is None or zero.size not in (1, w_scale.size) or w_scale.size not in (1, w_q.shape[0]):
        raise fail(f"scale / zero point of {w_scale.size} / {0 if zero is None else zero.size} values for "
                   f"{w_q.shape[0]} output channels")
    weight = (w_q - zero.reshape(per_channel or zero.shape)) * w_scale.reshape(per_channel or w_scale.shape)
    add = g.only_consumer(scaled.output[0], "Add")
    bias = None
    if add is not None:
        bias = next((a for a in (g.array(i) for i in add.input if i != scaled.output[0]) if a is not None), None)
    return ConvWeights(node.name, weight.astype(np.float32), bias)


def conv_weights(model, path: Path) -> dict[str, ConvWeights]:  # type: ignore[no-untyped-def]
    """Every convolution of the graph by module path, float or dequantised."""
    g = _Graph(model)
    out: dict[str, ConvWeights] = {}
    for node in model.graph.node:
        if node.op_type == "Conv":
            out[module_path(node.name)] = _float_conv(g, node, path)
        elif node.op_type == "ConvInteger":
            out[module_path(node.name)] = _quantised_conv(g, node, path)
    return out
