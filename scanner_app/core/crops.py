"""Frame one character into a 28 x 28 crop: the single definition shared by the app and training.

The framing is EMNIST-style, so every training set and every page crop look alike:

1. crop to the ink's bounding box (pixels above ``INK_THRESHOLD`` of the maximum);
2. optionally normalise the stroke width: the glyph is redrawn at ``WORK_SIZE`` px and its
   pens are thickened or thinned until the stroke is ``TARGET_STROKE`` of the glyph's size
   (a thin pen on a scanned page and a fat mouse stroke on the canvas then look the same);
3. centre it in a square that keeps the aspect ratio, pad by ``PAD_FRACTION`` on each side;
4. resample to 28 x 28 (area averaging when shrinking, bilinear when enlarging);
5. scale so the brightest pixel is 1.0 (contrast normalisation).

Inputs are "ink high": 0 is background, larger is more ink (uint8 0..255 or float 0..1).
Outputs are float32 in 0..1, ink high, upright.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .types import CROP_SIZE, CharBox, CropBatch

INK_THRESHOLD = 0.2
PAD_FRACTION = 0.02
WORK_SIZE = 64
# Stroke width as a fraction of the glyph's larger side; the pen-trajectory sets are
# rendered at 8.5%, and scanned pen strokes are thinner, mouse strokes fatter.
TARGET_STROKE = 0.085


def _as_float(ink: np.ndarray) -> np.ndarray:
    """Return ``ink`` as float32 scaled to 0..1 by its maximum (all zeros stays zeros)."""
    if ink.ndim != 2:
        raise ValueError(f"expected a 2-D ink image, got shape {ink.shape}")
    a = ink.astype(np.float32, copy=False)
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0.0:
        return np.zeros(ink.shape, np.float32)
    return a / peak


def _bbox(a: np.ndarray) -> tuple[int, int, int, int] | None:
    """Return ``(y0, y1, x0, x1)`` of pixels above the ink threshold, or None if there are none."""
    on = a > INK_THRESHOLD
    rows = np.flatnonzero(on.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(on.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _square(a: np.ndarray, pad_fraction: float) -> np.ndarray:
    """Centre ``a`` in a square canvas of its larger side plus ``pad_fraction`` on each side."""
    h, w = a.shape
    side = max(h, w)
    pad = int(round(side * pad_fraction))
    full = side + 2 * pad
    out = np.zeros((full, full), np.float32)
    y0, x0 = (full - h) // 2, (full - w) // 2
    out[y0 : y0 + h, x0 : x0 + w] = a
    return out


def _resize(a: np.ndarray, size: int) -> np.ndarray:
    interp = cv2.INTER_AREA if a.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(a, (size, size), interpolation=interp)


def stroke_width(binary: np.ndarray) -> float:
    """Estimate the mean stroke width of a binary glyph as ``2 * area / perimeter``.

    For a stroke of length L and width W, area ~ L*W and perimeter ~ 2L, so this is W.
    """
    mask = binary.astype(np.uint8)
    area = float(mask.sum())
    if area == 0:
        return 0.0
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * area / max(perimeter, 1.0)


def _normalise_stroke(glyph: np.ndarray) -> np.ndarray:
    """Redraw a tightly cropped glyph at WORK_SIZE with a stroke of TARGET_STROKE of its size."""
    sq = _square(glyph, 0.15)  # room for the pen to grow
    work = _resize(sq, WORK_SIZE)
    peak = float(work.max())
    if peak <= 0:
        return glyph
    work /= peak
    glyph_side = WORK_SIZE / 1.3
    width = stroke_width(work > 0.5)
    radius = int(round((TARGET_STROKE * glyph_side - width) / 2))
    if radius >= 1:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        work = cv2.dilate(work, k)
    elif radius <= -1:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (-2 * radius + 1, -2 * radius + 1))
        thinner = cv2.erode(work, k)
        # Never erase a glyph: keep the thinner pen only if most of the shape survives.
        if (thinner > 0.5).sum() >= 0.25 * (work > 0.5).sum():
            work = thinner
    return work


def frame_glyph(ink: np.ndarray, *, normalise_stroke: bool = True) -> np.ndarray:
    """Frame one glyph (2-D, ink high) into a float32 28 x 28 crop in 0..1.

    An image with no ink gives an all-zero crop.
    """
    a = _as_float(ink)
    box = _bbox(a)
    if box is None:
        return np.zeros((CROP_SIZE, CROP_SIZE), np.float32)
    y0, y1, x0, x1 = box
    glyph = a[y0:y1, x0:x1]
    if normalise_stroke:
        glyph = _normalise_stroke(glyph)
        box = _bbox(glyph)
        if box is None:
            return np.zeros((CROP_SIZE, CROP_SIZE), np.float32)
        y0, y1, x0, x1 = box
        glyph = glyph[y0:y1, x0:x1]
    out = _resize(_square(glyph, PAD_FRACTION), CROP_SIZE)
    np.clip(out, 0.0, None, out=out)
    peak = float(out.max())
    return out / peak if peak > 0 else out


def frame_batch(images: np.ndarray, *, normalise_stroke: bool = True) -> np.ndarray:
    """Frame an N x H x W stack of ink-high glyphs; returns float32 N x 28 x 28 in 0..1."""
    out = np.empty((len(images), CROP_SIZE, CROP_SIZE), np.float32)
    for i, img in enumerate(images):
        out[i] = frame_glyph(img, normalise_stroke=normalise_stroke)
    return out


def crops_from_page(ink: np.ndarray, chars: Sequence[CharBox], *, normalise_stroke: bool = True) -> CropBatch:
    """Cut and frame every character of a page.

    ``ink`` is the page's ink image (2-D, ink high, same coordinates as the boxes). Where a
    ``CharBox`` carries its own mask, ink outside the mask (a neighbour's stroke) is ignored.
    """
    crops = np.zeros((len(chars), CROP_SIZE, CROP_SIZE, 1), np.float32)
    for i, ch in enumerate(chars):
        b = ch.box
        patch = ink[b.y : b.y2, b.x : b.x2]
        if ch.mask is not None:
            patch = np.where(ch.mask > 0, patch, 0)
        crops[i, :, :, 0] = frame_glyph(patch, normalise_stroke=normalise_stroke)
    return CropBatch(crops, tuple(ch.box for ch in chars))


def to_uint8(crop: np.ndarray) -> np.ndarray:
    """Convert a 0..1 float crop (28 x 28 or 28 x 28 x 1) to uint8 0..255 for saving or display."""
    return np.clip(np.rint(np.squeeze(crop) * 255.0), 0, 255).astype(np.uint8)
