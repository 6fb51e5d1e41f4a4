"""What an ONNX file is (family, input size, classes), and whether that agrees with its card.

Why before a file enters the store: a YOLOv8 file stored under a YOLOX name loads fine and then
decodes garbage boxes; a truncated download only fails when a camera starts. Both are caught here,
in one line, at fetch/import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from streetwarden.models.card import ModelCard, card_from_metadata
from streetwarden.models.detections import COCO_LABELS
from streetwarden.models.detector import ModelError
from streetwarden.models.families import guess_family


@dataclass(frozen=True)
class OnnxFacts:
    family: str | None
    input_size: int | None
    labels: tuple[str, ...]
    output_shape: list[object]


def inspect_onnx(path: Path, card: ModelCard | None = None) -> OnnxFacts:
    """Load the graph (ModelError naming the file when it is no ONNX model) and read its shape."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own Fail/InvalidProtobuf types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(f"{path}: not a loadable ONNX model ({first[:160]})") from None
    meta = card_from_metadata(session.get_modelmeta().custom_metadata_map)
    labels = card.labels if card else (meta.labels if meta else COCO_LABELS)
    shape = session.get_inputs()[0].shape
    size = shape[2] if len(shape) == 4 and isinstance(shape[2], int) else (meta.input_size if meta else None)
    out_shape = list(session.get_outputs()[0].shape)
    family = guess_family(out_shape, len(labels)) or (meta.family if meta else None)
    return OnnxFacts(family, size, labels, out_shape)


def check_against_card(path: Path, card: ModelCard | None, name: str) -> OnnxFacts:
    """OnnxFacts, or ModelError in one line when the file is not what the card for `name` describes."""
    facts = inspect_onnx(path, card)
    if card is None:
        if facts.family is None:
            raise ModelError(f"{path}: output {facts.output_shape} is neither YOLOX nor Ultralytics and there is no "
                             f"model card for {name}; put a card ({Path(name).stem}.yaml with family, input_size, "
                             "classes) beside the file and import again")
        return facts
    card_name = card.path.name if card.path else f"{Path(name).stem}.yaml"
    if card.family and facts.family != card.family:
        raise ModelError(f"{path}: this is {_family_words(facts)} (output {facts.output_shape}), but the card "
                         f"{card_name} says {card.family}: it is not {name}; import it under its own --name")
    if card.input_size and facts.input_size and facts.input_size != card.input_size:
        raise ModelError(f"{path}: input is {facts.input_size}x{facts.input_size}, but the card {card_name} says "
                         f"{card.input_size}: it is not {name}; import it under its own --name")
    return facts


def _family_words(facts: OnnxFacts) -> str:
    if not facts.family:
        return "a model of unknown family"
    return f"{'an' if facts.family[0] in 'aeiou' else 'a'} {facts.family} model"
