"""A trained network → an ONNX file the runtime loads as it loads the shipped one of its family, with its card.

YOLOX-Nano: ``images`` ``[batch, 3, S, S]`` of raw BGR → ``output`` ``[batch, anchors, 5 + C]``,
like the official export. YOLOv8n: ``images`` of RGB / 255 → ``output0`` ``[batch, 4 + C, anchors]``,
like an Ultralytics export (the float one: training undoes the int8 quantisation, and a float file
is what the runtime and a later conversion read exactly). The batch axis is symbolic, so
``OnnxDetector`` adds its uint8 pixel-input prefix and batches frames. The class names, input
size, family and provenance go into the ONNX metadata and into the card ``<name>.yaml`` beside the
file (which ``OnnxDetector`` reads first); colour order and normalisation come from the family.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import yaml

from streetwarden.models.families import FAMILIES, Family
from streetwarden.models.store import sha256_file as file_sha256

OUTPUT_NAMES = {"yolox": "output", "ultralytics": "output0"}


def _sample(family: Family, imgsz: int):  # type: ignore[no-untyped-def]
    import torch

    return torch.full((1, 3, imgsz, imgsz), 114.0 / 255.0 if family.scale01 else 114.0)


def _fix_dims(model, family: Family, imgsz: int, classes: int) -> None:  # type: ignore[no-untyped-def]
    """The exporter names the anchor and class axes symbolically; fix them so any reader of the
    file (and `guess_family`) sees the family's layout."""
    dims = model.graph.output[0].type.tensor_type.shape.dim
    anchors = family.anchors((imgsz, imgsz))
    if family.name == "yolox":
        dims[1].dim_value, dims[2].dim_value = anchors, 5 + classes
    else:
        dims[1].dim_value, dims[2].dim_value = 4 + classes, anchors


def _describe_input(family: Family) -> tuple[str, str]:
    """(colour order, normalisation) as a card states them."""
    pad = "centred letterbox" if family.centered else "pad bottom/right"
    return ("RGB" if family.rgb else "BGR",
            f"/255, {pad} padded with 114" if family.scale01 else f"none (raw 0-255), {pad} with 114")


def export_model(net, path: Path, names: list[str], imgsz: int, provenance: dict) -> dict:  # type: ignore[no-untyped-def]
    """Write ``path`` and its card for ``net`` of family ``net.family``; returns the card as written."""
    import onnx
    import torch

    family = FAMILIES[net.family]
    output = OUTPUT_NAMES[family.name]
    net = net.eval().cpu()
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation; it is the one without onnxscript
        torch.onnx.export(net, _sample(family, imgsz), str(tmp), input_names=["images"], output_names=[output],
                          dynamic_axes={"images": {0: "batch"}, output: {0: "batch"}}, opset_version=17, dynamo=False)
    model = onnx.load(str(tmp))
    _fix_dims(model, family, imgsz, len(names))
    meta = {"names": repr(dict(enumerate(names))), "imgsz": repr([imgsz, imgsz]), "family": family.name,
            "stride": str(max(family.strides)), "task": "detect",
            "author": "StreetWarden", "license": str(provenance.get("licence") or "unknown"),
            "provenance": json.dumps(provenance, sort_keys=True, ensure_ascii=False)}
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(tmp))
    tmp.replace(path)
    colour, normalisation = _describe_input(family)
    card = {"file": path.name, "family": family.name, "input_size": imgsz, "colour_order": colour,
            "normalisation": normalisation, "classes": list(names),
            "licence": provenance.get("licence"), "source": f"trained by StreetWarden from {provenance.get('base_model')}",
            **{k: v for k, v in provenance.items() if k != "licence"}, "sha256": file_sha256(path)}
    path.with_suffix(".yaml").write_text("# Model card written by `streetwarden train`\n"
                                         + yaml.safe_dump(card, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return card
