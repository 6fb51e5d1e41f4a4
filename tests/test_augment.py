"""Training augmentation (datasets/augment.py) on real garbage-cn photos: the boxes go where the
pixels go through mosaic, scale, shift and flip; samples are reproducible from their seed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwarden.datasets.augment import (AugmentSettings, ImageCache, flip, hsv_jitter, mosaic, mosaic_sample,
                                           random_affine)
from tests.conftest import shared_path

SIZE = 256


@pytest.fixture(scope="module")
def photos() -> list[Path]:
    images = sorted((shared_path("datasets", "garbage-cn") / "images").glob("*.jpg"))
    assert len(images) >= 40, "garbage-cn images missing"
    return images[::25][:40]


def with_box_mask(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The image with a 4th channel that is 255 inside every labelled box, 0 elsewhere."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for _, x1, y1, x2, y2 in labels:
        mask[int(np.ceil(y1)):int(y2), int(np.ceil(x1)):int(x2)] = 255
    return np.dstack([image, mask])


def box_fill(mask: np.ndarray, box: np.ndarray, inset: int = 2) -> float:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    inner = mask[y1 + inset:y2 - inset, x1 + inset:x2 - inset]
    return float((inner > 200).mean()) if inner.size else 1.0


def test_boxes_follow_the_pixels_through_mosaic_scale_and_shift(photos) -> None:
    cache = ImageCache(SIZE)
    settings = AugmentSettings()
    fills, covered, total_mask, n_boxes = [], 0, 0, 0
    for seed in range(24):
        rng = np.random.default_rng(seed)
        parts = []
        for k in rng.choice(len(photos), 4, replace=False):
            image, labels = cache.get(photos[int(k)])
            parts.append((with_box_mask(image, labels), labels))
        canvas, labels = mosaic(parts, SIZE, rng)
        assert canvas.shape == (2 * SIZE, 2 * SIZE, 4)
        out, labels = random_affine(canvas, labels, SIZE, rng, settings)
        assert out.shape == (SIZE, SIZE, 4) and out.dtype == np.uint8
        assert ((labels[:, 1:] >= 0) & (labels[:, 1:] <= SIZE)).all()
        assert (labels[:, 3] > labels[:, 1]).all() and (labels[:, 4] > labels[:, 2]).all()
        assert set(labels[:, 0].astype(int)) <= {0, 1, 2}
        mask = out[:, :, 3]
        fills += [box_fill(mask, b) for b in labels[:, 1:]]
        n_boxes += len(labels)
        # most of the boxes' pixels are inside a kept box (only slivers cut at the border are dropped)
        inside = np.zeros_like(mask, bool)
        for x1, y1, x2, y2 in labels[:, 1:]:
            inside[max(0, int(y1) - 2):int(y2) + 3, max(0, int(x1) - 2):int(x2) + 3] = True
        covered += int(((mask > 200) & inside).sum())
        total_mask += int((mask > 200).sum())
    assert n_boxes >= 40
    assert min(fills) >= 0.9, f"a box landed off its object: fill {min(fills):.2f}"
    assert covered / total_mask >= 0.85


def test_flip_mirrors_pixels_and_boxes(photos) -> None:
    image, labels = ImageCache(SIZE).get(photos[3])
    assert len(labels)
    marked = with_box_mask(image, labels)
    mirrored, moved = flip(marked, labels)
    assert np.array_equal(mirrored[:, :, :3], image[:, ::-1])
    assert np.array_equal(moved[:, 0], labels[:, 0])
    assert all(box_fill(np.ascontiguousarray(mirrored[:, :, 3]), b) >= 0.95 for b in moved[:, 1:])


def test_colour_jitter_keeps_the_picture_and_changes_its_colours(photos) -> None:
    image, _ = ImageCache(SIZE).get(photos[5])
    out = hsv_jitter(image, np.random.default_rng(7), (0.015, 0.7, 0.4))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - image.astype(int)).mean() > 2  # colours moved
    grey_in = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey_out = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float32)
    assert np.corrcoef(grey_in.ravel(), grey_out.ravel())[0, 1] > 0.9  # the same scene


def test_samples_are_reproducible_from_their_seed(photos) -> None:
    cache = ImageCache(SIZE)
    a = [mosaic_sample(cache, photos, i, np.random.default_rng(11)) for i in range(3)]
    b = [mosaic_sample(ImageCache(SIZE), photos, i, np.random.default_rng(11)) for i in range(3)]
    for (ia, la), (ib, lb) in zip(a, b):
        assert ia.shape == (SIZE, SIZE, 3) and np.array_equal(ia, ib) and np.array_equal(la, lb)
    c = mosaic_sample(cache, photos, 0, np.random.default_rng(12))
    assert not np.array_equal(a[0][0], c[0])
