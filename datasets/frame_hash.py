"""Near-duplicate frames: how they are measured.

A fixed camera gives hundreds of almost identical frames of one scene; keeping them all would weigh
that scene many times over. The measure: each picture is shrunk to a 32x24 grey thumbnail
(INTER_AREA, so each cell is the mean of a block of pixels) and two pictures are near-duplicates
when **no** cell differs by more than ``NEAR_DUPLICATE_LEVELS`` grey levels. A re-encode or re-save
differs by 1-3 levels, a person standing still for half a second by ~10; a person walking for
0.1 s (vtest.avi) by ~50 and a bag put down on the pavement by far more, so those are kept. A
perceptual hash such as a 64-bit dHash was tried first and rejected: on flat car-park tarmac its
bits flip with JPEG noise, and on a fixed camera it calls frames with people in other places equal.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_SIZE = (32, 24)  # width, height
NEAR_DUPLICATE_LEVELS = 24  # of 255: largest cell difference that still counts as the same picture


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The 24x32 uint8 grey thumbnail pictures are compared by."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA)


def nearest(thumb: np.ndarray, others: np.ndarray) -> tuple[int, int] | None:
    """(index, largest cell difference) of the closest of ``others`` ([N, 24, 32] uint8); None if N is 0."""
    if len(others) == 0:
        return None
    diff = np.abs(others.astype(np.int16) - thumb.astype(np.int16)).reshape(len(others), -1).max(axis=1)
    i = int(diff.argmin())
    return i, int(diff[i])
