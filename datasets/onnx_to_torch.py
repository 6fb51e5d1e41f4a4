"""An ONNX detector file → the trainable PyTorch model of its family, weights and all.

No weights can be downloaded on a city network, so training warm-starts from a file the deployment
already has. The YOLOX-Nano ONNX export keeps each convolution's module path in its node name and
carries the (BatchNorm-folded) weight and bias as initializers: each one is copied into the module
of the same path, and every shape must match, so a YOLOX-S or an Ultralytics file is refused with
one line rather than loaded half-right.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ConversionError(Exception):
    """The file is not one this converter can turn into a trainable model; the message says why."""


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


def _family(model, path: Path) -> str:  # type: ignore[no-untyped-def]
    from streetwarden.models.families import guess_family

    meta = {m.key: m.value for m in model.metadata_props}
    if meta.get("family") in ("yolox", "ultralytics"):  # written by `streetwarden train` (onnx_export)
        return meta["family"]
    dims = [d.dim_value or d.dim_param for d in model.graph.output[0].type.tensor_type.shape.dim]
    for nc in (80, *range(1, 200)):
        fam = guess_family(dims, nc)
        if fam:
            return fam
    raise ConversionError(f"{path}: output {dims} is neither YOLOX ([B, A, 5+C]) nor Ultralytics ([B, 4+C, A])")


def yolox_nano_from_onnx(path: str | Path):  # type: ignore[no-untyped-def]
    """The :class:`YoloxNano` whose weights are those of the ONNX file at ``path``."""
    import onnx
    import torch
    from onnx import numpy_helper

    from streetwarden.datasets.yolox_net import YoloxNano

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError and friends
        raise ConversionError(f"{path}: not an ONNX file ({err})") from None
    family = _family(model, path)
    if family != "yolox":
        raise ConversionError(f"{path}: this is a {family} model; only YOLOX-Nano files convert to a trainable "
                              "model so far (use yolox_nano_coco_416.onnx as the base)")
    init = {i.name: i for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    cls_w = next((init[n.input[1]] for n in convs if module_path(n.name) == "head.cls_preds.0"), None)
    if cls_w is None:
        raise ConversionError(f"{path}: no head.cls_preds.0 convolution: not a YOLOX export with module names")
    net = YoloxNano(num_classes=int(cls_w.dims[0]))
    state = net.state_dict()
    loaded: set[str] = set()
    for node in convs:
        prefix = module_path(node.name)
        for suffix, name in zip(("weight", "bias"), node.input[1:3]):
            key = f"{prefix}.{suffix}"
            if key not in state or name not in init:
                raise ConversionError(f"{path}: convolution {node.name} has no place in YOLOX-Nano "
                                      f"(is it another YOLOX size?)")
            value = numpy_helper.to_array(init[name]).astype(np.float32)
            if tuple(value.shape) != tuple(state[key].shape):
                raise ConversionError(f"{path}: {key} is {list(value.shape)} in the file, YOLOX-Nano has "
                                      f"{list(state[key].shape)}: another YOLOX size")
            state[key] = torch.from_numpy(value.copy())
            loaded.add(key)
    missing = sorted(set(state) - loaded)
    if missing:
        raise ConversionError(f"{path}: {len(missing)} YOLOX-Nano weights are not in the file (e.g. {missing[0]})")
    net.load_state_dict(state)
    return net.eval()
