"""A trained YOLOX-Nano → an ONNX file the runtime loads as it loads the shipped one, with its card.

The file takes ``images`` ``[batch, 3, S, S]`` (symbolic batch axis) of raw BGR and returns
``output`` ``[batch, anchors, 5 + C]`` like the official export, so ``OnnxDetector`` adds its
uint8 pixel-input prefix and batches frames exactly as for ``yolox_nano_coco_416.onnx``. The class
names, input size and provenance go into the ONNX metadata and into the card ``<name>.yaml``
beside the file (which ``OnnxDetector`` reads first).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import yaml

from streetwarden.models.store import sha256_file as file_sha256


def export_yolox(net, path: Path, names: list[str], imgsz: int, provenance: dict) -> dict:  # type: ignore[no-untyped-def]
    """Write ``path`` and its card; returns the card as written."""
    import onnx
    import torch

    net = net.eval().cpu()
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation; it is the one without onnxscript
        torch.onnx.export(net, torch.full((1, 3, imgsz, imgsz), 114.0), str(tmp), input_names=["images"],
                          output_names=["output"], dynamic_axes={"images": {0: "batch"}, "output": {0: "batch"}},
                          opset_version=17, dynamo=False)
    model = onnx.load(str(tmp))
    # the exporter names the anchor and class axes symbolically; fix them so any reader of the
    # file (and `guess_family`) sees [batch, anchors, 5 + C]
    dims = model.graph.output[0].type.tensor_type.shape.dim
    dims[1].dim_value = sum((imgsz // s) ** 2 for s in (8, 16, 32))
    dims[2].dim_value = 5 + len(names)
    meta = {"names": repr(dict(enumerate(names))), "imgsz": repr([imgsz, imgsz]), "family": "yolox",
            "author": "StreetWarden", "license": str(provenance.get("licence") or "unknown"),
            "provenance": json.dumps(provenance, sort_keys=True, ensure_ascii=False)}
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(tmp))
    tmp.replace(path)
    card = {"file": path.name, "family": "yolox", "input_size": imgsz, "colour_order": "BGR",
            "normalisation": "none (raw 0-255), pad bottom/right with 114", "classes": list(names),
            "licence": provenance.get("licence"), "source": f"trained by StreetWarden from {provenance.get('base_model')}",
            **{k: v for k, v in provenance.items() if k != "licence"}, "sha256": file_sha256(path)}
    path.with_suffix(".yaml").write_text("# Model card written by `streetwarden train`\n"
                                         + yaml.safe_dump(card, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return card
