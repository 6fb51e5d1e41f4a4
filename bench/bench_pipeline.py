"""Raw model throughput vs the whole pipeline's analysed frames per second, in one run.

    python3 bench/bench_pipeline.py [--fps 10] [--repeat 3]

Raw: onnxruntime `session.run` on preprocessed 416x416 tensors of real vtest frames, batched like
the worker batches (max_batch). Pipeline: `Worker` over vtest.avi (decode, letterbox, model, NMS,
tracker, zones, dwell, SQLite store) with the example zone. The ratio is what matters: the machine
is shared and noisy, so both are measured back to back, alternating, best of N.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))
os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))

from camera_adapters import open_source  # noqa: E402
from models import OnnxDetector  # noqa: E402
from pipeline.worker import Worker  # noqa: E402
from store.db import Database  # noqa: E402
from streetwarden.config import parse_settings  # noqa: E402


def raw_fps(det: OnnxDetector, frames, batch: int) -> tuple[float, float]:
    """(frames/s wall, CPU ms/frame) of session.run alone."""
    tensors = [det.preprocess(frames[i:i + batch])[0] for i in range(0, len(frames), batch)]
    det.run_tensor(tensors[0])  # warm-up
    t, c = time.perf_counter(), time.process_time()
    for tensor in tensors:
        det.run_tensor(tensor)
    return len(frames) / (time.perf_counter() - t), (time.process_time() - c) * 1000 / len(frames)


def pipeline_fps(fps: float) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = parse_settings({
            "database": f"sqlite:///{tmp}/b.db", "storage": f"{tmp}/data",
            "cameras": [{"id": "west-gate", "source": str(SHARED / "media" / "vtest.avi"), "analysis_fps": fps,
                         "zones": [{"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 30,
                                    "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}]}],
        }, base_dir=Path(tmp))
        db = Database(settings.database_url)
        db.create_all()
        worker = Worker(settings, db, once=True)
        t, c = time.perf_counter(), time.process_time()
        stats = worker.run()
        return (stats["frames"] / (time.perf_counter() - t), (time.process_time() - c) * 1000 / stats["frames"],
                stats["created"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fps", type=float, default=10.0, help="analysis rate (vtest is 10 fps native)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    det = OnnxDetector(SHARED / "models" / "yolox_nano_coco_416.onnx")
    frames = [f.image for f in open_source("v", str(SHARED / "media" / "vtest.avi"), args.fps).frames()]
    raws, pipes, raw_cpu, pipe_cpu = [], [], [], []
    for i in range(args.repeat):
        r, rc = raw_fps(det, frames, det.max_batch)
        fps, pc, created = pipeline_fps(args.fps)
        raws.append(r), pipes.append(fps), raw_cpu.append(rc), pipe_cpu.append(pc)
        print(f"run {i + 1}: raw model {r:.1f} frames/s ({rc:.1f} CPU ms/frame), pipeline {fps:.1f} frames/s "
              f"({pc:.1f} CPU ms/frame); wall ratio {fps / r:.2f}, CPU ratio {rc / pc:.2f}, candidates {created}",
              flush=True)
    print(f"best: raw model {max(raws):.1f} frames/s, pipeline {max(pipes):.1f} frames/s, "
          f"wall ratio {max(pipes) / max(raws):.2f}; CPU ms/frame raw {min(raw_cpu):.1f} vs pipeline "
          f"{min(pipe_cpu):.1f}, CPU ratio {min(raw_cpu) / min(pipe_cpu):.2f}")


if __name__ == "__main__":
    main()
