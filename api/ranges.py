"""HTTP Range headers of evidence files, checked before Starlette serves the bytes.

A <video> seeks in a clip with Range requests (206). Starlette answers a malformed or unsatisfiable
one itself, as plain text; checked here first, the client gets the API's error shape and a stable
code (bad_range 400, range_not_satisfiable 416) instead.
"""

from __future__ import annotations

import re

from streetwarden.api.errors import ApiError

_RANGE = re.compile(r"^bytes=\s*\d*-\d*(\s*,\s*\d*-\d*)*\s*$")
HOW = "write bytes=START-END, bytes=START- or bytes=-LAST (byte offsets, the first byte is 0)"


def check_range(header: str | None, size: int) -> None:
    """Raise ApiError unless `header` is absent or asks for at least one byte of a `size`-byte file."""
    if header is None:
        return
    shown = header[:80]
    if not _RANGE.match(header):
        raise ApiError(400, f"Range header {shown!r} is malformed: {HOW}", "bad_range")
    satisfiable = False
    for part in header.split("=", 1)[1].split(","):
        start, end = (x.strip() for x in part.split("-", 1))
        if not start and not end:
            raise ApiError(400, f"Range header {shown!r} has an empty range: {HOW}", "bad_range")
        if start and end and int(start) > int(end):
            raise ApiError(400, f"Range header {shown!r}: a range ends before it starts ({start}-{end}); {HOW}",
                           "bad_range")
        satisfiable |= (int(start) < size) if start else int(end) > 0
    if not satisfiable:
        raise ApiError(416, f"Range header {shown!r} asks for bytes past the end: the file has {size} bytes",
                       "range_not_satisfiable", headers={"Content-Range": f"bytes */{size}"})
