"""Preprocessing and layout on generated pages whose true character boxes are known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scanner_app.core.image_io import page_from_array
from scanner_app.core.pipeline import run_scan
from scanner_app.core.preprocess import (
    _order_quad,
    binarise,
    box_to_page,
    estimate_skew,
    find_sheet,
    normalise_light,
    prepare,
    rotate,
)
from scanner_app.core.segment import segment
from scanner_app.core.types import Box
from tests.pagegen import GlyphSource, cer, make_page, photograph


@pytest.fixture(scope="module")
def source() -> GlyphSource:
    return GlyphSource.from_sample()


def _iou(a: list[int], b: list[int]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _layout_on_page(img: np.ndarray):
    page = page_from_array(img)
    prep = prepare(page)
    lay = segment(prep.ink)
    boxes = [box_to_page(c.box, prep.to_page, prep.page_size) for c in lay.chars]
    return prep, lay, boxes


def _matched(truth, boxes, min_iou) -> float:
    got = [b.as_list() for b in boxes]
    return sum(any(_iou(t.box, b) > min_iou for b in got) for t in truth) / len(truth)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_page_lines_words_and_characters(source, seed):
    gen = make_page(source, np.random.default_rng(seed), n_lines=4)
    prep, lay, boxes = _layout_on_page(gen.image)
    true_lines = len({c.line for c in gen.chars})
    assert len(lay.lines) == true_lines
    # Reading order: lines top to bottom, characters left to right within a line.
    tops = [ln.box.cy for ln in lay.lines]
    assert tops == sorted(tops)
    for ln in lay.lines:
        xs = [c.box.cx for c in lay.chars if c.line == ln.index]
        assert xs == sorted(xs)
    assert _matched(gen.chars, boxes, 0.5) >= 0.9
    true_words = len({(c.line, c.word) for c in gen.chars})
    got_words = len({(c.line, c.word) for c in lay.chars})
    assert abs(got_words - true_words) <= 1
    for b in boxes:
        assert b.within(*prep.page_size)


def test_photographed_page_is_flattened_and_boxes_map_back(source):
    rng = np.random.default_rng(11)
    gen = photograph(make_page(source, rng, n_lines=4, grain=0.0), rng)
    assert find_sheet(gen.image) is not None
    prep, lay, boxes = _layout_on_page(gen.image)
    assert any("flattened" in n for n in prep.notes)
    assert len(lay.lines) == len({c.line for c in gen.chars})
    # Boxes are in the photo's coordinates: most true (perspective-mapped) boxes are found.
    assert _matched(gen.chars, boxes, 0.3) >= 0.85


def test_sheet_turned_45_degrees_keeps_four_distinct_corners():
    diamond = np.array([[100, 0], [200, 100], [100, 200], [0, 100]], np.float32)
    tl, tr, br, bl = _order_quad(diamond[[2, 0, 3, 1]])
    assert len({tuple(p) for p in (tl, tr, br, bl)}) == 4
    assert cv2.contourArea(np.array([tl, tr, br, bl])) == pytest.approx(20000)
    assert tl[0] + tl[1] == min(p[0] + p[1] for p in diamond)


def test_a_crisp_shadow_across_the_sheet_does_not_cut_off_the_shaded_writing(source, classifier):
    # Found by the property test: a sharp diagonal shadow made a smaller bright quadrilateral win,
    # and its corners came out with one of them twice, so the page read as empty.
    gen = make_page(source, np.random.default_rng(4056), n_lines=2, width=700, photo=True)
    quad = find_sheet(gen.image)
    assert quad is not None
    inside = np.zeros(gen.image.shape[:2], np.uint8)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
    centres = [(b[0] + b[2] // 2, b[1] + b[3] // 2) for b in (c.box for c in gen.chars)]
    assert all(inside[y, x] for x, y in centres)
    text = run_scan(page_from_array(gen.image), classifier).text
    assert cer(gen.text, text) < 0.25


def test_clean_page_has_no_sheet(source):
    gen = make_page(source, np.random.default_rng(4), n_lines=3)
    assert find_sheet(gen.image) is None


def test_light_normalisation_removes_a_gradient():
    h, w = 400, 600
    light = np.linspace(0.45, 1.0, w, dtype=np.float32)[None, :].repeat(h, 0)
    page = 240 * light
    page[200:205, 100:500] *= 0.2  # a pen stroke across the light change
    norm = normalise_light(page.astype(np.uint8))
    paper = np.concatenate([norm[50:150, 20:120].ravel(), norm[50:150, 480:580].ravel()])
    assert paper.min() > 200  # paper is white on both the dark and the bright side
    ink, _ = binarise(norm)
    assert ink[200:205, 100:500].mean() > 250 and ink[:190].mean() < 1


def test_skew_is_found_and_undone(source):
    gen = make_page(source, np.random.default_rng(5), n_lines=5, grain=0.0)
    ink, _ = binarise(normalise_light(gen.image))
    tilted, _ = rotate(ink, 4.0, 0)
    assert estimate_skew(tilted) == pytest.approx(-4.0, abs=0.6)
    assert estimate_skew(np.zeros((100, 100), np.uint8)) == 0.0


def test_box_to_page_inverts_the_working_transform():
    to_page = np.array([[2.0, 0, 10], [0, 2.0, 20], [0, 0, 1]])
    b = box_to_page(Box(5, 5, 10, 4), to_page, (1000, 1000))
    assert b.as_list() == [20, 30, 20, 8]
    # Clipped to the page.
    assert box_to_page(Box(400, 400, 200, 200), to_page, (1000, 1000)).within(1000, 1000)


def test_i_dots_join_their_stems():
    ink = np.zeros((120, 200), np.uint8)
    for x in (40, 80, 120):
        cv2.line(ink, (x, 50), (x, 90), 255, 4)  # stems
        cv2.circle(ink, (x, 35), 3, 255, -1)  # dots
    cv2.rectangle(ink, (150, 60), (175, 90), 255, 3)  # an 'o'-like glyph for scale
    lay = segment(ink)
    assert len(lay.lines) == 1
    assert len(lay.chars) == 4
    stems = [c for c in lay.chars if c.box.w < 15]
    assert all(c.box.y <= 33 for c in stems)  # each box reaches up to its dot


def test_specks_and_ruled_lines_are_ignored(source):
    gen = make_page(source, np.random.default_rng(6), n_lines=3, grain=0.0)
    img = gen.image.copy()
    rng = np.random.default_rng(0)
    for _ in range(150):  # isolated specks
        y, x = rng.integers(0, img.shape[0]), rng.integers(0, img.shape[1])
        img[y, x] = 0
    for c in {c.line for c in gen.chars}:
        ys = [t.box[1] + t.box[3] for t in gen.chars if t.line == c]
        y = int(np.median(ys)) + 4
        cv2.line(img, (0, y), (img.shape[1] - 1, y), 90, 2)  # a ruled line under each text line
    cv2.rectangle(img, (5, 5), (img.shape[1] - 6, img.shape[0] - 6), 40, 3)  # a frame
    _, lay, boxes = _layout_on_page(img)
    assert len(lay.lines) == len({c.line for c in gen.chars})
    assert _matched(gen.chars, boxes, 0.4) >= 0.85
    assert max(b.w for b in boxes) < img.shape[1] / 4  # no box spans a rule or the frame


@pytest.mark.parametrize(
    "img",
    [
        np.full((300, 400), 255, np.uint8),
        np.zeros((300, 400), np.uint8),
        np.random.default_rng(1).integers(0, 256, (300, 400), dtype=np.uint8),
    ],
    ids=["blank", "black", "noise"],
)
def test_degenerate_pages_give_few_characters(img):
    _, lay, _ = _layout_on_page(img)
    assert len(lay.chars) <= 5


def _bar_and_stem_letters() -> dict[str, np.ndarray]:
    """Letters drawn as separate strokes, a flat bar and a tall stem (as UNIPEN writers do)."""
    t = np.zeros((190, 190), np.uint8)
    cv2.line(t, (67, 67), (123, 74), 255, 6)  # the bar, a little slanted
    cv2.line(t, (100, 88), (98, 125), 255, 6)  # the stem, apart from it
    f = np.zeros((190, 190), np.uint8)
    cv2.line(f, (70, 68), (117, 68), 255, 7)  # top bar
    cv2.line(f, (68, 84), (68, 121), 255, 7)  # stem
    cv2.line(f, (80, 102), (104, 102), 255, 7)  # middle bar
    return {"T": t, "F": f}


@pytest.mark.parametrize("letter", ["T", "F"])
def test_a_letter_of_bar_and_stem_is_one_character(letter):
    # A flat bar must not set the text height: with it, the stem of a T fell on a line of
    # its own, and the stem of an F looked 5 "text heights" tall and was dropped as a rule.
    ink = _bar_and_stem_letters()[letter]
    lay = segment(ink)
    assert len(lay.lines) == 1
    assert len(lay.chars) == 1
    ys, xs = np.nonzero(ink)
    box = lay.chars[0].box
    assert (box.x, box.y, box.x2, box.y2) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert lay.text_height > 30  # the stem's height, not the bar's


def _b_of_two_strokes(ink: np.ndarray, x: int) -> None:
    """Draw a 'b' as a stem and a separate bowl whose ink nearly touches it (a pen lift)."""
    cv2.line(ink, (x, 60), (x, 120), 255, 6)
    cv2.ellipse(ink, (x + 22, 104), (14, 15), 0, 0, 360, 255, 6)


def test_a_letter_of_two_nearly_touching_strokes_is_one_character():
    ink = np.zeros((180, 180), np.uint8)
    _b_of_two_strokes(ink, 70)
    lay = segment(ink)
    assert len(lay.chars) == 1
    ys, xs = np.nonzero(ink)
    box = lay.chars[0].box
    assert (box.x, box.x2) == (xs.min(), xs.max() + 1)


def test_letters_about_a_pen_width_apart_stay_apart():
    # An 'l' beside an 'o', as close as letters of a word get (about a pen width of paper
    # between them), is two characters even on an image with nothing else to compare with.
    ink = np.zeros((180, 180), np.uint8)
    cv2.line(ink, (70, 60), (70, 120), 255, 6)
    cv2.ellipse(ink, (97, 104), (14, 15), 0, 0, 360, 255, 6)
    lay = segment(ink)
    assert len(lay.chars) == 2
