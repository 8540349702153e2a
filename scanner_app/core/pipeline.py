"""Scan one page: preprocess -> layout -> crops -> classifier -> decode -> ScanResult.

:func:`scan` is a generator: it yields :class:`Progress` between stages (and between
classifier batches), and returns the :class:`ScanResult`; the GUI worker relays progress and
checks its cancel flag between yields. :func:`run_scan` drives it for plain callers.

Boxes in the result are in the *source file's* pixel coordinates: when the page was shrunk
on load (``PageImage.scale < 1``) they are scaled back, and ``ScanResult.page_size`` is
``PageImage.original_size``. To draw them on ``PageImage.pixels``, multiply by ``page.scale``.

Garbage guard: marks the model cannot read with some confidence are not turned into text.
Components whose core is pale (texture or shading that only just crossed the threshold) are
not ink (``INK_STRENGTH``). A one-character "word" below ``REJECT_LONE`` confidence is
dropped, and a page whose median confidence is below ``REJECT_PAGE`` gives an empty
result with a note instead of confident nonsense (noise, a photo without writing, only ruled lines).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from . import decode as decode_mod
from .classifier import charset_indices
from .crops import crops_from_page
from .errors import CancelledError
from .image_io import WORK_MAX_PIXELS
from .preprocess import box_to_page, prepare
from .segment import segment
from .types import Box, CharBox, CharPrediction, LineResult, PageImage, Progress, ScanResult

BATCH = 256
REJECT_LONE = 0.3
REJECT_PAGE = 0.45
INK_STRENGTH = 160  # 75th percentile of a glyph's soft ink (0..255) for it to count as pen ink
STAGES = ("prepare", "layout", "crops", "classify", "decode")


@dataclass(frozen=True)
class ScanConfig:
    """Options of a scan.

    ``charset`` in {alnum, letters, digits}; ``dictionary``: word-list correction;
    ``case_by_shape``: let the model's case head (when it has one) tell capitals by their shape.
    """

    charset: str = "alnum"
    dictionary: bool = True
    case_by_shape: bool = True

    def __post_init__(self) -> None:
        if self.charset not in ("alnum", "letters", "digits"):
            raise ValueError(f"charset must be alnum, letters or digits, got {self.charset!r}")


def _to_source(box: Box, page: PageImage) -> Box:
    """Map a box in PageImage pixels to the source file's pixels."""
    if page.scale == 1.0:
        return box
    ow, oh = page.original_size
    s = 1.0 / page.scale
    x1, y1 = min(box.x * s, ow - 1), min(box.y * s, oh - 1)
    x2, y2 = min(max(box.x2 * s, x1 + 1), ow), min(max(box.y2 * s, y1 + 1), oh)
    return Box.from_xyxy(x1, y1, x2, y2)


def _empty(page: PageImage, notes: list[str], message: str) -> ScanResult:
    return ScanResult((), page.original_size, tuple([*notes, message]), page.source)


def scan(
    page: PageImage, classifier, config: ScanConfig = ScanConfig()
) -> Generator[Progress, None, ScanResult]:  # noqa: B008
    """Scan a page, yielding :class:`Progress` between steps; returns the :class:`ScanResult`."""
    total = len(STAGES)
    yield Progress("prepare", 0, total)
    prep = prepare(page)
    notes = list(prep.notes)
    if page.scale < 1.0:
        ow, oh = page.original_size
        notes.insert(
            0,
            f"The {ow} x {oh} image was reduced to {page.width} x {page.height} pixels for reading "
            f"(limit {WORK_MAX_PIXELS // 1_000_000} megapixels); boxes are in the original's pixels.",
        )
    yield Progress("layout", 1, total)

    allowed = charset_indices(classifier.labels, config.charset)

    def scorer(boxes: list[CharBox]) -> np.ndarray:
        """Classifier confidence per candidate character, within the charset asked for.

        The layout asks it whether a wide mark is better read as several letters, and
        whether a few pieces alone on a line are one letter drawn in strokes. A stem reads
        as 1, I or L, so within letters (or digits) it is less sure than among all labels.
        """
        probs = classifier.predict_proba(crops_from_page(prep.soft, boxes).crops)[:, allowed]
        return probs.max(1) / np.clip(probs.sum(1), 1e-9, None)

    layout = segment(prep.ink, scorer)
    notes.extend(layout.notes)
    if not layout.chars:
        return _empty(page, notes, "No handwriting was found on the page.")
    yield Progress("crops", 2, total)
    batch = crops_from_page(prep.soft, layout.chars)
    n = len(batch)
    # A model with a case head also says, from each letter's shape, whether it is a capital.
    with_case = config.case_by_shape and getattr(classifier, "has_case", False) is True
    parts, ups = [], []
    for i in range(0, n, BATCH):
        yield Progress("classify", 3, total)
        if with_case:
            p, u = classifier.predict_with_case(batch.crops[i : i + BATCH])
            ups.append(u)
        else:
            p = classifier.predict_proba(batch.crops[i : i + BATCH])
        parts.append(p)
    probs = np.concatenate(parts) if parts else np.zeros((0, len(classifier.labels)), np.float32)
    upper = np.concatenate(ups) if ups else None
    yield Progress("decode", 4, total)
    chars: list[CharBox] = list(layout.chars)
    keep = _plausible(chars, probs, classifier.labels, config.charset) & _inked(chars, prep.soft)
    if not keep.any():
        return _empty(page, notes, "No readable handwriting was found on the page.")
    conf = probs[keep].max(1)
    if len(conf) >= 3 and float(np.median(conf)) < REJECT_PAGE:
        return _empty(page, notes, "The marks on the page do not look like handwriting the model can read.")
    chars = [c for c, k in zip(chars, keep, strict=True) if k]
    probs = probs[keep]
    upper = upper[keep] if upper is not None else None
    lines = decode_mod.decode_lines(
        [c.line for c in chars],
        [c.word for c in chars],
        [c.box for c in chars],
        probs,
        classifier.labels,
        charset=config.charset,
        dictionary=config.dictionary,
        masks=[c.mask for c in chars],
        upper=upper,
    )
    results = []
    for line in lines:
        preds = []
        for dc in line.chars:
            work_box = chars[dc.index].box
            for e in dc.extra:
                work_box = work_box.union(chars[e].box)
            box = _to_source(box_to_page(work_box, prep.to_page, prep.page_size), page)
            preds.append(CharPrediction(dc.char, dc.confidence, dc.alternatives, box))
        line_box = preds[0].box
        for p in preds[1:]:
            line_box = line_box.union(p.box)  # type: ignore[union-attr]
        results.append(LineResult(line.text, tuple(preds), line_box))
    if sum(len(r.chars) for r in results) == 0:
        return _empty(page, notes, "No readable handwriting was found on the page.")
    yield Progress("decode", total, total)
    return ScanResult(tuple(results), page.original_size, tuple(notes), page.source)


def _inked(chars: list[CharBox], soft: np.ndarray) -> np.ndarray:
    """Mask of characters drawn with real ink: pen strokes are far darker than the threshold.

    Texture, grain and shading that only just cross the binarisation threshold (a photo of a
    table, a wall) give components whose core is pale; real strokes have a dark core.
    """
    keep = np.ones(len(chars), bool)
    for i, c in enumerate(chars):
        b = c.box
        patch = soft[b.y : b.y2, b.x : b.x2]
        ink = patch[c.mask > 0] if c.mask is not None else patch[patch > 0]
        keep[i] = ink.size > 0 and float(np.percentile(ink, 75)) >= INK_STRENGTH
    return keep


def _plausible(chars: list[CharBox], probs: np.ndarray, labels, charset: str) -> np.ndarray:
    """Mask of characters worth keeping: lone low-confidence marks are dropped."""
    sub = probs[:, charset_indices(tuple(labels), charset)]
    conf = sub.max(1) / np.clip(sub.sum(1), 1e-9, None)
    words: dict[tuple[int, int], int] = {}
    for c in chars:
        words[(c.line, c.word)] = words.get((c.line, c.word), 0) + 1
    lone = np.array([words[(c.line, c.word)] == 1 for c in chars])
    return ~(lone & (conf < REJECT_LONE))


def run_scan(
    page: PageImage,
    classifier,
    config: ScanConfig = ScanConfig(),  # noqa: B008
    progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ScanResult:
    """Run :func:`scan` to the end, reporting progress and honouring ``cancel`` between steps."""
    gen = scan(page, classifier, config)
    while True:
        try:
            step = next(gen)
        except StopIteration as stop:
            return stop.value
        if cancel is not None and cancel():
            gen.close()
            raise CancelledError("The scan was cancelled.")
        if progress is not None:
            progress(step)
