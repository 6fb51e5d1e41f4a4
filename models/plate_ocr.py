"""Text reading for licence plates: PP-OCRv4 detection + recognition (ONNX) as shipped inside the
`rapidocr-onnxruntime` package, so no weights are fetched at run time.

Install with the `plates` extra (`pip install 'streetwarden[plates]'`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from streetwarden.models.detector import ModelError


@dataclass(frozen=True)
class TextLine:
    """One line of text found in an image: its characters, recognition confidence and quadrilateral,
    and each character with its own confidence (the line's is their mean, which hides one doubtful
    character among seven sure ones: the province character of a small plate)."""

    text: str
    confidence: float
    quad: np.ndarray  # [4, 2] corner points in the image's pixels
    chars: tuple[tuple[str, float], ...] = ()


class PlateOCR:
    """PP-OCR on CPU; one engine per process, calls serialised (the engine is not re-entrant)."""

    def __init__(self, threads: int = 1, det_side: int = 480) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as err:
            raise ModelError(
                "plate reading needs the PP-OCR package: pip install 'rapidocr-onnxruntime>=1.3' "
                f"(the `plates` extra), or set plates.enabled: false ({err})"
            ) from None
        n = int(threads) if threads > 0 else -1
        # det_side: the text detector scales the crop's shorter side to this (PP-OCR's default 736 is
        # ~2.5x slower on a vehicle crop and read the same plate; 320 misread the province character)
        self._engine = RapidOCR(intra_op_num_threads=n, inter_op_num_threads=1, print_verbose=False,
                                det_limit_side_len=det_side)
        self._lock = threading.Lock()

    def read(self, image: np.ndarray) -> list[TextLine]:
        """Text lines of a BGR image, in reading order (top to bottom, left to right)."""
        if image.size == 0:
            return []
        with self._lock:
            result, _ = self._engine(np.ascontiguousarray(image), return_word_box=True)
        lines = [_line(item) for item in (result or [])]
        return sorted(lines, key=lambda ln: (round(float(ln.quad[:, 1].mean()) / 10), float(ln.quad[:, 0].min())))


def _line(item: list) -> TextLine:
    """A result row: [quad, text, score] or, with word boxes, [quad, text, score, boxes, chars, confidences]."""
    quad, text, score = item[0], item[1], item[2]
    chars: tuple[tuple[str, float], ...] = ()
    if len(item) >= 6 and item[4] is not None and len(item[4]) == len(item[5]):
        chars = tuple((str(c), float(p)) for c, p in zip(item[4], item[5]))
    return TextLine(str(text), float(score), np.asarray(quad, np.float32), chars)
