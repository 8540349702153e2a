"""Layout: binary ink -> text lines in reading order -> characters with word indices.

Works on connected components of the ink image (8-connected):

* **specks** (tiny components far from any glyph) are dropped; small marks right above or
  below a glyph (the dots of i and j, a broken stroke) are merged into it;
* **rules, boxes, margins**: components far longer than the text height, or far taller
  than a line, are dropped (long straight lines were already removed in preprocessing);
* **lines**: components are taken left to right and each joins the line whose recent
  centre line (the median of its last few glyph centres, so lines may slope) is nearest
  within half a text height; lines are then ordered top to bottom;
* **characters**: components of one line stacked one above the other (a t-bar, the flag of a
  5) or nested in each other's columns are one character; a component much wider than the line's
  typical character is split at the columns with the least ink (touching characters); side-by-side
  pieces whose ink nearly touches (well under a pen width, and far closer than the line's
  typical spacing) are one character (a b or k drawn as stem and bowl); with a classifier, a
  line of two or three nearly touching glyphs that fit one letter's box is one character when
  the classifier reads them together more surely (an H or K drawn with a pen lift, alone);
* **words**: a gap wider than ``WORD_GAP`` x the line's text height starts a new word (higher
  when the line's gaps form two clearly separate groups: a writer who spaces letters widely).

Every :class:`~scanner_app.core.types.CharBox` carries its own ink ``mask``, so a neighbour
reaching into its box is not framed with it. Coordinates are those of the ink image given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .crops import stroke_width
from .types import Box, CharBox, LineBox

WORD_GAP = 0.42  # word gap as a fraction of the line's text (cap) height
MIN_TEXT_HEIGHT = 6  # px: anything smaller is noise at the working resolution
MAX_COMPONENTS = 20000  # a page of pure noise must not take forever
MAX_INK_FRACTION = 0.3
SPLIT_GAIN = 0.1  # pieces must read this much more surely (mean max probability) than the whole
# A line of a few glyphs is one letter drawn in strokes when the glyphs fit a box JOIN_WIDTH x
# the line height wide, their ink is at most JOIN_GAP x the line height apart (a pen lift), and
# framed together they read JOIN_GAIN more surely (classifier confidence) than their mean.
# Tuned on TRAIN writers: isolated characters vs short words alone on a line.
JOIN_GAIN = 0.05
JOIN_WIDTH = 1.6  # a 5 with a long flag, a wide K
JOIN_GAP = 0.1
JOIN_MARK_GAP = 0.6  # a mark right above or below (an i's dot) may be this far
JOIN_MAX_PIECES = 3
Scorer = Callable[[list[CharBox]], np.ndarray]


@dataclass
class _Comp:
    """A connected component (or a merge of several)."""

    x: int
    y: int
    w: int
    h: int
    area: int
    labels: list[int] = field(default_factory=list)

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def merge(self, o: _Comp) -> _Comp:
        x, y = min(self.x, o.x), min(self.y, o.y)
        return _Comp(
            x, y, max(self.x2, o.x2) - x, max(self.y2, o.y2) - y, self.area + o.area, self.labels + o.labels
        )


@dataclass(frozen=True)
class Layout:
    """The result of :func:`segment`: lines (reading order), characters, page-level notes.

    ``text_height`` is the typical glyph height in pixels (0 when nothing was found).
    """

    lines: tuple[LineBox, ...]
    chars: tuple[CharBox, ...]
    text_height: float
    notes: tuple[str, ...] = ()


def components(ink: np.ndarray) -> tuple[list[_Comp], np.ndarray]:
    """Return the 8-connected components of ``ink`` (ink > 0) and the label image."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    comps = [
        _Comp(int(s[0]), int(s[1]), int(s[2]), int(s[3]), int(s[4]), [i])
        for i, s in enumerate(stats)
        if i > 0
    ]
    return comps, labels


def _text_height(comps: list[_Comp], stroke: float = 0.0) -> float:
    """Typical height of glyph-sized components (a robust, area-weighted median).

    Flat marks only a few pen widths high (a T-bar drawn apart, the bars of an F, a dash) say
    nothing about the text height and are left out, so a letter drawn as a bar and a stem is
    measured by its stem (otherwise the stem looks like a rule 4 "text heights" tall).
    """
    cand = [c for c in comps if c.h >= MIN_TEXT_HEIGHT and c.area >= 12 and c.w < 12 * c.h]
    tall = [c for c in cand if c.h >= 3.0 * stroke]
    cand = tall or cand
    if not cand:
        return 0.0
    hs = np.array([c.h for c in cand], np.float64)
    # Weight by area so scattered specks cannot set the scale.
    ws = np.array([c.area for c in cand], np.float64)
    order = np.argsort(hs)
    cum = np.cumsum(ws[order])
    return float(hs[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _group_lines(comps: list[_Comp], th: float, stroke: float = 0.0) -> list[list[_Comp]]:
    """Assign components (left to right) to lines by their running centre line."""
    lines: list[list[_Comp]] = []
    centres: list[list[float]] = []
    for c in sorted(comps, key=lambda c: c.x):
        best, best_d = -1, 0.55 * th
        for i, line in enumerate(lines):
            last = line[-1]
            if c.x - last.x2 > 6 * th:  # too far right of this line's end: a different block
                continue
            d = abs(c.cy - float(np.median(centres[i][-4:])))
            if d < best_d:
                best, best_d = i, d
        if best < 0:
            lines.append([c])
            centres.append([c.cy])
        else:
            lines[best].append(c)
            centres[best].append(c.cy)
    # Fragments of one line (a line split by a gap) are joined when they share a band.
    lines.sort(key=lambda ln: min(c.x for c in ln))
    merged: list[list[_Comp]] = []
    for line in lines:
        y = float(np.median([c.cy for c in line]))
        x0 = min(c.x for c in line)
        for other in merged:
            oy = float(np.median([c.cy for c in other[-4:]]))
            if abs(oy - y) < 0.5 * th and x0 >= max(c.x2 for c in other) - 0.5 * th:
                other.extend(line)
                break
        else:
            merged.append(list(line))
    merged = _merge_same_band(merged)
    merged.sort(key=lambda ln: float(np.median([c.cy for c in ln])))
    # A "line" of one or two marks right above or below a real line (a detached t-bar, a far
    # i-dot, an accent, the flag of a 5) belongs to that line. Smallest first, so a bar joins
    # its stem even when the stem is a "line" of one glyph too.
    alive = [True] * len(merged)
    for i in sorted(range(len(merged)), key=lambda k: len(merged[k])):
        line = merged[i]
        if not (len(line) <= 2 or float(np.median([c.h for c in line])) < 0.45 * th):
            continue
        y = float(np.median([c.cy for c in line]))
        x0, x1 = min(c.x for c in line), max(c.x2 for c in line)
        # Bars (a J's top bar drawn apart, a floating T-bar) may float further from their stem.
        reach = (2.0 if all(c.h < 3.0 * stroke for c in line) else 1.3) * th
        best, best_key = -1, None
        for j, other in enumerate(merged):
            if j == i or not alive[j]:
                continue
            # A little to the side still counts (an i-dot or a P's bowl offset by the slant).
            if x1 < min(c.x for c in other) - 0.25 * th or x0 > max(c.x2 for c in other) + 0.25 * th:
                continue
            d = abs(float(np.median([c.cy for c in other])) - y)
            if d >= reach:
                continue
            key = (len(other) > 2, -d)
            if best_key is None or key > best_key:
                best, best_key = j, key
        if best >= 0:
            merged[best].extend(line)
            alive[i] = False
    return [ln for ln, ok in zip(merged, alive, strict=True) if ok]


def _band(line: list[_Comp]) -> tuple[float, float]:
    """Return the line's typical vertical extent: median top and median bottom of its glyphs."""
    return float(np.median([c.y for c in line])), float(np.median([c.y2 for c in line]))


def _merge_same_band(lines: list[list[_Comp]]) -> list[list[_Comp]]:
    """Join lines whose bands overlap by more than half (one line read as two interleaved ones)."""
    lines = [list(ln) for ln in lines]
    changed = True
    while changed:
        changed = False
        for i in range(len(lines)):
            for j in range(i + 1, len(lines)):
                (a0, a1), (b0, b1) = _band(lines[i]), _band(lines[j])
                overlap = min(a1, b1) - max(a0, b0)
                if len(lines[i]) > 2 and len(lines[j]) > 2 and overlap > 0.5 * min(a1 - a0, b1 - b0):
                    lines[i].extend(lines.pop(j))
                    changed = True
                    break
            if changed:
                break
    return lines


def _attach_marks(glyphs: list[_Comp], marks: list[_Comp], th: float) -> list[_Comp]:
    """Merge small marks (i/j dots, stroke fragments) into the glyph right below/above them."""
    glyphs = list(glyphs)
    for m in marks:
        best, best_d = -1, 0.9 * th
        for i, g in enumerate(glyphs):
            overlap = min(m.x2, g.x2) - max(m.x, g.x)
            if overlap < -0.25 * th:
                continue
            dy = max(g.y - m.y2, m.y - g.y2, 0)
            d = dy + max(0, -overlap)
            if d < best_d:
                best, best_d = i, d
        if best >= 0:
            glyphs[best] = glyphs[best].merge(m)
    return glyphs


def _merge_overlapping(line: list[_Comp]) -> list[_Comp]:
    """Join the pieces of one character: stacked (a t-bar over its stem) or nested pieces.

    Two components are one character when they overlap horizontally by more than half the
    narrower one and sit one above the other (vertical overlap under half the shorter one),
    or when one lies almost entirely within the other's columns. Neighbours side by side
    (a t-bar reaching over the next letter) overlap vertically and stay apart.
    """
    out: list[_Comp] = []
    for c in sorted(line, key=lambda c: c.x):
        if out:
            p = out[-1]
            h_overlap = min(p.x2, c.x2) - max(p.x, c.x)
            v_overlap = min(p.y2, c.y2) - max(p.y, c.y)
            narrow = min(p.w, c.w)
            stacked = h_overlap > 0.5 * narrow and v_overlap < 0.5 * min(p.h, c.h)
            small = min(p.area, c.area) < 0.25 * max(p.area, c.area)  # a dot or a fragment
            # Nested: one lies within the other's columns (but a thin i beside a t is not).
            nested = h_overlap > 0.85 * narrow and (small or h_overlap > 0.4 * max(p.w, c.w))
            if stacked or nested:
                out[-1] = p.merge(c)
                continue
        out.append(c)
    return out


def _ink_distance(a: _Comp, b: _Comp, labels: np.ndarray) -> float:
    """Smallest distance (px) between the ink of ``a`` and the ink of ``b``."""
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x2, b.x2), max(a.y2, b.y2)
    sub = labels[y0:y1, x0:x1]
    not_a = (~np.isin(sub, a.labels)).astype(np.uint8)
    dist = cv2.distanceTransform(not_a, cv2.DIST_L2, 3)
    in_b = np.isin(sub, b.labels)
    return float(dist[in_b].min()) if in_b.any() else float("inf")


def _join_close(line: list[_Comp], labels: np.ndarray, stroke: float, line_h: float) -> list[_Comp]:
    """Join side-by-side neighbours whose ink comes far closer than letters do.

    Writers draw some letters as separate strokes side by side (the stem and bowl of a b, the
    stem and arms of a k): the pen lifts, but the pieces nearly touch. Letters are spaced by
    about a pen width or more, so two marks whose ink is under 0.65 pen widths apart, and
    under a fifth of the line's typical spacing between marks when the line has enough of
    them (a tightly written line), are one character if together they are still
    letter-sized (at most 0.8 x the line height wide). Box gaps alone cannot tell:
    neighbouring slanted letters overlap in their columns; the ink distance can.
    """
    if len(line) < 2 or stroke <= 0:
        return list(line)
    line = sorted(line, key=lambda c: c.x)
    dists = [_ink_distance(a, b, labels) for a, b in zip(line, line[1:], strict=False)]
    limit = 0.65 * stroke
    if len(dists) >= 3:  # the line's own letter spacing: a join is far closer than typical
        limit = min(limit, 0.2 * float(np.median(dists)))
    out = [line[0]]
    for c, d in zip(line[1:], dists, strict=True):
        p = out[-1]
        close = c.x - p.x2 <= stroke and max(p.x2, c.x2) - min(p.x, c.x) <= 0.8 * line_h and d <= limit
        if close:
            out[-1] = p.merge(c)
        else:
            out.append(c)
    return out


def _split_wide(
    c: _Comp, labels: np.ndarray, char_w: float, th: float, min_ratio: float = 1.7
) -> list[tuple[int, int]]:
    """Return column ranges (x0, x1) splitting a too-wide component at low-ink columns."""
    if c.w < min_ratio * char_w or c.w < 1.2 * c.h:
        return [(c.x, c.x2)]
    char_w = max(char_w, 0.5 * th)  # never cut into slivers
    sub = np.isin(labels[c.y : c.y2, c.x : c.x2], c.labels)
    prof = sub.sum(0).astype(np.float32)
    prof = np.convolve(prof, np.ones(3, np.float32) / 3, mode="same")
    n = int(round(c.w / char_w))
    if n < 2:
        return [(c.x, c.x2)]
    cuts: list[int] = []
    lo = 0
    for k in range(1, n):
        target = k * c.w / n
        a = int(max(lo + 0.4 * char_w, target - 0.35 * char_w))
        b = int(min(c.w - 0.4 * char_w, target + 0.35 * char_w))
        if b <= a:
            continue
        j = a + int(np.argmin(prof[a:b]))
        # Only cut where the ink is thin: a true join between letters is a stroke or two.
        if prof[j] <= max(2.5, 0.35 * th * 0.5):
            cuts.append(j)
            lo = j
    edges = [0, *cuts, c.w]
    return [(c.x + edges[i], c.x + edges[i + 1]) for i in range(len(edges) - 1) if edges[i + 1] > edges[i]]


def _word_gap(pieces: list[CharBox], line_h: float) -> float:
    """Return the gap (px) above which a new word starts on this line.

    ``WORD_GAP`` x the text height, raised when the line's own gaps fall into two clearly
    separate groups whose boundary lies higher (a writer who spaces letters widely).
    """
    base = WORD_GAP * line_h
    right, gaps = None, []
    for cb in pieces:
        if right is not None:
            gaps.append(max(0.0, float(cb.box.x - right)))
        right = cb.box.x2 if right is None else max(right, cb.box.x2)
    if len(gaps) < 4:
        return base
    g = np.sort(np.asarray(gaps))
    best, best_score = base, -1.0
    for k in range(1, len(g)):
        lo, hi = g[:k], g[k:]
        score = k * (len(g) - k) * (hi.mean() - lo.mean()) ** 2  # Otsu's between-class variance
        if score > best_score:
            best_score, best = score, (lo.max() + hi.min()) / 2
            separated = hi.mean() >= 2.5 * max(lo.mean(), 1.0)
    return max(base, best) if separated else base


def _char_box(c: _Comp, labels: np.ndarray, x0: int, x1: int) -> CharBox | None:
    """Tight box and own-ink mask of component ``c`` within columns [x0, x1)."""
    sub = np.isin(labels[c.y : c.y2, x0:x1], c.labels)
    rows = np.flatnonzero(sub.any(1))
    cols = np.flatnonzero(sub.any(0))
    if rows.size == 0:
        return None
    y0, y1 = c.y + int(rows[0]), c.y + int(rows[-1]) + 1
    xa, xb = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
    mask = (sub[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] * 255).astype(np.uint8)
    return CharBox(Box(xa, y0, xb - xa, y1 - y0), line=0, word=0, mask=mask)


@dataclass
class _Line:
    """One text line between the layout steps: its glyphs (left to right) and scale."""

    comps: list[_Comp]
    line_h: float
    char_w: float


def _join_gain(comps: list[_Comp], labels: np.ndarray, line_h: float) -> float | None:
    """Return the gain the classifier must see to read a short line's glyphs as one letter.

    A letter drawn as separate strokes alone on its line (the bars of an H or K, the flag of
    a 5, the bowl of a P) gives two or three glyphs that fit one letter's box and whose ink
    nearly touches (a pen lift: under ``JOIN_GAP`` x the line height); a mark above or below
    a glyph (an i's dot or a J's bar offset by the slant) may float further (``JOIN_MARK_GAP``).
    Returns None when the glyphs are no such candidate: further apart they are a short word.
    Within longer lines, neighbouring letters of a word are as close as the strokes of one
    letter and the classifier reads many joined neighbours ('cl' as d) as surely as one
    letter, so only lines of a few glyphs are asked.
    """
    if not 2 <= len(comps) <= JOIN_MAX_PIECES:
        return None
    x0, x1 = min(c.x for c in comps), max(c.x2 for c in comps)
    y0, y1 = min(c.y for c in comps), max(c.y2 for c in comps)
    scale = max(line_h, y1 - y0)  # the line's height, or the glyphs' own when taller (an i's dot)
    if x1 - x0 > JOIN_WIDTH * scale:
        return None
    gaps = [_ink_distance(a, b, labels) for a, b in zip(comps, comps[1:], strict=False)]
    if len(comps) == 2:
        a, b = comps
        if min(a.y2, b.y2) - max(a.y, b.y) <= 0.05 * scale and gaps[0] <= JOIN_MARK_GAP * scale:
            return 0.0  # one above the other: a letter and its mark
    return JOIN_GAIN if max(gaps) <= JOIN_GAP * scale else None


def _resolve(work: list[_Line], labels: np.ndarray, scorer: Scorer | None) -> list[list[CharBox]]:
    """Turn each line's glyphs into characters: classifier-arbitrated joins and splits.

    Without a scorer, wide glyphs are split at low-ink columns and nothing else happens. With
    one, every question on the page is put to the classifier in a single batch:

    * a wide glyph is split only when its pieces read more surely (mean confidence) than the
      whole by ``SPLIT_GAIN`` (an 'm' or a 'w' stays whole, touching letters come apart);
    * a line of a few glyphs that fit one letter's box and nearly touch (:func:`_join_gain`)
      becomes one character when the glyphs framed together read more surely than their
      mean confidence by the gain asked (a letter drawn in separate strokes).

    """
    queries: list[CharBox] = []

    def ask(cb: CharBox | None) -> int:
        if cb is None:
            return -1
        queries.append(cb)
        return len(queries) - 1

    plans = []  # per line: (gain, union query, piece queries) or None, and per-glyph split plans
    for wl in work:
        comps = wl.comps
        join = None
        gain = _join_gain(comps, labels, wl.line_h) if scorer is not None else None
        if gain is not None:
            union = comps[0]
            for c in comps[1:]:
                union = union.merge(c)
            join = (
                gain,
                ask(_char_box(union, labels, union.x, union.x2)),
                [ask(_whole(c, labels)) for c in comps],
            )
        splits = []
        for c in comps:
            ranges = _split_wide(c, labels, wl.char_w, wl.line_h, 1.5 if scorer is not None else 1.7)
            pieces = [cb for cb in (_char_box(c, labels, x0, x1) for x0, x1 in ranges) if cb is not None]
            whole = -1
            if len(pieces) > 1 and scorer is not None:
                whole = ask(_whole(c, labels))
                pieces_q = [ask(cb) for cb in pieces]
            else:
                pieces_q = []
            splits.append((pieces, whole, pieces_q))
        plans.append((join, splits))
    conf = np.asarray(scorer(queries), np.float64) if (scorer is not None and queries) else np.zeros(0)
    out: list[list[CharBox]] = []
    for join, splits in plans:
        if join is not None:
            gain, qu, qp = join
            if qu >= 0 and min(qp) >= 0 and _one_letter(float(conf[qu]), conf[qp], gain):
                out.append([queries[qu]])  # one letter drawn in separate strokes
                continue
        chars: list[CharBox] = []
        for pieces, whole, pieces_q in splits:
            if whole >= 0 and float(np.mean(conf[pieces_q])) < float(conf[whole]) + SPLIT_GAIN:
                pieces = [queries[whole]]  # the whole reads as well as the pieces: one wide letter
            chars.extend(pieces)
        out.append(chars)
    return out


def _one_letter(joint: float, pieces: np.ndarray, gain: float) -> bool:
    """Decide that glyphs are one letter: framed together they read ``gain`` more surely."""
    return joint >= float(np.mean(pieces)) + gain


def _whole(c: _Comp, labels: np.ndarray) -> CharBox | None:
    """Return the CharBox of a whole glyph."""
    return _char_box(c, labels, c.x, c.x2)


def segment(ink: np.ndarray, scorer: Scorer | None = None) -> Layout:
    """Find lines, words and characters on a binary ink image (ink > 0).

    ``scorer`` (optional) returns the classifier's confidence for each of a list of
    CharBoxes (called once per page); with it, a wide component is split only when its pieces
    read more surely than the whole (an 'm' or a 'w' stays whole, two touching letters come
    apart), and a short line of pieces that fit one letter is joined when the pieces read more
    surely together (see :func:`_resolve`).
    """
    h, w = ink.shape
    notes: list[str] = []
    # Writing covers a few percent of a page; far more ink is a dark or noisy picture.
    if ink.size and np.count_nonzero(ink) > MAX_INK_FRACTION * ink.size:
        return Layout((), (), 0.0, ("The page is too dark or too noisy to find handwriting on it.",))
    comps, labels = components(ink)
    if len(comps) > MAX_COMPONENTS:
        return Layout((), (), 0.0, ("The page is too noisy to find handwriting on it.",))
    sw = stroke_width(ink > 0)  # the pen-width estimate the crop framing uses
    th = _text_height(comps, sw)
    if th < MIN_TEXT_HEIGHT:
        return Layout((), (), 0.0, ())
    glyphs, marks = [], []
    for c in comps:
        if c.h > 4.5 * th or c.w > 12 * th:
            continue  # a frame, a rule, a margin line or the page edge
        if c.x == 0 or c.y == 0 or c.x2 >= w or c.y2 >= h:
            if c.h > 2 * th or c.w > 2 * th:
                continue  # cut by the image edge: background, not writing
        if max(c.h, c.w) >= 0.42 * th:
            glyphs.append(c)
        elif c.area >= max(2, 0.005 * th * th):
            marks.append(c)
    if not glyphs:
        return Layout((), (), th, ())
    glyphs = _attach_marks(glyphs, marks, th)
    work = []
    for line in _group_lines(glyphs, th, sw):
        merged = _merge_overlapping(line)
        heights = sorted(c.h for c in merged)
        line_h = float(np.percentile(heights, 75)) if heights else th
        merged = _join_close(merged, labels, sw, line_h)
        if len(merged) == 1 and merged[0].area < 0.02 * th * th * 4:
            continue  # a lonely speck is not a line
        widths = [c.w for c in merged if c.w < 2.5 * line_h]
        char_w = max(float(np.median(widths)) if widths else 0.7 * line_h, 0.55 * line_h)
        if len(merged) < 3:
            char_w = max(char_w, 0.8 * line_h)  # too few glyphs to know their width: split less
        work.append(_Line(merged, line_h, char_w))
    groups = _resolve(work, labels, scorer)
    line_boxes: list[LineBox] = []
    chars: list[CharBox] = []
    for wl, pieces in zip(work, groups, strict=True):
        line_h = wl.line_h
        if not pieces:
            continue
        pieces.sort(key=lambda cb: cb.box.cx)  # reading order: left to right by centre
        index = len(line_boxes)
        word_gap = _word_gap(pieces, line_h)
        word, right = 0, None  # right: the rightmost ink so far on this line
        for cb in pieces:
            gap = 0.0 if right is None else float(cb.box.x - right)
            if right is not None and gap > word_gap:
                word += 1
            chars.append(CharBox(cb.box, line=index, word=word, gap_before=max(gap, 0.0), mask=cb.mask))
            right = cb.box.x2 if right is None else max(right, cb.box.x2)
        box = pieces[0].box
        for cb in pieces[1:]:
            box = box.union(cb.box)
        small = [c.box.h for c in pieces if c.box.h < 0.8 * line_h]
        x_height = float(np.median(small)) if small else 0.0
        line_boxes.append(LineBox(box, index, x_height))
    return Layout(tuple(line_boxes), tuple(chars), th, tuple(notes))
