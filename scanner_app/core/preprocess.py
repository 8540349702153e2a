"""Turn a page photo or scan into a clean ink image, keeping the way back to page pixels.

Steps, each a plain function:

1. :func:`working_copy` shrinks the page so its longer side is at most ``WORK_LONG_SIDE``
   (handwriting stays 20+ px tall; everything after runs on a few megapixels at most);
2. :func:`find_sheet` looks for a sheet of paper on a darker background (the largest clear
   bright quadrilateral) and :func:`flatten` warps it to a rectangle. Only a clear,
   convex quadrilateral covering 20-97 % of the photo is used; otherwise the image is kept;
3. :func:`normalise_light` divides by an estimate of the paper's brightness (a grey closing
   on a reduced copy, then a median), so light gradients and shadows even out;
4. :func:`binarise` thresholds the normalised image (Otsu, clamped to a sane range so a
   blank page does not turn its paper grain into ink); a page of writing is then brought to a
   standard size, its typical glyph ``TEXT_HEIGHT`` (20) px tall: big writing is shrunk,
   small writing on a big photo is re-read from a larger working copy;
5. :func:`remove_rules` deletes long horizontal and vertical lines (ruled paper, boxes);
6. :func:`estimate_skew` / :func:`rotate` straighten small angles (up to ``MAX_SKEW_DEG``).

:func:`prepare` runs them all and returns a :class:`Prepared` whose ``to_page`` matrix maps
working coordinates back to the PageImage's pixels (:func:`box_to_page`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .types import Box, PageImage

WORK_LONG_SIDE = 2200
MAX_WORK_LONG_SIDE = 4400
SHEET_DETECT_SIDE = 640
MAX_SKEW_DEG = 8.0
MIN_MARKS_FOR_SKEW = 12
RULE_MIN_LEN = 150
TEXT_HEIGHT = 20  # px: the typical glyph height that the layout and crops work best at
MIN_THRESHOLD, MAX_THRESHOLD = 110, 205


@dataclass(frozen=True)
class Prepared:
    """A page ready for layout analysis, in *working* coordinates.

    ``ink`` is binary (uint8, ink = 255); ``soft`` is the anti-aliased ink (uint8, 0 = paper,
    255 = darkest ink), used for the character crops. ``to_page`` (3 x 3) maps a working
    point ``(x, y, 1)`` to PageImage pixel coordinates. ``notes`` say what was done.
    """

    ink: np.ndarray
    soft: np.ndarray
    to_page: np.ndarray
    page_size: tuple[int, int]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.ink.shape != self.soft.shape or self.ink.dtype != np.uint8:
            raise ValueError("Prepared.ink and .soft must be uint8 arrays of one shape")
        if self.to_page.shape != (3, 3):
            raise ValueError("Prepared.to_page must be a 3 x 3 matrix")


def _scale_matrix(s: float) -> np.ndarray:
    return np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], np.float64)


def working_copy(grey: np.ndarray, long_side: int = WORK_LONG_SIDE) -> tuple[np.ndarray, float]:
    """Return a copy shrunk so its longer side is at most ``long_side``, and the scale used."""
    h, w = grey.shape
    s = min(1.0, long_side / max(h, w))
    if s >= 1.0:
        return grey, 1.0
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), size[0] / w


def _order_quad(q: np.ndarray) -> np.ndarray:
    """Order 4 points as top-left, top-right, bottom-right, bottom-left.

    Sorting by angle around the centre keeps the 4 corners distinct; the sum/difference trick
    can pick one corner twice when the sheet is turned by about 45 degrees.
    """
    c = q.mean(0)
    q = q[np.argsort(np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0]))]  # clockwise on screen (y down)
    return np.roll(q, -int(np.argmin(q.sum(1))), axis=0).astype(np.float32)


def _quad_from_mask(mask: np.ndarray) -> np.ndarray | None:
    """Return the 4 corners of the largest region of ``mask`` if it is close to a quadrilateral."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(c)
    total = mask.shape[0] * mask.shape[1]
    if not 0.2 * total <= area <= 0.97 * total:
        return None
    hull = cv2.convexHull(c)
    for eps in (0.01, 0.02, 0.03, 0.04):
        approx = cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2).astype(np.float32)
            # The quadrilateral must explain the region (not a blob that merely has 4 corners).
            if 0.9 * area <= cv2.contourArea(quad) <= 1.1 * cv2.contourArea(hull):
                return quad
            return None
    return None


def _edge_support(grad: np.ndarray, quad: np.ndarray) -> float:
    """Share of points along the quadrilateral's sides that sit on a strong edge."""
    h, w = grad.shape
    hits, n = 0, 0
    strong = max(float(np.percentile(grad, 90)), 8.0)
    for i in range(4):
        p, q = quad[i], quad[(i + 1) % 4]
        for t in np.linspace(0.05, 0.95, 40):
            x, y = p + t * (q - p)
            x0, x1 = int(max(x - 2, 0)), int(min(x + 3, w))
            y0, y1 = int(max(y - 2, 0)), int(min(y + 3, h))
            n += 1
            if x1 > x0 and y1 > y0 and grad[y0:y1, x0:x1].max() >= strong:
                hits += 1
    return hits / max(n, 1)


def find_sheet(grey: np.ndarray) -> np.ndarray | None:
    """Return the corners (4 x 2 float32, TL TR BR BL) of a sheet of paper, or None.

    Candidates come from a brightness split (Otsu) and from closed edges (Canny); a
    candidate must be a convex quadrilateral covering 20-97 % of the image, brighter than
    its surroundings, with a sharp edge along most of its sides (a soft shadow boundary is
    not a paper edge). Anything less certain returns None: no flattening.
    """
    h, w = grey.shape
    if min(h, w) < 64:
        return None
    s = min(1.0, SHEET_DETECT_SIDE / max(h, w))
    small = cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    grad = cv2.magnitude(gx, gy)
    total = small.shape[0] * small.shape[1]
    masks = []
    _, otsu = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Close the writing's holes so the sheet is one solid region.
    otsu = cv2.morphologyEx(otsu, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
    masks.append(cv2.morphologyEx(otsu, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))))
    edges = cv2.Canny(small, 40, 120)
    edges = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    filled = np.zeros_like(edges)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if contours:
        cv2.drawContours(filled, [max(contours, key=cv2.contourArea)], -1, 255, cv2.FILLED)
        masks.append(filled)
    best, candidates = None, []
    for mask in masks:
        quad = _quad_from_mask(mask)
        if quad is None or not cv2.isContourConvex(quad.reshape(-1, 1, 2).astype(np.int32)):
            continue
        inside = np.zeros_like(small)
        cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
        if (inside == 0).sum() < 0.02 * total:
            continue
        # The paper must stand out from its surroundings.
        if float(np.median(small[inside > 0])) - float(np.median(small[inside == 0])) < 20:
            continue
        # A shadow with a crisp edge can cut a smaller bright quadrilateral out of the sheet.
        support = _edge_support(grad, quad)
        if support >= 0.75:
            candidates.append((support, cv2.contourArea(quad), quad))
    if candidates:
        # The tightest outline usually fits best (the Canny one sits a few pixels outside the sheet),
        # unless another sharp-sided candidate is clearly larger: then the first was a shaded cut.
        support, area, best = max(candidates, key=lambda c: c[0])
        larger = [c for c in candidates if c[1] > 1.15 * area]
        if larger:
            best = max(larger, key=lambda c: c[1])[2]
    if best is None:
        return None
    return _order_quad(best / s)


def flatten(grey: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp the quadrilateral to an upright rectangle; returns (image, 3x3 rect->image matrix)."""
    tl, tr, br, bl = quad
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    width, height = max(width, 8), max(height, 8)
    rect = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), rect)
    out = cv2.warpPerspective(
        grey, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out, np.linalg.inv(m)


def normalise_light(grey: np.ndarray) -> np.ndarray:
    """Divide by the estimated paper brightness: returns uint8 with paper near 255.

    The background is a grey closing (removes dark strokes) of a 1/4-size copy followed by a
    median filter, then scaled back up: cheap and smooth enough for shadows and gradients.
    """
    h, w = grey.shape
    f = 4 if min(h, w) >= 64 else 1
    small = cv2.resize(grey, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    k = max(3, (min(small.shape) // 60) | 1)
    k = min(k, 15)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    bg = cv2.medianBlur(bg, 2 * k + 1 if 2 * k + 1 <= 255 else 255) if min(small.shape) > 2 * k + 1 else bg
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    norm = grey.astype(np.float32) * (255.0 / np.maximum(bg, 1.0))
    return np.clip(norm, 0, 255).astype(np.uint8)


def binarise(norm: np.ndarray) -> tuple[np.ndarray, int]:
    """Threshold a light-normalised image; returns (ink mask with ink = 255, threshold).

    Otsu picks the threshold between ink and paper; it is clamped to
    ``[MIN_THRESHOLD, MAX_THRESHOLD]`` so a blank page (Otsu would split the paper's own
    grain) and very faint ink do not produce garbage.
    """
    t, _ = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    t = int(min(max(t, MIN_THRESHOLD), MAX_THRESHOLD))
    ink = np.where(norm < t, 255, 0).astype(np.uint8)
    return ink, t


def remove_rules(ink: np.ndarray, min_len_fraction: float = 0.3, min_len: int = RULE_MIN_LEN) -> np.ndarray:
    """Remove long straight horizontal and vertical lines (ruled paper, table and box borders).

    A line must span ``min_len_fraction`` of the page and at least ``min_len`` working pixels
    (7 text heights at the standard size), so the straight strokes of handwriting (the foot of
    a 2, the bar of a T) stay.
    """
    h, w = ink.shape
    out = ink
    for length, shape, dim in (
        (int(w * min_len_fraction), (1, 0), w),
        (int(h * min_len_fraction), (0, 1), h),
    ):
        length = max(length, min_len)
        if length > dim:
            continue
        ksize = (length, 1) if shape == (1, 0) else (1, length)
        lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, ksize))
        if lines.any():
            lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
            out = cv2.subtract(out, lines)
    return out


def estimate_skew(ink: np.ndarray, max_deg: float = MAX_SKEW_DEG) -> float:
    """Return the text's skew in degrees (positive = lines rise to the right), 0 if unclear.

    Rows of text give a spiky horizontal projection when the page is straight: search the
    angle that maximises the projection's variance on a reduced copy.
    """
    h, w = ink.shape
    if ink.max() == 0:
        return 0.0
    s = min(1.0, 800 / max(h, w))
    small = cv2.resize(ink, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(small > 64)
    if len(xs) < 50:
        return 0.0
    # Skew is a property of text lines: a few marks (one word, one letter) have none to measure.
    n_marks, _ = cv2.connectedComponents((small > 64).astype(np.uint8))
    if n_marks - 1 < MIN_MARKS_FOR_SKEW or np.ptp(xs) < 4 * max(np.ptp(ys), 1) / max(n_marks - 1, 1) ** 0.5:
        return 0.0
    xs = xs.astype(np.float32) - small.shape[1] / 2
    ys = ys.astype(np.float32)

    def score(deg: float) -> float:
        t = math.tan(math.radians(deg))
        proj = np.bincount(np.clip((ys + xs * t).astype(np.int32) + small.shape[1], 0, None))
        return float((proj.astype(np.float64) ** 2).sum())

    coarse = np.arange(-max_deg, max_deg + 1e-6, 1.0)
    best = max(coarse, key=score)
    fine = np.arange(best - 1.0, best + 1.0 + 1e-6, 0.2)
    best = max(fine, key=score)
    base = score(0.0)
    # Only straighten when it clearly helps: tiny gains are noise.
    if score(best) < 1.02 * base or abs(best) < 0.3:
        return 0.0
    return float(best)


def rotate(img: np.ndarray, deg: float, border: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotate about the centre, growing the canvas; returns (image, 3x3 new->old matrix)."""
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(math.ceil(h * sin + w * cos)), int(math.ceil(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=border)
    full = np.vstack([m, [0, 0, 1]])
    return out, np.linalg.inv(full)


def soft_ink(norm: np.ndarray, ink: np.ndarray, threshold: int) -> np.ndarray:
    """Anti-aliased ink (0 = paper, 255 = ink) limited to the neighbourhood of the binary ink."""
    near = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    lift = 255.0 / max(threshold, 1)
    darkness = np.clip((255.0 - norm.astype(np.float32)) * lift, 0, 255)
    return np.where(near > 0, darkness, 0).astype(np.uint8)


def _typical_height(ink: np.ndarray) -> float:
    """Typical glyph height of an ink image (see :func:`segment._text_height`), 0 if none."""
    from .segment import _text_height, components

    if np.count_nonzero(ink) > 0.3 * ink.size:
        return 0.0  # a dark or noisy picture: no text size to measure
    comps, _ = components(ink)
    if len(comps) < MIN_MARKS_FOR_SKEW:
        return 0.0  # a few marks (a letter, a word): no page of writing to bring to size
    return _text_height(comps) if len(comps) <= 20000 else 0.0


def prepare(
    page: PageImage, *, flatten_sheet: bool = True, deskew: bool = True, long_side: int = WORK_LONG_SIDE
) -> Prepared:
    """Run the whole preprocessing chain on a page (see the module docstring).

    When the writing turns out small at the working resolution and the page has more pixels
    to give, the chain runs again on a larger working copy (up to ``MAX_WORK_LONG_SIDE``).
    """
    notes: list[str] = []
    grey, s = working_copy(page.pixels, long_side)
    to_page = _scale_matrix(1.0 / s)
    quad = find_sheet(grey) if flatten_sheet else None
    if quad is not None:
        grey, m = flatten(grey, quad)
        to_page = to_page @ m
        notes.append("Found the sheet of paper and flattened its perspective.")
    norm = normalise_light(grey)
    ink, t = binarise(norm)
    # Read handwriting at a standard size: big writing is shrunk so its typical glyph is about
    # TEXT_HEIGHT px (small gaps in pen strokes close, specks shrink, and it is faster).
    th = _typical_height(remove_rules(ink))
    if 0 < th < 0.95 * TEXT_HEIGHT and s < 1.0 and long_side < MAX_WORK_LONG_SIDE:
        # Small writing on a big photo: read it from more of the photo's pixels.
        bigger = int(min(MAX_WORK_LONG_SIDE, long_side * TEXT_HEIGHT / th, max(page.pixels.shape)))
        if bigger > 1.1 * long_side:
            return prepare(page, flatten_sheet=flatten_sheet, deskew=deskew, long_side=bigger)
    if th > 1.15 * TEXT_HEIGHT:
        f = TEXT_HEIGHT / th
        h, w = norm.shape
        norm = cv2.resize(norm, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        to_page = to_page @ _scale_matrix(w / norm.shape[1])
        ink = np.where(norm < t, 255, 0).astype(np.uint8)
    if quad is not None:
        # The flattened sheet's edge often shows a sliver of background: clear a thin border.
        b = max(3, int(0.025 * min(ink.shape)))
        ink[:b], ink[-b:], ink[:, :b], ink[:, -b:] = 0, 0, 0, 0
    ink = remove_rules(ink)
    angle = estimate_skew(ink) if deskew else 0.0
    if angle:
        norm, m = rotate(norm, angle, 255)
        to_page = to_page @ m
        # Turn the cleaned ink itself (not a new threshold), so cleared borders stay clear.
        ink, _ = rotate(ink, angle, 0)
        ink = np.where(ink >= 128, 255, 0).astype(np.uint8)
        notes.append(f"Straightened the text by {angle:.1f} degrees.")
    soft = soft_ink(norm, ink, t)
    return Prepared(
        ink=ink, soft=soft, to_page=to_page, page_size=(page.width, page.height), notes=tuple(notes)
    )


def box_to_page(box: Box, to_page: np.ndarray, page_size: tuple[int, int]) -> Box:
    """Map a working-coordinates box to the page: the bounding box of its mapped corners, clipped."""
    pts = np.array([[box.x, box.y], [box.x2, box.y], [box.x2, box.y2], [box.x, box.y2]], np.float64)
    hom = np.hstack([pts, np.ones((4, 1))]) @ to_page.T
    xy = hom[:, :2] / hom[:, 2:3]
    w, h = page_size
    x1, y1 = np.clip(xy.min(0), 0, [w - 1, h - 1])
    x2, y2 = np.clip(xy.max(0), [x1 + 1, y1 + 1], [w, h])
    return Box.from_xyxy(float(x1), float(y1), float(x2), float(y2))
