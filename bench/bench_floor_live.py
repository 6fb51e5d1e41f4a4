"""What a live camera's work costs, step by step on one thread, next to the worker holding N cameras,
in one run, so the worker's overhead over the floor is a ratio measured under the same load.

    python3 bench/bench_floor_live.py --streams 64                       # floor + one worker run
    python3 bench/bench_floor_live.py --search --steps 48,64,80,96,112   # largest N that holds
    python3 bench/bench_floor_live.py --streams 64 --gating both         # without, then with model gating

1. Floor: on the bench_rtsp.py clip (720p 25 fps H.264 2 Mbit/s, key frame every second), one
   thread times, in thread CPU, each per-frame step of keyframe-only analysis: I-frame decode, BGR
   conversion, letterbox, the model (YOLOX-Nano, one thread, the worker's pixel-input graph), output
   decode + NMS, the camera engine (tracker, zone, rules); then ``--receive-streams`` demux-only RTSP
   readers give the receiving cost per stream-second, reading in bursts as the worker's cameras do
   (``--read-batch``). Floor per stream-second = receiving +
   analysis fps x the sum of the steps.
2. Worker: bench_rtsp.run_once at N streams from the local gst-rtsp-server: worker CPU per
   stream-second, its ratio to the floor, lag p95, whether it holds (lag p95 < 2 s, max < 4 s, every
   camera at its rate). ``--search`` stops at the first N that does not hold.

3. After each worker run the steps are timed again: the run's floor is the mean of the floor just
   before and just after it (this host's speed drifts 10-20 % within minutes), and the sizing uses
   the mean of the runs' floors. ``ratio_at_analysed_rate`` sets the worker's CPU against the floor
   at the rate its cameras were really analysed in the window (a worker still draining its warm-up
   backlog analyses more than the nominal rate; one that falls behind, less).

The 1-minute load average is printed at the start and end of each part: on a shared machine only
the ratios of one run mean much.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))
os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))

from bench.bench_rtsp import combine, make_clip, phase_clips, run_once  # noqa: E402
from bench.bench_rtsp_receive import receive_cpu  # noqa: E402
from streetwarden.camera_adapters.live import DEFAULT_READ_BATCH_SECONDS  # noqa: E402
from streetwarden.camera_adapters.rtsp import configure_decoder  # noqa: E402
from streetwarden.config import ZoneConfig  # noqa: E402
from streetwarden.detectors import CameraEngine  # noqa: E402
from streetwarden.models import Detections, OnnxDetector  # noqa: E402
from streetwarden.models.letterbox import unletterbox  # noqa: E402
from streetwarden.models.nms import classwise_nms  # noqa: E402
from streetwarden.progress import Progress  # noqa: E402

STEPS = ("decode", "bgr", "letterbox", "model", "nms", "engine")
ZONE = ZoneConfig(id="walk", kind="sidewalk", dwell_seconds=30,
                  polygon=[(0.83, 0.05), (0.95, 0.05), (0.95, 0.20), (0.83, 0.20)])  # bench_rtsp.py's zone


def load() -> float:
    return round(os.getloadavg()[0], 2)


def step_costs(clip: Path, frames: int, providers: tuple[str, ...] = ("cpu",)) -> dict[str, float]:
    """Mean thread-CPU milliseconds per analysed frame of each step, on this thread alone."""
    import cv2

    cv2.setNumThreads(1)
    det = OnnxDetector(SHARED / "models" / "yolox_nano_coco_416.onnx", threads=1, max_batch=8,
                       providers=providers)
    engine = CameraEngine("floor", [ZONE], live=True)
    spent = dict.fromkeys(STEPS, 0.0)
    clock = time.thread_time
    progress = Progress("floor: timing steps", frames, unit="key frames")
    done = 0
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        configure_decoder(stream.codec_context, True, False)
        for packet in container.demux(stream):
            if not packet.is_keyframe or packet.size == 0:
                continue
            t0 = clock()
            decoded = stream.codec_context.decode(packet)
            t1 = clock()
            if not decoded:
                continue
            image = decoded[0].to_ndarray(format="bgr24")
            t2 = clock()
            pixels, info = det.prepare(image)
            t3 = clock()
            out = det.run_tensor(pixels[None])[0]
            t4 = clock()
            raw = det.family.decode(out, pixels.shape[:2], det.score_threshold)
            keep = classwise_nms(raw.xyxy, raw.score, raw.class_id, det.nms_iou)
            dets = Detections(unletterbox(raw.xyxy[keep], info), raw.score[keep], raw.class_id[keep].astype(np.int64), det.labels)
            t5 = clock()
            engine.process(done * 2.0, image, dets)  # 0.5 fps: one key frame in two
            t6 = clock()
            if done >= 3:  # the first frames warm caches and the session up
                for name, a, b in zip(STEPS, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)):
                    spent[name] += b - a
            done += 1
            progress.add()
            if done >= frames + 3:
                break
    measured = max(done - 3, 1)
    return {k: v * 1000 / measured for k, v in spent.items()}


def providers(args: argparse.Namespace) -> tuple[str, ...]:
    """--providers as a tuple, best first; empty: the CPU default."""
    return tuple(p for p in args.providers.split(",") if p)


def floor(clip: Path, args: argparse.Namespace) -> dict:
    load0 = load()
    steps = step_costs(clip, args.frames, providers(args) or ("cpu",))
    print(f"floor: receiving {args.receive_streams} streams for {args.receive_seconds:.0f} s…", file=sys.stderr, flush=True)
    receive, _ = receive_cpu(clip, args.receive_streams, args.receive_seconds, None, args.read_batch)
    per_frame = sum(steps.values())
    out = {"steps_ms_per_frame": {k: round(v, 2) for k, v in steps.items()}, "ms_per_frame": round(per_frame, 2),
           "receive_ms_per_stream_s": round(receive, 2), "analysis_fps": args.fps,
           "floor_ms_per_stream_s": round(receive + args.fps * per_frame, 2),
           "loadavg_1m_start": load0, "loadavg_1m_end": load()}
    out["floor_streams_per_core"] = round(1000 / out["floor_ms_per_stream_s"], 1)
    return out


def retime(clip: Path, args: argparse.Namespace, fl: dict) -> float:
    """The floor again right after a worker run, from the steps timed anew (receiving as at the
    start): this host's speed drifts by 10-20 % within minutes, so each run is judged against the
    mean of the floor just before it and just after it."""
    steps = step_costs(clip, args.frames, providers(args) or ("cpu",))
    return round(fl["receive_ms_per_stream_s"] + args.fps * sum(steps.values()), 2)


def worker_run(clip: Path, n: int, args: argparse.Namespace, workdir: Path, floor_ms: float, gating: bool) -> dict:
    extra: dict = {"gating": {"enabled": True}} if gating else {}
    if args.decode_threads is not None:
        extra["decoding"] = {"threads": args.decode_threads if args.decode_threads == "auto" else int(args.decode_threads)}
    extra = extra or None
    print(f"worker: {n} streams, gating {'on' if gating else 'off'}, warm-up {args.warmup:.0f} s + window {args.window:.0f} s…",
          file=sys.stderr, flush=True)
    kw = dict(threads=1, extra=extra, read_batch=args.read_batch, providers=list(providers(args)) or None, hw_decode=args.hw_decode,
              phases=args.phases)
    if args.processes <= 1:
        r = run_once(clip, n, "keyframe", args.fps, args.warmup, args.window, workdir, **kw)
    else:  # one worker process per share of the cameras, as several `worker` processes on one machine
        phase_clips(clip, args.phases)  # made here once, not by the processes at the same time
        shares = [n // args.processes + (k < n % args.processes) for k in range(args.processes)]
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(len(shares), mp_context=ctx) as pool:
            parts = list(pool.map(_share, [(clip, m, args.fps, args.warmup, args.window, workdir, kw, f"-p{k}")
                                           for k, m in enumerate(shares)]))
        r = combine(parts)
    r["gating"] = gating
    r["floor_ms_per_stream_s"] = floor_ms
    r["ratio_to_floor"] = round(r["worker_cpu_ms_per_stream_s"] / floor_ms, 3)
    return r


def at_analysed_rate(r: dict, receive_ms: float, fps: float) -> dict:
    """The floor at the rate the cameras were really analysed in the window: a worker that drains a
    backlog from its warm-up analyses more than `fps` (and one that falls behind, less), so its CPU per
    stream-second is set against the work it did, besides the nominal floor."""
    per_frame = (r["floor_ms_per_stream_s"] - receive_ms) / fps
    at_rate = receive_ms + r["analysed_fps_per_cam_mean"] * per_frame
    return {"floor_at_analysed_rate_ms_per_stream_s": round(at_rate, 2),
            "ratio_at_analysed_rate": round(r["worker_cpu_ms_per_stream_s"] / at_rate, 3)}


def _share(job: tuple) -> dict:
    clip, m, fps, warmup, window, workdir, kw, tag = job
    return run_once(clip, m, "keyframe", fps, warmup, window, workdir, tag=tag, keep_samples=True, **kw)


def sizing(floor_ms: float, runs: list[dict], held: int | None) -> dict:
    """Streams the machine would hold at the floor beside the local server (its CPU per stream from the
    worker runs), and the issue's target of 0.9 of that; with --search, the held share of it."""
    server = sorted(r["server_cpu_ms_per_stream_s"] for r in runs)
    if not server:
        return {}
    server_ms = server[len(server) // 2]
    cores = os.cpu_count() or 1
    at_floor = cores * 1000 / (floor_ms + server_ms)
    out = {"server_ms_per_stream_s": server_ms, "cores": cores, "floor_streams_beside_server": round(at_floor, 1),
           "target_streams": round(0.9 * at_floor, 1)}
    if held is not None:
        out["held_share_of_floor_streams"] = round(held / at_floor, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=64)
    ap.add_argument("--search", action="store_true", help="run each of --steps until one does not hold")
    ap.add_argument("--steps", default="48,64,80,96,112,128")
    ap.add_argument("--fps", type=float, default=0.5, help="analysis rate per camera (default 0.5)")
    ap.add_argument("--frames", type=int, default=40, help="key frames timed for the floor")
    ap.add_argument("--receive-streams", type=int, default=8)
    ap.add_argument("--receive-seconds", type=float, default=15.0)
    ap.add_argument("--read-batch", type=float, default=DEFAULT_READ_BATCH_SECONDS,
                    help="cameras' read_batch_seconds, in the worker and in the floor's receiving alike "
                    "(0: a read per packet)")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--gating", choices=["off", "on", "both"], default="off",
                    help="workers skip the model where nothing moved (gating.enabled); both: each N without, then with")
    ap.add_argument("--providers", default="", help="model execution providers, best first (e.g. cuda,cpu on a "
                    "GPU machine; the floor's model step then runs there too); default the CPU")
    ap.add_argument("--hw-decode", default="none", help="the worker's cameras decode on this FFmpeg hardware "
                    "decoder (e.g. cuda); the floor's decode step stays on the CPU")
    ap.add_argument("--decode-threads", default=None, help="the worker's decoding.threads (key frames of "
                    "keyframe-only cameras decode on a shared pool of this many threads; 0: each camera's own "
                    "thread; auto: half the cores); default the config's default")
    ap.add_argument("--processes", type=int, default=1, help="split the cameras over this many worker "
                    "processes (one per core, as several workers sharing a machine's cameras); default 1")
    ap.add_argument("--phases", type=int, default=1, help="cameras play the clip from this many different "
                    "starting points (camera i from (i mod P)/P of its length), so they do not all see the same "
                    "van park in the same second; default 1 (all in step)")
    ap.add_argument("--workdir", default=None, help="keeps the encoded clip between runs")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sw-bench-floor-live-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clip = make_clip(workdir, None, loops=3)
    fl = floor(clip, args)
    print(json.dumps({"floor": fl}), flush=True)
    runs, best = [], 0
    steps = [int(x) for x in args.steps.split(",")] if args.search else [args.streams]
    plan = [(n, g) for n in steps for g in {"off": [False], "on": [True], "both": [False, True]}[args.gating]]
    before = fl["floor_ms_per_stream_s"]
    for k, (n, gating) in enumerate(plan):
        left = (len(plan) - k) * (args.warmup + args.window + 20)
        print(f"worker runs: {k}/{len(plan)} done, ETA ≤ {left:.0f} s", file=sys.stderr, flush=True)
        r = worker_run(clip, n, args, workdir, before, gating)
        after = retime(clip, args, fl)
        r["floor_before_ms_per_stream_s"], r["floor_after_ms_per_stream_s"] = before, after
        r["floor_ms_per_stream_s"] = round((before + after) / 2, 2)
        r["ratio_to_floor"] = round(r["worker_cpu_ms_per_stream_s"] / r["floor_ms_per_stream_s"], 3)
        r.update(at_analysed_rate(r, fl["receive_ms_per_stream_s"], args.fps))
        r.update(sizing(r["floor_ms_per_stream_s"], [r], None))  # this run's floor streams beside the server
        before = after
        runs.append(r)
        print(json.dumps({k2: r[k2] for k2 in ("streams", "gating", "worker_cpu_ms_per_stream_s", "floor_before_ms_per_stream_s",
                                                "floor_after_ms_per_stream_s", "floor_ms_per_stream_s", "ratio_to_floor",
                                                "ratio_at_analysed_rate",
                                                "floor_streams_beside_server",
                                                "lag_p50", "lag_p95", "lag_max", "analysed_fps_per_cam_mean",
                                                "analysed_fps_per_cam_min", "loop_thread_cpu_cores", "reader_threads_cpu_cores",
                                                "model_threads_cpu_cores", "evidence_threads_cpu_cores", "other_threads_cpu_cores",
                                                "server_cpu_cores", "model_runs", "model_skips", "loadavg_1m_at_start",
                                                "loadavg_1m_at_end", "holds")}), flush=True)
        if not r["holds"] and args.search:
            break
        best = n if r["holds"] else best
    summary = {"floor": fl, "max_streams_held": best if args.search else None, "gating": args.gating,
               "phases": args.phases, "processes": args.processes, "runs": runs}
    # sizing from the floor of all the runs (each the mean of the floor before and after it)
    floors = [r["floor_ms_per_stream_s"] for r in runs] or [fl["floor_ms_per_stream_s"]]
    summary["floor_ms_per_stream_s_runs_mean"] = round(sum(floors) / len(floors), 2)
    summary.update(sizing(summary["floor_ms_per_stream_s_runs_mean"], runs, best if args.search else None))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}), flush=True)


if __name__ == "__main__":
    main()
