"""ONNX model wrappers: every output family decodes into one vectorised Detections type."""

from models.detections import COCO_LABELS, Detections, box_iou
from models.detector import ModelError, OnnxDetector

__all__ = ["COCO_LABELS", "Detections", "ModelError", "OnnxDetector", "box_iou"]
