"""ONNX model wrappers: every output family decodes into one vectorised Detections type."""

from streetwarden.models.detections import COCO_LABELS, Detections, box_iou
from streetwarden.models.detector import ModelError, OnnxDetector

__all__ = ["COCO_LABELS", "Detections", "ModelError", "OnnxDetector", "box_iou"]
