"""Augmentation that imitates what the app sees: a mouse on the canvas and a pen on photographed paper.

Two kinds, chosen for a 2-core CPU budget:

* **Before framing, precomputed once and cached** (:func:`augmented_framed`,
  :func:`rerender_framed`): geometric distortion of the *original* image (rotation, shear,
  anisotropic scale, elastic distortion), stroke width changes, blur, noise and
  binarisation, then the app's own framing (``crops.frame_glyph``). UNIPEN's pen
  trajectories are redrawn at other stroke widths with a little pen jitter, as a canvas
  drawing would be, optionally restyled first (:func:`restyle_strokes`; measured, no gain, off
  by default).
* **After framing, per batch in the tf.data graph** (:func:`graph_augment`): a small random
  affine jitter (the framing of a real crop is never perfect), an occasional one-pixel
  thickening or thinning, and faint noise.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from scanner_app.core import crops

from .data import save_array_atomic

UP = 3  # distort at 3x resolution so thin strokes survive rotation and elastic warps
PAD = 8


def _version() -> str:
    """Cache-key fragment: this file and crops.py (change either and the cache is rebuilt)."""
    h = hashlib.sha256(Path(__file__).read_bytes() + Path(crops.__file__).read_bytes())
    return h.hexdigest()[:10]


def _cached(key: str, cache_dir: Path | None, make) -> np.ndarray:
    path = cache_dir / f"{key}-{_version()}.npy" if cache_dir is not None else None
    if path is not None and path.exists():
        return np.load(path)
    out = make()
    if path is not None:
        save_array_atomic(path, out)
    return out


def elastic(img: np.ndarray, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Elastic distortion (Simard et al. 2003): smooth random displacement of every pixel."""
    h, w = img.shape

    def field() -> np.ndarray:
        f = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
        return f * (alpha / max(float(f.std()), 1e-6))  # alpha = the displacement's std in pixels

    dx, dy = field(), field()
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def distort(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distort one ink-high glyph image (any size, uint8 or float) like a different hand or camera.

    Returns a float32 image (larger than the input) for ``crops.frame_glyph``.
    """
    a = img.astype(np.float32)
    if a.max() > 1.5:
        a /= 255.0
    a = np.pad(a, PAD)
    up = max(1, round(UP * 44 / max(a.shape)))  # small (28 px) inputs are worked on at 3x
    if up > 1:
        a = cv2.resize(a, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR)
    h, w = a.shape
    k = max(h, w) / 44  # pixels per 28-px-crop pixel, so distortions scale with the image
    # Affine: rotation, shear, anisotropic scale about the centre.
    ang = np.deg2rad(rng.normal(0, 6))
    shear = rng.normal(0, 0.15)
    sx, sy = np.exp(rng.normal(0, 0.1, 2))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    m = rot @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
    c = np.array([w / 2, h / 2])
    mat = np.hstack([m, (c - m @ c)[:, None]]).astype(np.float32)
    a = cv2.warpAffine(a, mat, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if rng.random() < 0.5:
        a = elastic(a, rng, alpha=rng.uniform(0.5, 1.2) * k, sigma=3.0 * k)
    # Stroke width: a different pen (the framing normalises most of it, not all).
    r = int(round(rng.choice([-1, 0, 0, 1, 2]) * k / UP))
    if r > 0:
        a = cv2.dilate(a, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    elif r < 0:
        thinner = cv2.erode(a, np.ones((3, 3), np.uint8))
        if (thinner > 0.5).sum() > 0.3 * (a > 0.5).sum():
            a = thinner
    # Camera: blur, then either binarise (the page pipeline's ink mask) or add sensor noise.
    if rng.random() < 0.3:
        a = cv2.GaussianBlur(a, (0, 0), rng.uniform(0.3, 1.0) * k)
    u = rng.random()
    if u < 0.3:
        a = (a > rng.uniform(0.3, 0.6) * max(float(a.max()), 1e-6)).astype(np.float32)
    elif u < 0.6:
        a = a + rng.normal(0, rng.uniform(0.01, 0.06), a.shape).astype(np.float32)
        a = np.clip(a, 0, None)
    return a


def augmented_framed(x: np.ndarray, *, key: str, seed: int, cache_dir: Path | None) -> np.ndarray:
    """Distort every image in ``x`` once (:func:`distort`) and frame it; uint8 N x 28 x 28, cached."""

    def make() -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(x), 28, 28), np.uint8)
        for i, img in enumerate(x):
            out[i] = crops.to_uint8(crops.frame_glyph(distort(img, rng)))
        return out

    return _cached(key, cache_dir, make)


def render_strokes(
    strokes: list[np.ndarray],
    width: float,
    rng: np.random.Generator | None = None,
    canvas: int = 128,
    jitter: float = 0.0,
) -> np.ndarray:
    """Draw pen strokes (lists of (x, y) points, y down) as an ink-high uint8 image.

    The glyph is scaled so its larger side is ``0.75 * canvas``; ``width`` is the pen width as
    a fraction of that size; ``jitter`` adds Gaussian wobble (fraction of the size) to every
    point, like a hand on a mouse.
    """
    pts_all = np.concatenate(strokes).astype(np.float64)
    lo, hi = pts_all.min(0), pts_all.max(0)
    size = float(max(hi - lo)) or 1.0
    target = 0.75 * canvas
    scale = target / size
    centre = (lo + hi) / 2
    img = np.zeros((canvas, canvas), np.uint8)
    thick = max(1, int(round(width * target)))
    for s in strokes:
        p = (s[:, :2].astype(np.float64) - centre) * scale + canvas / 2
        if jitter > 0 and rng is not None:
            p = p + rng.normal(0, jitter * target, p.shape)
        q = np.round(p * 16).astype(np.int32)  # 4 fractional bits for sub-pixel lines
        if len(q) == 1:
            cv2.circle(img, tuple(int(v) for v in q[0]), thick * 8, 255, -1, cv2.LINE_AA, shift=4)
        else:
            cv2.polylines(img, [q.reshape(-1, 1, 2)], False, 255, thick, cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def restyle_strokes(
    strokes: list[np.ndarray], rng: np.random.Generator, strength: float = 1.0
) -> list[np.ndarray]:
    """Change how a pen trajectory was written, as another writer would (online augmentation).

    The whole glyph gets a random slant, rotation and aspect; every stroke is moved, turned and
    scaled a little on its own (where a t's bar crosses, how far an i's dot floats, how an E's
    arms meet); every stroke's path wobbles slowly along its length. Image distortions cannot
    move one stroke against another; this can. ``strength`` scales all of it (0: unchanged).
    """
    pts = np.concatenate(strokes)[:, :2].astype(np.float64)
    lo, hi = pts.min(0), pts.max(0)
    size = float(max(hi - lo)) or 1.0
    centre = (lo + hi) / 2
    k = strength
    ang = rng.normal(0, np.deg2rad(5.0) * k)
    shear = rng.normal(0, 0.12 * k)
    aspect = np.exp(rng.normal(0, 0.08 * k))
    glob = _rotation(ang) @ np.array([[aspect, shear], [0.0, 1.0 / aspect]])
    out = []
    for s in strokes:
        p = s[:, :2].astype(np.float64) - centre
        c = p.mean(0)
        a = rng.normal(0, np.deg2rad(4.0) * k)
        sc = np.exp(rng.normal(0, 0.06 * k))
        local = sc * _rotation(a)
        p = (p - c) @ local.T + c + rng.normal(0, 0.035 * k * size, 2)
        if len(p) > 2:
            t = np.linspace(0.0, 1.0, len(p))[:, None]
            freq = rng.uniform(0.5, 2.0, (1, 2))
            phase = rng.uniform(0, 2 * np.pi, (1, 2))
            p = p + rng.normal(0, 0.012 * k * size, (1, 2)) * np.sin(2 * np.pi * freq * t + phase)
        out.append(p @ glob.T + centre)
    return out


def iter_samples(strokes: tuple[np.ndarray, np.ndarray, np.ndarray]):
    """Yield each sample's list of strokes from ``(points, stroke_len, form_nstrokes)``."""
    points, stroke_len, form_nstrokes = strokes
    per_stroke = np.split(points, np.cumsum(stroke_len)[:-1])
    start = 0
    for n in form_nstrokes:
        yield per_stroke[start : start + n]
        start += n


def rerender_framed(
    strokes: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    width: float,
    key: str,
    seed: int,
    cache_dir: Path | None,
    jitter: float = 0.004,
    style: float = 0.0,
) -> np.ndarray:
    """Redraw every sample's pen trajectory at stroke ``width`` and frame it; uint8 N x 28 x 28, cached.

    ``style`` > 0 restyles each trajectory first (:func:`restyle_strokes`).
    """

    def make() -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(strokes[2]), 28, 28), np.uint8)
        for i, sample in enumerate(iter_samples(strokes)):
            if not sample or sum(len(s) for s in sample) == 0:
                out[i] = 0
                continue
            if style > 0:
                sample = restyle_strokes(sample, rng, style)
            img = render_strokes(sample, width, rng, jitter=jitter)
            out[i] = crops.to_uint8(crops.frame_glyph(img))
        return out

    return _cached(key, cache_dir, make)


def graph_augment(x, seed: int = 0):
    """Cheap per-batch jitter in the tf.data graph: small affine, 1-px thicken/thin, faint noise.

    ``x`` is float32 (B, 28, 28, 1) in 0..1.
    """
    import tensorflow as tf

    b = tf.shape(x)[0]
    ang = tf.random.normal([b], 0.0, np.deg2rad(4.0))
    scale = tf.exp(tf.random.normal([b], 0.0, 0.05))
    shear = tf.random.normal([b], 0.0, 0.05)
    tx = tf.random.uniform([b], -1.5, 1.5)
    ty = tf.random.uniform([b], -1.5, 1.5)
    cos, sin = tf.cos(ang) / scale, tf.sin(ang) / scale
    c = 13.5
    # Output->input mapping for ImageProjectiveTransformV3: [a0 a1 a2; b0 b1 b2; 0 0].
    a0, a1 = cos, -sin + shear
    b0, b1 = sin, cos
    a2 = c - a0 * c - a1 * c + tx
    b2 = c - b0 * c - b1 * c + ty
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    # Occasionally one pixel thicker (max filter) or thinner (min filter).
    u = tf.random.uniform([b, 1, 1, 1])
    thick = tf.nn.max_pool2d(x, 2, 1, "SAME")
    thin = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
    x = tf.where(u < 0.1, thick, tf.where(u > 0.95, thin, x))
    x = x + tf.random.normal(tf.shape(x), 0.0, 0.02) * tf.cast(
        tf.random.uniform([b, 1, 1, 1]) < 0.3, tf.float32
    )
    return tf.clip_by_value(x, 0.0, 1.0)
