"""Raw model throughput vs the whole pipeline's analysed frames per second, in one run.

    python3 bench/bench_pipeline.py [--fps 10] [--repeat 3]

Raw: plain onnxruntime on the unmodified model (batch axis made dynamic; height and width too
unless --square), fed float tensors of the same shape the pipeline uses (416x320 for vtest's 4:3
frames; 416x416 with --square), preprocessed before the clock starts, in batches of 1 frame and of
the worker's max_batch (on this 2-core machine batch 1 is the faster by 12-17 %), each
in the two ways 2 cores can be used: one call at a time with 2 intra-op threads (onnxruntime's
default), and 2 concurrent single-threaded calls. The best of the four is the reference.
Pipeline: `Worker` with the default model settings over vtest.avi (decode, letterbox, model, NMS,
tracker, zones, dwell, SQLite store) with the example zone. The ratio is what matters: the machine
is shared and noisy, so raw and pipeline are measured back to back, alternating, best of N.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))
os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))

from streetwarden.camera_adapters import open_source  # noqa: E402
from streetwarden.models import OnnxDetector  # noqa: E402
from streetwarden.models.detector import _graph_bytes  # noqa: E402
from streetwarden.pipeline.worker import Worker  # noqa: E402
from streetwarden.store.db import Database  # noqa: E402
from streetwarden.config import Settings, parse_settings  # noqa: E402


def plain_session(path: Path, threads: int, rect: bool) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(_graph_bytes(path, True, rect), opts, providers=["CPUExecutionProvider"])


def raw_fps(session: ort.InferenceSession, tensors: list[np.ndarray], calls: int) -> tuple[float, float]:
    """(frames/s wall, CPU ms/frame) of session.run alone, `calls` concurrent callers."""
    name = session.get_inputs()[0].name
    session.run(None, {name: tensors[0]})  # warm-up
    frames = sum(len(t) for t in tensors)

    def run(part: list[np.ndarray]) -> None:
        for tensor in part:
            session.run(None, {name: tensor})

    threads = [threading.Thread(target=run, args=(tensors[i::calls],)) for i in range(calls)]
    t, c = time.perf_counter(), time.process_time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return frames / (time.perf_counter() - t), (time.process_time() - c) * 1000 / frames


def example_settings(tmp: str, fps: float, rect: bool = True, max_batch: int = 8) -> Settings:
    """The example camera on vtest.avi with its sidewalk zone, database and evidence under tmp."""
    return parse_settings({
        "database": f"sqlite:///{tmp}/b.db", "storage": f"{tmp}/data",
        "models": {"default": {"path": "yolox_nano_coco_416.onnx", "rect": rect, "max_batch": max_batch}},
        "cameras": [{"id": "west-gate", "source": str(SHARED / "media" / "vtest.avi"), "analysis_fps": fps,
                     "zones": [{"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 30,
                                "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}]}],
    }, base_dir=Path(tmp))


def pipeline_fps(fps: float, rect: bool, max_batch: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = example_settings(tmp, fps, rect, max_batch)
        db = Database(settings.database_url)
        db.upgrade()
        worker = Worker(settings, db, once=True)
        t, c = time.perf_counter(), time.process_time()
        stats = worker.run()
        return (stats["frames"] / (time.perf_counter() - t), (time.process_time() - c) * 1000 / stats["frames"],
                stats["created"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fps", type=float, default=10.0, help="analysis rate (vtest is 10 fps native)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--square", action="store_true", help="model input 416x416 for raw and pipeline (rect: false)")
    ap.add_argument("--max-batch", type=int, default=8, help="the pipeline's models.<name>.max_batch (default 8, as shipped)")
    args = ap.parse_args()
    path = SHARED / "models" / "yolox_nano_coco_416.onnx"
    rect = not args.square
    det = OnnxDetector(path, rect=rect)
    frames = [f.image for f in open_source("v", str(SHARED / "media" / "vtest.avi"), args.fps).frames()]
    stride = det.stride if det.rect else None
    singles = [det.family.preprocess(img, det.input_size, stride)[0] for img in frames]
    batches = sorted({1, det.max_batch})
    tensors = {b: [np.stack(singles[i:i + b]) for i in range(0, len(singles), b)] for b in batches}
    print(f"model input {singles[0].shape[1]}x{singles[0].shape[2]} (height x width)", flush=True)
    sessions = {"1 call x 2 threads": (plain_session(path, 2, det.rect), 1),
                "2 calls x 1 thread": (plain_session(path, 1, det.rect), 2)}
    configs = [(f"batch {b}, {name}", b, session, calls) for b in batches for name, (session, calls) in sessions.items()]
    best = {name: 0.0 for name, *_ in configs} | {"pipeline": 0.0}
    cpu = {name: 1e9 for name in best}
    ratios = []
    for i in range(args.repeat):
        runs = {}
        for name, b, session, calls in configs:
            runs[name] = raw_fps(session, tensors[b], calls)
        runs["pipeline"] = pipeline_fps(args.fps, rect, args.max_batch)[:2]
        for name, (v, c) in runs.items():
            best[name], cpu[name] = max(best[name], v), min(cpu[name], c)
        raw = max(v for name, (v, _) in runs.items() if name != "pipeline")
        ratios.append(runs["pipeline"][0] / raw)
        print(f"run {i + 1}: " + "; ".join(f"{name} {v:.1f} frames/s ({c:.1f} CPU ms/frame)" for name, (v, c) in runs.items())
              + f"; ratio to the best raw {ratios[-1]:.2f}", flush=True)
    raw_name = max((name for name in best if name != "pipeline"), key=best.__getitem__)
    raw = best[raw_name]
    print("best: " + "; ".join(f"{name} {v:.1f}" for name, v in best.items())
          + f" frames/s; reference: {raw_name}. Ratio pipeline / best raw {best['pipeline'] / raw:.2f} "
          f"(per-run ratios: median {sorted(ratios)[len(ratios) // 2]:.2f}, range {min(ratios):.2f}-{max(ratios):.2f}); "
          f"CPU ms/frame raw {cpu[raw_name]:.1f} vs pipeline {cpu['pipeline']:.1f}, CPU ratio {cpu[raw_name] / cpu['pipeline']:.2f}")


if __name__ == "__main__":
    main()
