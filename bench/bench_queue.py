"""Review queue latency with 100,000 candidates in SQLite, measured against a running server.

Fills a temporary database (candidates with frame + crop evidence cut from real frames of
../shared/media/vtest.avi), starts `streetwarden serve --no-worker` on a free localhost port, and
drives it with a bounded Python load script (httpx, one client per thread):
- list:   GET /api/v1/candidates?status=pending (first pages, cursor pages, and filtered by violation / camera)
- claim:  POST /api/v1/candidates/claim (count 3) by 4 reviewers at once, each followed by
- decide: POST /api/v1/candidates/{id}/decision (the reviewer's real cycle)
Each simulated reviewer runs in its own process (no client-side GIL in the measurements).
- stats:  GET /api/v1/candidates/stats (the queue page's counts)
Prints p50/p95/p99 per endpoint; with --record, writes them into docs/review.md.

    python3 bench/bench_queue.py [--candidates 100000] [--concurrency 4] [--requests 2000] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))
PASSWORD = "bench-password-1"
from streetwarden.vocabulary import VIOLATIONS  # noqa: E402  (after the path insert: the checkout, not an install)
CAMERAS = [f"cam-{i:02d}" for i in range(8)]


def fill(db_url: str, storage: Path, n: int, reviewers: int) -> None:
    import cv2
    import numpy as np
    from sqlalchemy import insert

    from streetwarden.api.users.service import create_user
    from streetwarden.store.db import Database
    from streetwarden.store.evidence import crop_with_margin, save_image
    from streetwarden.store.schema import Candidate, Evidence

    db = Database(db_url)
    db.upgrade()
    cap = cv2.VideoCapture(str(SHARED / "media" / "vtest.avi"))
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"cannot read {SHARED / 'media' / 'vtest.avi'} (lay ../shared beside the checkout)")
    box = np.array([651.7, 42.0, 724.9, 99.4], np.float32)
    fp, fd, fw, fh = save_image(storage, "evidence/bench/frame.jpg", frame)
    cp, cd, cw, ch = save_image(storage, "evidence/bench/crop.jpg", crop_with_margin(frame, box))
    with db.session() as s:
        for i in range(reviewers):
            create_user(s, f"rev{i}", "reviewer", PASSWORD)
    t0 = 1_700_000_000.0
    chunk = 5000
    with db.engine.begin() as conn:
        for start in range(0, n, chunk):
            rows = []
            for k in range(start, min(n, start + chunk)):
                t = t0 + k * 7
                rows.append(dict(id=k + 1, camera_id=CAMERAS[k % len(CAMERAS)], zone_id="z1", violation=VIOLATIONS[k % len(VIOLATIONS)],
                                 label="car", score=0.5 + (k % 50) / 100, box=[651.7, 42.0, 724.9, 99.4], frame_width=768,
                                 frame_height=576, first_seen=t, last_seen=t + 130, live=True, active=False, status="pending",
                                 dedupe_key=f"bench/{k}", incident=f"bench-{k}", attributes={}, created_at=t, updated_at=t))
            conn.execute(insert(Candidate), rows)
            ev = []
            for r in rows:
                ev.append(dict(candidate_id=r["id"], kind="frame", path=fp, sha256=fd, width=fw, height=fh, ts=r["first_seen"],
                               media_type="image/jpeg", created_at=r["first_seen"]))
                ev.append(dict(candidate_id=r["id"], kind="crop", path=cp, sha256=cd, width=cw, height=ch, ts=r["first_seen"],
                               media_type="image/jpeg", created_at=r["first_seen"]))
            conn.execute(insert(Evidence), ev)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _timed(c: httpx.Client, lat: dict[str, list[float]], errors: list[str], name: str, method: str, path: str,
           **kw) -> httpx.Response:
    t = time.perf_counter()
    r = c.request(method, path, **kw)
    lat.setdefault(name, []).append((time.perf_counter() - t) * 1000)
    if r.status_code >= 400:
        errors.append(f"{name} {r.status_code} {r.text[:120]}")
    return r


def lister(url: str, token: str, i: int, rounds: int) -> tuple[dict[str, list[float]], list[str]]:
    """One browsing reviewer: first page, 1-3 cursor pages, one filtered page per round."""
    rnd = random.Random(i)
    lat: dict[str, list[float]] = {}
    errors: list[str] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        for _ in range(rounds):
            r = _timed(c, lat, errors, "list", "GET", "/api/v1/candidates", params={"status": "pending", "limit": 50})
            cur = r.json()["next_cursor"]
            for _ in range(rnd.randint(1, 3)):
                cur = _timed(c, lat, errors, "list_cursor", "GET", "/api/v1/candidates",
                             params={"status": "pending", "limit": 50, "cursor": cur}).json()["next_cursor"]
            f = rnd.choice([{"violation": rnd.choice(VIOLATIONS)}, {"camera_id": rnd.choice(CAMERAS)}])
            _timed(c, lat, errors, "list_filtered", "GET", "/api/v1/candidates", params={"status": "pending", "limit": 50, **f})
    return lat, errors


def reviewer(url: str, token: str, i: int, rounds: int) -> tuple[dict[str, list[float]], list[str]]:
    """One deciding reviewer: claim 3 (current + 2 preloaded), decide the first, every 5th time refresh the counts."""
    rnd = random.Random(100 + i)
    lat: dict[str, list[float]] = {}
    errors: list[str] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        for k in range(rounds):
            items = _timed(c, lat, errors, "claim", "POST", "/api/v1/candidates/claim", json={"count": 3}).json()["items"]
            if items:
                d = rnd.choice(["warn", "case", "reject"])
                body = {"decision": d, **({"reason": "false_detection"} if d == "reject" else {})}
                _timed(c, lat, errors, "decide", "POST", f"/api/v1/candidates/{items[0]['id']}/decision", json=body,
                       headers={"Idempotency-Key": f"bench-{i}-{k}"})
            if k % 5 == 0:
                _timed(c, lat, errors, "stats", "GET", "/api/v1/candidates/stats")
    return lat, errors


def run_load(url: str, tokens: list[str], total: int, conc: int) -> dict[str, list[float]]:
    """Each simulated reviewer is its own process, so the load tool's GIL never delays a measurement."""
    from concurrent.futures import ProcessPoolExecutor

    lat: dict[str, list[float]] = {}
    errors: list[str] = []
    per = max(1, total // conc)
    with ProcessPoolExecutor(conc) as pool:
        for fn, rounds in ((lister, max(1, per // 4)), (reviewer, max(1, per // 2))):  # browsing, then deciding
            for part, errs in pool.map(fn, [url] * conc, tokens, range(conc), [rounds] * conc):
                errors += errs
                for k, v in part.items():
                    lat.setdefault(k, []).extend(v)
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return lat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--requests", type=int, default=2000, help="about this many requests per phase")
    ap.add_argument("--workers", type=int, default=2, help="HTTP worker processes of the server (server.workers)")
    ap.add_argument("--record", action="store_true", help="write the results into docs/review.md")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp:
        tmp_path = Path(tmp)
        db_url = f"sqlite:///{tmp_path / 'bench.db'}"
        cams = "\n".join(f"  - {{id: {c}, source: {SHARED / 'media' / 'vtest.avi'}, enabled: false}}" for c in CAMERAS)
        (tmp_path / "bench.yaml").write_text(f"database: {db_url}\nstorage: {tmp_path / 'storage'}\ncameras:\n{cams}\n")
        from streetwarden.config import load_settings

        settings = load_settings(tmp_path / "bench.yaml")
        from streetwarden.store.cameras import sync_cameras
        from streetwarden.store.db import Database

        db = Database(settings.database_url)
        db.upgrade()
        with db.session() as s:
            sync_cameras(s, settings)
        t = time.perf_counter()
        fill(db_url, settings.storage_path, args.candidates, args.concurrency)
        fill_s = time.perf_counter() - t
        print(f"filled {args.candidates} candidates in {fill_s:.1f} s", flush=True)

        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        log = open(tmp_path / "serve.log", "w")
        env = {**os.environ, "PYTHONPATH": str(REPO), "STREETWARDEN_SECRET": "bench-secret-0123456789"}
        proc = subprocess.Popen([sys.executable, "-m", "streetwarden", "--log-level", "WARNING", "serve", "--config",
                                 str(tmp_path / "bench.yaml"), "--port", str(port), "--no-worker", "--workers", str(args.workers)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("server did not start:\n" + (tmp_path / "serve.log").read_text())
                time.sleep(0.2)
            tokens = [httpx.post(url + "/api/v1/auth/token", data={"username": f"rev{i}", "password": PASSWORD}).json()["access_token"]
                      for i in range(args.concurrency)]
            for tok in tokens:  # warm up (first queries, page cache)
                httpx.get(url + "/api/v1/candidates", params={"status": "pending"}, headers={"Authorization": f"Bearer {tok}"})
            load_before = os.getloadavg()[0]
            t = time.perf_counter()
            lat = run_load(url, tokens, args.requests, args.concurrency)
            wall = time.perf_counter() - t
            load_after = os.getloadavg()[0]
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()

    rows = []
    for name, values in lat.items():
        if values:
            rows.append({"endpoint": name, "requests": len(values), "p50_ms": round(statistics.median(values), 1),
                         "p95_ms": round(pct(values, 95), 1), "p99_ms": round(pct(values, 99), 1),
                         "max_ms": round(max(values), 1)})
    total = sum(r["requests"] for r in rows)
    result = {"candidates": args.candidates, "concurrency": args.concurrency, "server_workers": args.workers, "requests": total,
              "wall_s": round(wall, 1), "throughput_rps": round(total / wall, 1), "rows": rows,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "load_average": [round(load_before, 1), round(load_after, 1)]}
    print(json.dumps(result, indent=1))
    table = ["| endpoint | requests | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
    table += [f"| {r['endpoint']} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} |" for r in rows]
    print("\n".join(table))
    ok = all(r["p95_ms"] < 50 for r in rows if r["endpoint"] in ("list", "list_cursor", "list_filtered", "claim"))
    print(f"list and claim p95 < 50 ms: {'yes' if ok else 'NO'}")
    if args.record:
        doc = REPO / "docs" / "review.md"
        text = doc.read_text(encoding="utf-8")
        block = (f"<!-- bench:queue -->\nMeasured {time.strftime('%Y-%m-%d')} on {result['machine']} "
                 f"(1-min load average {result['load_average'][0]} before, {result['load_average'][1]} after: the "
                 f"machine is shared), {args.candidates:,} candidates, concurrency {args.concurrency}, "
                 f"{args.workers} server worker processes, "
                 f"{total} requests in {result['wall_s']} s ({result['throughput_rps']} req/s):\n\n" + "\n".join(table)
                 + f"\n\nlist and claim p95 < 50 ms: **{'yes' if ok else 'no'}**\n<!-- /bench:queue -->")
        text = re.sub(r"<!-- bench:queue -->.*?<!-- /bench:queue -->", lambda _: block, text, flags=re.S)
        doc.write_text(text, encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
