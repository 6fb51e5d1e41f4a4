"""How many live 720p cameras one worker holds: N simultaneous 1280x720 25 fps H.264 RTSP streams
from a local gst-rtsp-server, each analysed at --fps with YOLOX-Nano, keyframe-only vs full decode.

For each (N, mode) it runs the real Worker in this process for a warm-up plus a measured window and
reports: analysis lag (capture → model done; p50/p95/max), analysed fps per camera, frames dropped,
worker CPU (this process) and RTSP-server CPU (its processes), per stream. A run "holds" when every
camera is online, p95 lag < 2 s, max lag < 4 s and cameras get >= 90 % of their analysis rate.

    python3 bench/bench_rtsp.py --search                       # largest N per mode (writes JSON)
    python3 bench/bench_rtsp.py --streams 16 --mode keyframe   # one run

The clip is ../shared/media/vtest.avi scaled to 1280x720, resampled to 25 fps, with light temporal
noise (a real sensor's: every P-frame carries residuals), 2 Mbit/s, key frame every 25 frames (1 s),
no B-frames — a typical IP camera main stream.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streetwarden.pipeline.worker import Worker  # noqa: E402
from streetwarden.store.db import Database  # noqa: E402
from streetwarden.config import parse_settings  # noqa: E402
from tests.rtsp_server import RtspServer, transcode  # noqa: E402

SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))
MOUNTS_PER_SERVER = 32


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


EVIDENCE_THREADS = {"sw-store", "clip-recorder", "evidence-grabber"}


def thread_cpu() -> dict[str, float]:
    """CPU seconds by role: the worker loop thread (engine), camera reader threads (receive, decode,
    letterbox), the model pool, the evidence threads (store, clips, main-stream grabber), the rest."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out = {"loop": 0.0, "readers": 0.0, "model": 0.0, "evidence": 0.0, "other": 0.0}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        name = names.get(int(task.name), "")
        role = ("loop" if name == "worker-loop" else "readers" if name.startswith("cam-")
                else "model" if name.startswith("sw-model") else "evidence" if name in EVIDENCE_THREADS else "other")
        out[role] += cpu
    return out


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_clip(workdir: Path, seconds: float | None, loops: int) -> Path:
    clip = workdir / "vtest-720p25.mp4"
    if not clip.exists():
        t = time.monotonic()
        transcode(SHARED / "media" / "vtest.avi", clip, width=1280, height=720, fps=25, gop=25, loops=loops,
                  bitrate="2M", noise=6, seconds=seconds)
        print(f"encoded {clip.name} in {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
    return clip


def make_substream(workdir: Path, loops: int) -> Path:
    """The cameras' second stream: 640x360 25 fps H.264 at 512 kbit/s, key frame every second."""
    clip = workdir / "vtest-360p25.mp4"
    if not clip.exists():
        transcode(SHARED / "media" / "vtest.avi", clip, width=640, height=360, fps=25, gop=25, loops=loops,
                  bitrate="512k", noise=6)
    return clip


def duration(clip: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(clip)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip())


def phase_clips(clip: Path, phases: int) -> list[Path]:
    """`phases` copies of `clip`, each starting a further 1/phases of its length in (stream copy, cut at
    key frames, the skipped start appended at the end).

    Every bench camera plays the same clip from the moment it connects, and they all connect in the
    same second, so without this every camera sees the same van park in the same second and raises it
    together: a burst of evidence writes no street produces. A city's cameras see unrelated scenes.
    """
    if phases <= 1:
        return [clip]
    length = duration(clip)
    out = [clip]
    for k in range(1, phases):
        dst = clip.with_name(f"{clip.stem}.phase{k}of{phases}.mp4")
        if not dst.exists():
            offset = float(round(length * k / phases))  # whole seconds: on a key frame (GOP 1 s), no pre-roll
            head, tail, listing = (dst.with_suffix(s) for s in (".head.mp4", ".tail.mp4", ".txt"))
            ff = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
            subprocess.run(ff + ["-ss", f"{offset:.3f}", "-i", str(clip), "-c", "copy", str(tail)], check=True)
            subprocess.run(ff + ["-i", str(clip), "-t", f"{offset:.3f}", "-c", "copy", str(head)], check=True)
            listing.write_text(f"file '{tail.name}'\nfile '{head.name}'\n")
            subprocess.run(ff + ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(dst)], check=True)
            for f in (head, tail, listing):
                f.unlink()
        out.append(dst)
    return out


def run_once(clip: Path, n: int, mode: str, fps: float, warmup: float, window: float, workdir: Path,
             threads: int = 0, sub: Path | None = None, fast_decode: bool = False, extra: dict | None = None,
             providers: list[str] | None = None, hw_decode: str = "none", phases: int = 1,
             tag: str = "", keep_samples: bool = False, read_batch: float | None = None) -> dict:
    """One measurement; with `sub`, cameras analyse the sub-stream and take evidence from the 720p one;
    `extra`: more top-level settings (e.g. {"gating": {"enabled": True}}); `providers` / `hw_decode`:
    the model's execution providers and the cameras' hardware decoder (a GPU machine); `phases`: camera
    i plays the clip shifted by (i mod phases)/phases of its length (:func:`phase_clips`); `tag` keeps the
    database of runs in parallel processes apart; `keep_samples` adds the raw lags and per-camera rates
    (to combine several processes' runs: :func:`combine`); `read_batch`: the cameras'
    read_batch_seconds (None: the default)."""
    clips = phase_clips(clip, phases)
    servers = []
    for start in range(0, n, MOUNTS_PER_SERVER):
        mounts = {f"/cam{i}": clips[i % len(clips)] for i in range(start, min(n, start + MOUNTS_PER_SERVER))}
        if sub is not None:
            mounts.update({f"/sub{i}": sub for i in range(start, min(n, start + MOUNTS_PER_SERVER))})
        servers.append(RtspServer(mounts).start())
    cams = []
    for i in range(n):
        srv = servers[i // MOUNTS_PER_SERVER]
        streams = {"source": srv.url(f"/sub{i}"), "evidence_source": srv.url(f"/cam{i}")} if sub is not None else {}
        cams.append({"id": f"cam{i}", "source": srv.url(f"/cam{i}"), **streams, "analysis_fps": fps,
                     "keyframe_only": mode == "keyframe", "timeout_seconds": 10, "fast_decode": fast_decode,
                     "hw_decode": hw_decode,
                     **({"read_batch_seconds": read_batch} if read_batch is not None else {}),
                     "zones": [{"id": "walk", "kind": "sidewalk", "dwell_seconds": 30,
                                "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}]})
    db_path = workdir / f"bench-{n}-{mode}{tag}.db"
    db_path.unlink(missing_ok=True)
    settings = parse_settings({"database": f"sqlite:///{db_path}", "storage": str(workdir / "data"),
                               "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": threads,
                                                      **({"providers": providers} if providers else {})}},
                               "cameras": cams,
                               **(extra or {})},
                              base_dir=workdir)
    db = Database(settings.database_url)
    db.upgrade()
    worker = Worker(settings, db)
    thread = threading.Thread(target=worker.run, name="worker-loop", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + max(warmup, 5) + 20
        time.sleep(warmup)
        while time.monotonic() < deadline and not all(r.health.state == "online" for r in worker.runners):
            time.sleep(0.5)
        online_at_start = sum(r.health.state == "online" for r in worker.runners)
        processed0 = {r.cam.id: r.health.frames_processed for r in worker.runners}
        dropped0 = sum(r.health.frames_dropped for r in worker.runners)
        cpu0, srv0, th0 = self_cpu(), sum(proc_cpu(s.pid) for s in servers), thread_cpu()
        lag_mark = len(worker.lags)
        load0 = os.getloadavg()[0]
        t0 = time.monotonic()
        time.sleep(window)
        dt = time.monotonic() - t0
        cpu1, srv1, th1 = self_cpu(), sum(proc_cpu(s.pid) for s in servers), thread_cpu()
        lags = np.array(list(worker.lags)[lag_mark:], np.float64)
        per_cam = np.array([(r.health.frames_processed - processed0.get(r.cam.id, 0)) / dt for r in worker.runners])
        dropped = sum(r.health.frames_dropped for r in worker.runners) - dropped0
        online = sum(r.health.state == "online" for r in worker.runners)
        stream_lag = max((getattr(r.source, "stream_lag", 0.0) for r in worker.runners if r.source), default=0.0)
        reconnects = sum(r.health.reconnects for r in worker.runners)
    finally:
        worker.stop()
        thread.join(30)
        for s in servers:
            s.kill()
    expected = fps if mode == "full" else min(fps, 1.0)  # key frames come once a second
    result = {
        "streams": n, "mode": mode, "phases": len(clips), "analysis_fps": fps, "window_s": round(dt, 1),
        "analysed_stream": "640x360 sub-stream (evidence from 1280x720)" if sub is not None else "1280x720",
        "fast_decode": fast_decode,
        "online": online, "online_at_start": online_at_start, "reconnects": reconnects,
        "lag_p50": round(float(np.percentile(lags, 50)), 3) if lags.size else None,
        "lag_p95": round(float(np.percentile(lags, 95)), 3) if lags.size else None,
        "lag_max": round(float(lags.max()), 3) if lags.size else None,
        "reader_lag_max": round(float(stream_lag), 3),
        "analysed_fps_per_cam_min": round(float(per_cam.min()), 3) if per_cam.size else 0.0,
        "analysed_fps_per_cam_mean": round(float(per_cam.mean()), 3) if per_cam.size else 0.0,
        "frames_dropped": int(dropped),
        "worker_cpu_cores": round((cpu1 - cpu0) / dt, 3),
        "worker_cpu_ms_per_stream_s": round((cpu1 - cpu0) / dt / n * 1000, 1),
        "loop_thread_cpu_cores": round((th1["loop"] - th0["loop"]) / dt, 3),
        "reader_threads_cpu_cores": round((th1["readers"] - th0["readers"]) / dt, 3),
        "model_threads_cpu_cores": round((th1["model"] - th0["model"]) / dt, 3),
        "evidence_threads_cpu_cores": round((th1["evidence"] - th0["evidence"]) / dt, 3),
        "other_threads_cpu_cores": round((th1["other"] - th0["other"]) / dt, 3),
        "ms_per_analysed_frame_loop": round((th1["loop"] - th0["loop"]) / max(per_cam.sum() * dt, 1) * 1000, 1),
        "server_cpu_cores": round((srv1 - srv0) / dt, 3),
        "server_cpu_ms_per_stream_s": round((srv1 - srv0) / dt / n * 1000, 1),
        "loadavg_1m_at_start": round(load0, 2),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "model_runs": sum(r.record.model_runs for r in worker.runners),
        "model_skips": sum(r.record.model_skips for r in worker.runners),
    }
    result["holds"] = holds(result, n, lags.size, expected)
    if keep_samples:
        result["samples"] = {"lags": lags.tolist(), "per_cam": per_cam.tolist(), "expected": expected}
    return result


def holds(r: dict, n: int, n_lags: int, expected: float) -> bool:
    """Every camera online, lag p95 < 2 s and max < 4 s, cameras at ≥ 90 % of their rate (none under 60 %)."""
    return bool(r["online"] == n and n_lags > 0 and r["lag_p95"] < 2.0 and r["lag_max"] < 4.0
                and r["analysed_fps_per_cam_mean"] >= 0.9 * expected and r["analysed_fps_per_cam_min"] >= 0.6 * expected)


def combine(parts: list[dict]) -> dict:
    """One result from runs of several worker processes side by side (each with `keep_samples`)."""
    n = sum(p["streams"] for p in parts)
    lags = np.concatenate([np.array(p["samples"]["lags"], np.float64) for p in parts])
    per_cam = np.concatenate([np.array(p["samples"]["per_cam"], np.float64) for p in parts])
    out = {k: v for k, v in parts[0].items() if k != "samples"}
    total = {k: round(sum(p[k] for p in parts), 3) for k in ("online", "online_at_start", "reconnects", "frames_dropped",
                                                   "worker_cpu_cores", "loop_thread_cpu_cores", "reader_threads_cpu_cores",
                                                   "model_threads_cpu_cores", "evidence_threads_cpu_cores", "other_threads_cpu_cores",
                                                   "server_cpu_cores", "model_runs", "model_skips")}
    out.update(total, streams=n, processes=len(parts))
    out.update({"lag_p50": round(float(np.percentile(lags, 50)), 3) if lags.size else None,
                "lag_p95": round(float(np.percentile(lags, 95)), 3) if lags.size else None,
                "lag_max": round(float(lags.max()), 3) if lags.size else None,
                "reader_lag_max": max(p["reader_lag_max"] for p in parts),
                "analysed_fps_per_cam_min": round(float(per_cam.min()), 3) if per_cam.size else 0.0,
                "analysed_fps_per_cam_mean": round(float(per_cam.mean()), 3) if per_cam.size else 0.0,
                "worker_cpu_ms_per_stream_s": round(total["worker_cpu_cores"] / n * 1000, 1),
                "server_cpu_ms_per_stream_s": round(total["server_cpu_cores"] / n * 1000, 1),
                "loadavg_1m_at_end": max(p["loadavg_1m_at_end"] for p in parts)})
    out["holds"] = holds(out, n, lags.size, parts[0]["samples"]["expected"])
    return out


def search(clip: Path, mode: str, steps: list[int], args: argparse.Namespace, workdir: Path, out: list) -> int:
    best = 0
    for n in steps:
        r = run_once(clip, n, mode, args.fps, args.warmup, args.window, workdir, args.threads)
        out.append(r)
        print(json.dumps(r), flush=True)
        if not r["holds"]:
            break
        best = n
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, default=16)
    p.add_argument("--mode", choices=["keyframe", "full"], default="keyframe")
    p.add_argument("--fps", type=float, default=1.0, help="analysis rate per camera (default 1)")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = one per core)")
    p.add_argument("--warmup", type=float, default=12.0)
    p.add_argument("--window", type=float, default=30.0)
    p.add_argument("--search", action="store_true", help="find the largest N per mode")
    p.add_argument("--keyframe-steps", default="16,32,48,64,80,96,112,128")
    p.add_argument("--full-steps", default="2,4,6,8,10,12,16")
    p.add_argument("--compare-at", type=int, default=8, help="N at which both modes are compared")
    p.add_argument("--substream", action="store_true",
                   help="analyse each camera's 640x360 sub-stream, evidence from its 720p main stream")
    p.add_argument("--fast-decode", action="store_true", help="cameras with fast_decode: true (no deblocking filter)")
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args()
    os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sw-bench-rtsp-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clip = make_clip(workdir, None, loops=3)
    results: list[dict] = []
    summary: dict = {"cpu_count": os.cpu_count(), "clip": "1280x720 25 fps H.264 2 Mbit/s GOP 25", "fps": args.fps}
    if args.search:
        for mode in ("keyframe", "full"):
            r = run_once(clip, args.compare_at, mode, args.fps, args.warmup, args.window, workdir, args.threads)
            results.append(r)
            print(json.dumps(r), flush=True)
            summary[f"compare_{mode}"] = r
        summary["keyframe_max_streams"] = search(clip, "keyframe", [int(x) for x in args.keyframe_steps.split(",")], args, workdir, results)
        summary["full_max_streams"] = search(clip, "full", [int(x) for x in args.full_steps.split(",")], args, workdir, results)
        k, f = summary["compare_keyframe"], summary["compare_full"]
        summary["cpu_ratio_full_over_keyframe"] = round(f["worker_cpu_cores"] / max(k["worker_cpu_cores"], 1e-6), 2)
    else:
        sub = make_substream(workdir, loops=3) if args.substream else None
        r = run_once(clip, args.streams, args.mode, args.fps, args.warmup, args.window, workdir, args.threads, sub,
                     args.fast_decode)
        results.append(r)
        print(json.dumps(r), flush=True)
    summary["runs"] = results
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
