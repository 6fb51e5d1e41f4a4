"""Evidence bundles: one ZIP per notice or case, so the evidence can be shown unchanged elsewhere.

The ZIP holds every evidence file of the candidate as stored (bytes untouched), a frame strip made
from the key frames (first seen, best view, re-check), the record as JSON, and `manifest.json` with
the SHA-256 and size of every other file plus the SHA-256 recorded when each evidence file was
written; `intact` is false if any file no longer matches its record.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.notices import case_json, get_case, get_notice, notice_json
from streetwarden.store.schema import Evidence, now
from streetwarden.store.timefmt import iso

STRIP_KINDS = ("first", "frame", "recheck")
STRIP_HEIGHT = 360


def _strip(images: list[tuple[str, bytes]]) -> bytes | None:
    """Key frames side by side at one height, each captioned with its kind."""
    tiles = []
    for caption, data in images:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            continue
        scale = STRIP_HEIGHT / img.shape[0]
        tile = cv2.resize(img, (max(1, int(round(img.shape[1] * scale))), STRIP_HEIGHT))
        cv2.rectangle(tile, (0, 0), (tile.shape[1], 26), (0, 0, 0), -1)
        cv2.putText(tile, caption, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    if not tiles:
        return None
    ok, buf = cv2.imencode(".jpg", np.hstack(tiles), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes() if ok else None


def build_bundle(s: Session, storage: Path, ref: str) -> tuple[str, bytes]:
    """(file name, ZIP bytes) for a notice (SW-N-…) or case (SW-C-…); NotFound for an unknown ref."""
    record: Notice | Case = get_case(s, ref) if ref.startswith("SW-C-") else get_notice(s, ref)
    body = case_json(s, record) if isinstance(record, Case) else notice_json(s, record)
    rows = s.scalars(select(Evidence).where(Evidence.candidate_id == record.candidate_id).order_by(Evidence.id)).all()
    owner = record.ref if isinstance(record, Notice) else (record.notice.ref if record.notice else None)
    entries: list[dict[str, Any]] = []
    files: list[tuple[str, bytes]] = []
    key_frames: dict[str, tuple[str, bytes]] = {}
    for ev in rows:
        name = f"evidence/{ev.id:06d}-{ev.kind}{Path(ev.path).suffix or '.jpg'}"
        path = storage / ev.path
        entry: dict[str, Any] = {"name": name, "kind": ev.kind, "ts": ev.ts, "note": ev.note,
                                 "media_type": ev.media_type, "recorded_sha256": ev.sha256}
        if not path.is_file():
            entry.update(missing=True, intact=False)
            entries.append(entry)
            continue
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        entry.update(sha256=digest, size=len(data), intact=digest == ev.sha256)
        entries.append(entry)
        files.append((name, data))
        if ev.kind in STRIP_KINDS and (ev.kind != "recheck" or (owner and (ev.note or "").startswith(owner + ":"))):
            key_frames[ev.kind] = (f"{ev.kind} {ev.ts:.1f}", data)  # the latest of each kind
    strip = _strip([key_frames[k] for k in STRIP_KINDS if k in key_frames])
    if strip is not None:
        files.append(("frame_strip.jpg", strip))
        entries.append({"name": "frame_strip.jpg", "kind": "frame_strip", "sha256": hashlib.sha256(strip).hexdigest(),
                        "size": len(strip), "note": "generated: " + ", ".join(k for k in STRIP_KINDS if k in key_frames)})
    record_bytes = json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True).encode()
    files.append(("record.json", record_bytes))
    entries.append({"name": "record.json", "kind": "record", "sha256": hashlib.sha256(record_bytes).hexdigest(),
                    "size": len(record_bytes)})
    manifest = {"ref": ref, "kind": body["kind"], "generated_at": iso(now()), "algorithm": "sha256",
                "intact": all(e.get("intact", True) for e in entries), "files": entries}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zf.writestr(name, data)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return f"{ref}.zip", buf.getvalue()
