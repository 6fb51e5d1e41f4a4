"""What every camera adapter yields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Frame:
    """One decoded picture of one camera.

    ``ts`` is seconds: from the start of the file for file sources (``live`` False), Unix time for
    live sources, so candidates of recorded footage are reproducible run after run.
    """

    camera_id: str
    ts: float
    image: np.ndarray
    index: int = 0
    live: bool = False

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
