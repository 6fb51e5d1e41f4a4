"""The ONNX detector: one onnxruntime session that turns a batch of frames into Detections."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

ort.set_default_logger_severity(3)  # our own messages explain failures; keep ORT quiet

from streetwarden.models.card import ModelCard, card_from_metadata, find_card
from streetwarden.models.detections import COCO_LABELS, Detections
from streetwarden.models.families import FAMILIES, guess_family
from streetwarden.models.letterbox import LetterboxInfo, letterbox, unletterbox
from streetwarden.models.nms import classwise_nms
from streetwarden.models.providers import ProviderError, check_session, resolve


class ModelError(RuntimeError):
    """A model that cannot be loaded or run; the message says what to do."""


def _load_graph(path: Path, dynamic_batch: bool, rect: bool = False):  # type: ignore[no-untyped-def]
    """The ONNX graph, with a symbolic batch axis and/or symbolic height and width when asked
    (None if the onnx package is missing)."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - onnx is a dependency
        return None
    model = onnx.load(str(path))
    if dynamic_batch:
        for value in list(model.graph.input) + list(model.graph.output):
            dims = value.type.tensor_type.shape.dim
            if dims:
                dims[0].dim_param = "batch"
    if rect:
        dims = model.graph.input[0].type.tensor_type.shape.dim
        if len(dims) == 4:
            dims[2].dim_param, dims[3].dim_param = "height", "width"
        for value in model.graph.output:  # the anchor count follows the input size
            for i, dim in enumerate(value.type.tensor_type.shape.dim):
                if i:
                    dim.dim_param = f"{value.name}_{i}"
        del model.graph.value_info[:]  # stale static shapes; onnxruntime infers them again
    return model


def _graph_bytes(path: Path, dynamic_batch: bool, rect: bool) -> bytes | None:
    """Model bytes with a symbolic batch axis / input size (None if impossible)."""
    model = _load_graph(path, dynamic_batch, rect)
    return None if model is None else model.SerializeToString()


def _pixel_input_bytes(path: Path, dynamic_batch: bool, size: int, scale01: bool, rect: bool = False) -> bytes | None:
    """Model bytes that take letterboxed uint8 HWC pixels ``[B, H, W, 3]``.

    Why: the HWC→CHW transpose and float conversion cost ~1 ms a frame in numpy but almost nothing
    inside onnxruntime, and a uint8 frame is a quarter of the bytes to hand between threads. The
    original graph is untouched after the new Transpose → Cast (→ ×1/255) prefix, so outputs are
    identical.
    """
    model = _load_graph(path, dynamic_batch, rect)
    if model is None:
        return None
    from onnx import TensorProto, helper

    graph = model.graph
    original = graph.input[0]
    name = original.name
    batch: int | str = "batch" if dynamic_batch else (original.type.tensor_type.shape.dim[0].dim_value or 1)
    height: int | str = "height" if rect else size
    width: int | str = "width" if rect else size
    pixels = name + "_pixels"
    nodes = [helper.make_node("Transpose", [pixels], ["sw_chw"], perm=[0, 3, 1, 2]),
             helper.make_node("Cast", ["sw_chw"], ["sw_float" if scale01 else name], to=TensorProto.FLOAT)]
    if scale01:
        graph.initializer.append(helper.make_tensor("sw_inv255", TensorProto.FLOAT, [], [1.0 / 255.0]))
        nodes.append(helper.make_node("Mul", ["sw_float", "sw_inv255"], [name]))
    graph.input.remove(original)
    graph.input.insert(0, helper.make_tensor_value_info(pixels, TensorProto.UINT8, [batch, height, width, 3]))
    for node in reversed(nodes):
        graph.node.insert(0, node)
    return model.SerializeToString()


class OnnxDetector:
    """Runs a YOLOX or Ultralytics ONNX model on BGR frames of any size.

    Frames are letterboxed, batched in one ``session.run`` where the graph allows a dynamic batch
    (probed once at load), decoded, filtered by score and class-wise NMS, and mapped back to source
    pixels.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        family: str | None = None,
        score_threshold: float = 0.25,
        nms_iou: float = 0.45,
        threads: int = 0,
        max_batch: int = 8,
        rect: bool = True,
        providers: Sequence[str] = ("cpu",),
        fallback_to_cpu: bool = False,
        name: str | None = None,
        frames_per_call: int = 0,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ModelError(
                f"model file not found: {self.path} (bring it into the model store with `streetwarden models fetch "
                f"{self.path.name}` or `streetwarden models import FILE`, or give an absolute path)"
            )
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_batch = max_batch
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 4  # probing a batch axis fails loudly by design; errors still raise
        self._opts = opts
        where = f"models.{name}" if name else f"model {self.path.name}"
        try:
            self._providers = resolve(providers, fallback_to_cpu, where)
        except ProviderError as err:
            raise ModelError(str(err)) from None
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=self._providers)
        except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"cannot load model {self.path}: {err} (is it a valid ONNX file?)") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        card: ModelCard | None = find_card(self.path) or card_from_metadata(self.session.get_modelmeta().custom_metadata_map)
        self.labels: tuple[str, ...] = card.labels if card else COCO_LABELS
        size = inp.shape[2] if isinstance(inp.shape[2], int) else (card.input_size if card else None)
        if not size:
            raise ModelError(f"{self.path}: input size is not fixed in the graph; add a model card with input_size")
        self.input_size = int(size)
        out_shape = list(self.session.get_outputs()[0].shape)
        fam = family or (card.family if card else None) or guess_family(out_shape, len(self.labels))
        if fam not in FAMILIES:
            raise ModelError(
                f"{self.path}: unknown output family {fam!r} for output shape {out_shape}; "
                f"set `family` to one of {sorted(FAMILIES)} in the config or model card"
            )
        self.family = FAMILIES[fam]
        self.pixel_input = False  # True: the session takes letterboxed uint8 HWC pixels (see _pixel_input_bytes)
        # True: frames keep their aspect ratio, padded only to a multiple of the largest stride
        self.rect = False
        self.stride = max(self.family.strides)
        self.batchable = self._choose_session(inp.shape[0], rect)
        try:
            check_session(self.session, self._providers, fallback_to_cpu, where)
        except ProviderError as err:
            raise ModelError(str(err)) from None
        self.frames_per_call = self._frames_per_call(frames_per_call)

    def _frames_per_call(self, configured: int) -> int:
        """Frames in one session.run. On the CPU one: a call of 8 frames cost 8-16 % more per frame
        than 8 calls of one (YOLOX-Nano 416x256, one thread; the activations of one frame stay in the
        core's cache, those of eight do not: docs/cameras.md). A GPU is fed the whole batch."""
        if configured:
            return min(configured, self.max_batch) if self.batchable else 1
        on_cpu_only = set(self.session.get_providers()) <= {"CPUExecutionProvider"}
        return 1 if on_cpu_only or not self.batchable else self.max_batch

    def _probe(self, data: bytes, probe: np.ndarray) -> ort.InferenceSession | None:
        try:
            session = ort.InferenceSession(data, self._opts, providers=self._providers)
            session.run(None, {session.get_inputs()[0].name: probe})
        except Exception:
            return None  # e.g. the int8 YOLOv8 graph has batch-1 reshapes
        return session

    def _runs_rect(self, session: ort.InferenceSession, pixels: bool) -> bool:
        """Whether a graph with symbolic height/width really runs a non-square input: some exports
        bake the anchor count into reshapes (the int8 YOLOv8 does)."""
        h, w = self.input_size * 5 // 8 // self.stride * self.stride, self.input_size
        probe = np.zeros((1, h, w, 3), np.uint8) if pixels else np.zeros((1, 3, h, w), np.float32)
        try:
            out = session.run(None, {session.get_inputs()[0].name: probe})[0][0]
            self.family.decode(out, (h, w), 1.1)  # checks the anchor count
        except Exception:
            return False
        return True

    def _choose_session(self, batch_dim: object, rect: bool) -> bool:
        """Use the cheapest graph this model allows: pixel input, rectangular input and a batch
        axis where they work.

        Returns whether several frames can go in one call. The plain graph stays as loaded when
        no variant runs.
        """
        size = self.input_size
        # (pixel input, batch axis), best first; the plain graph is already loaded as the fallback
        variants = [(True, True), (True, False), (False, True)] if self.max_batch > 1 else [(True, False)]
        for pixels, dynamic in variants:
            n = 2 if dynamic else 1
            probe = np.zeros((n, size, size, 3), np.uint8) if pixels else np.zeros((n, 3, size, size), np.float32)
            for symbolic in ((True, False) if rect else (False,)):
                if pixels:
                    data = _pixel_input_bytes(self.path, dynamic, size, self.family.scale01, symbolic)
                else:
                    data = _graph_bytes(self.path, dynamic, symbolic)
                session = self._probe(data, probe) if data is not None else None
                if session is None:
                    continue
                if symbolic and not self._runs_rect(session, pixels):
                    continue  # square only: the static-shape graph below optimises better
                self.session, self.pixel_input, self.rect = session, pixels, symbolic
                self.input_name = session.get_inputs()[0].name
                return dynamic or not isinstance(batch_dim, int)
        return not isinstance(batch_dim, int)

    def run_tensor(self, batch: np.ndarray) -> np.ndarray:
        """Raw model call on a batch of :meth:`prepare` tensors stacked on axis 0."""
        if self.batchable or batch.shape[0] == 1:
            return self.session.run(None, {self.input_name: batch})[0]
        return np.concatenate([self.session.run(None, {self.input_name: batch[i:i + 1]})[0] for i in range(len(batch))])

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, LetterboxInfo]:
        """Model input of one image (uint8 pixels or a float tensor); thread-safe, so camera readers
        can do it while the model runs."""
        stride = self.stride if self.rect else None
        if not self.pixel_input:
            return self.family.preprocess(image, self.input_size, stride)
        boxed, info = letterbox(image, self.input_size, centered=self.family.centered, stride=stride)
        if self.family.rgb:
            boxed = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)
        return boxed, info

    def preprocess(self, images: list[np.ndarray]) -> tuple[np.ndarray, list[LetterboxInfo]]:
        tensors, infos = zip(*(self.prepare(img) for img in images))
        return np.stack(tensors), list(infos)

    def detect_prepared(self, prepared: list[tuple[np.ndarray, LetterboxInfo]]) -> list[Detections]:
        """Model + decode + NMS for tensors made by :meth:`prepare`, ``frames_per_call`` to a call.

        With rectangular input, frames of different shapes (cameras of different aspect ratios)
        go in separate calls; results keep the order of ``prepared``.
        """
        results: list[Detections | None] = [None] * len(prepared)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (tensor, _) in enumerate(prepared):
            groups.setdefault(tensor.shape, []).append(i)
        hw_axes = (0, 1) if self.pixel_input else (1, 2)
        for shape, members in groups.items():
            hw = (shape[hw_axes[0]], shape[hw_axes[1]])
            step = self.frames_per_call
            for start in range(0, len(members), step):
                chunk = members[start:start + step]
                tensors = [prepared[i][0] for i in chunk]
                output = self.run_tensor(tensors[0][None] if len(chunk) == 1 else np.stack(tensors))
                for out, i in zip(output, chunk):
                    info = prepared[i][1]
                    raw = self.family.decode(out, hw, self.score_threshold)
                    keep = classwise_nms(raw.xyxy, raw.score, raw.class_id, self.nms_iou)
                    results[i] = Detections(unletterbox(raw.xyxy[keep], info), raw.score[keep],
                                            raw.class_id[keep].astype(np.int64), self.labels)
        return results  # type: ignore[return-value]

    def __call__(self, images: list[np.ndarray]) -> list[Detections]:
        """Detect objects in BGR images; one Detections per image, boxes in source pixels."""
        return self.detect_prepared([self.prepare(img) for img in images])

    def detect(self, image: np.ndarray) -> Detections:
        return self([image])[0]
