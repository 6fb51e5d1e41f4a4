"""HTTP download into a `.part` file that survives an interruption and resumes with a Range request.

Why resumable: city links are slow and drop; a 4 MB model over a flaky VPN should not start from
zero each time. The `.part` file is never the final name; the caller verifies and renames it.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from streetwarden.models.detector import ModelError
from streetwarden.progress import Progress

CHUNK = 64 * 1024


class FetchError(ModelError):
    """A download that failed; the message says what happened and what to run next."""


@dataclass(frozen=True)
class Downloaded:
    size: int
    resumed_from: int  # bytes already in the .part file when this run started
    range_sent: bool


def _meta(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _read_meta(part: Path) -> dict:
    try:
        return json.loads(_meta(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def discard(part: Path) -> None:
    """Forget a partial download (bad bytes must not be resumed)."""
    part.unlink(missing_ok=True)
    _meta(part).unlink(missing_ok=True)


def _open(url: str, offset: int, validator: str | None, timeout: float):  # type: ignore[no-untyped-def]
    headers = {"User-Agent": "streetwarden-models/1"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = validator  # the server sends the whole file if it changed meanwhile
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _start_of(resp, offset: int, part: Path) -> int:  # type: ignore[no-untyped-def]
    """Where the body starts: offset for a 206 that continues our bytes, else 0 (whole file)."""
    if resp.status != 206:
        return 0
    content_range = resp.headers.get("Content-Range", "")
    try:
        start = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        raise FetchError(f"the server answered a Range request with a malformed Content-Range '{content_range}'") from None
    if start != offset:
        discard(part)
        raise FetchError(f"the server resumed at byte {start}, not {offset}: the partial download was discarded; "
                         "run the same command again")
    return offset


def download(url: str, part: Path, label: str, stream: IO[str] | None = None, timeout: float = 30.0) -> Downloaded:
    """Fetch `url` into `part`, continuing an earlier partial download of the same URL."""
    meta = _read_meta(part)
    offset = part.stat().st_size if part.exists() and meta.get("url") == url else 0
    try:
        resp = _open(url, offset, meta.get("validator"), timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing after our bytes: the .part may already be whole
            return Downloaded(offset, offset, True)
        raise FetchError(f"{url}: the server answered {err.code} {err.reason} (check the address or the mirror "
                         "serves this file name)") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise FetchError(f"cannot download {url}: {reason} (check the network, or set a mirror with --mirror / "
                         "$STREETWARDEN_MODEL_MIRROR, or copy the file in with `streetwarden models import FILE`)") from None
    with resp:
        start = _start_of(resp, offset, part)
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        part.parent.mkdir(parents=True, exist_ok=True)
        _meta(part).write_text(json.dumps({"url": url, "validator": validator, "total": total}), encoding="utf-8")
        done = start
        progress = Progress(label + (f" (resuming at {start / 1e6:.1f} MB)" if start else ""),
                            (total - start) if total else None, unit="MB", scale=1e6, stream=stream)
        with part.open("r+b" if start else "wb") as f:
            f.seek(start)
            f.truncate()
            try:
                while block := resp.read(CHUNK):
                    f.write(block)
                    done += len(block)
                    progress.add(len(block))
            except (OSError, http.client.HTTPException) as err:
                f.flush()
                raise FetchError(f"download of {url} interrupted at {done} of {total or '?'} bytes ({type(err).__name__}); "
                                 "run the same command again to resume") from None
            f.flush()
        progress.print()
    if total is not None and done < total:
        raise FetchError(f"download of {url} interrupted at {done} of {total} bytes; run the same command again to resume")
    return Downloaded(done, offset, bool(offset))
