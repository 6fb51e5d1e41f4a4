"""An ONNX detector file → the trainable PyTorch model of its family, weights and all.

No weights can be downloaded on a city network, so training warm-starts from a file the deployment
already has: YOLOX-Nano (:class:`YoloxNano`) or Ultralytics YOLOv8n (:class:`YoloV8`, float or
dynamically quantised, see :mod:`onnx_weights`). Each convolution's weight and bias is copied into
the module of the same path, and every shape must match, so a YOLOX-S, a YOLOv8s or a YOLO11 file is
refused with one line rather than loaded half-right. :func:`model_from_onnx` picks the family.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streetwarden.datasets.onnx_weights import ConversionError, ConvWeights, conv_weights, load_onnx, module_path

__all__ = ["ConversionError", "model_from_onnx", "module_path", "yolov8_from_onnx", "yolox_nano_from_onnx"]


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


def _fill(net, weights: dict[str, ConvWeights], path: Path, what: str):  # type: ignore[no-untyped-def]
    """Copy ``weights`` into ``net`` by module path; every one must fit and every weight be set."""
    import torch

    state = net.state_dict()
    loaded: set[str] = set()
    for prefix, conv in weights.items():
        for suffix, value in (("weight", conv.weight), ("bias", conv.bias)):
            if value is None:
                continue
            key = f"{prefix}.{suffix}"
            if key not in state:
                raise ConversionError(f"{path}: convolution {conv.node} has no place in {what} (is it another size?)")
            if tuple(value.shape) != tuple(state[key].shape):
                raise ConversionError(f"{path}: {key} is {list(value.shape)} in the file, {what} has "
                                      f"{list(state[key].shape)}: another size")
            state[key] = torch.from_numpy(np.ascontiguousarray(value, np.float32))
            loaded.add(key)
    missing = sorted(set(state) - loaded)
    if missing:
        raise ConversionError(f"{path}: {len(missing)} {what} weights are not in the file (e.g. {missing[0]})")
    net.load_state_dict(state)
    return net.eval()


def _open(path: str | Path, family: str, what: str, model=None):  # type: ignore[no-untyped-def]
    path = Path(path)
    model = model if model is not None else load_onnx(path)
    found = _family(model, path)
    if found != family:
        article = "an" if found[:1] in ("a", "e", "i", "o", "u") else "a"
        raise ConversionError(f"{path}: this is {article} {found} model, not a {what} ({family}) one")
    return path, conv_weights(model, path)


def yolox_nano_from_onnx(path: str | Path, model=None):  # type: ignore[no-untyped-def]
    """The :class:`YoloxNano` whose weights are those of the ONNX file at ``path`` (``model``: it, parsed)."""
    from streetwarden.datasets.yolox_net import YoloxNano

    path, weights = _open(path, "yolox", "YOLOX-Nano", model)
    cls = weights.get("head.cls_preds.0")
    if cls is None:
        raise ConversionError(f"{path}: no head.cls_preds.0 convolution: not a YOLOX export with module names")
    return _fill(YoloxNano(num_classes=cls.weight.shape[0]), weights, path, "YOLOX-Nano")


def yolov8_from_onnx(path: str | Path, model=None):  # type: ignore[no-untyped-def]
    """The :class:`YoloV8` (n) whose weights are those of the Ultralytics ONNX file at ``path``."""
    from streetwarden.datasets.yolov8_net import REG_MAX, YoloV8

    path, weights = _open(path, "ultralytics", "YOLOv8n", model)
    cls, hidden = weights.get("model.22.cv3.0.2"), weights.get("model.22.cv3.0.0.conv")
    if cls is None or hidden is None:
        raise ConversionError(f"{path}: no model.22.cv3.0 convolutions: not a YOLOv8 detect export with module names")
    net = _fill(YoloV8(num_classes=cls.weight.shape[0], cls_hidden=hidden.weight.shape[0]), weights, path, "YOLOv8n")
    dfl = net.head.dfl.conv.weight.detach().flatten().numpy()
    if np.abs(dfl - np.arange(REG_MAX)).max() > 1e-3:
        raise ConversionError(f"{path}: model.22.dfl.conv is not the fixed 0..{REG_MAX - 1} expectation: not a YOLOv8 head")
    return net


CONVERTERS = {"yolox": yolox_nano_from_onnx, "ultralytics": yolov8_from_onnx}


def model_from_onnx(path: str | Path):  # type: ignore[no-untyped-def]
    """The trainable model of the file's family (``net.family`` says which)."""
    path = Path(path)
    model = load_onnx(path)  # parsed once: the family and the weights come from the same read
    return CONVERTERS[_family(model, path)](path, model)
